"""The worker's pure parts: the trigger filter (the moment plan: tests/test_moment_plan.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.job_triggers import became_runnable

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
QUEUED = {"status": "queued", "next_attempt_at": None, "requeued_at": None}


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, QUEUED, True),
        ({"status": "creating"}, QUEUED, True),
        ({"status": "failed"}, QUEUED, True),
        (QUEUED, QUEUED | {"error_detail": "waiting"}, False),
        (QUEUED, QUEUED | {"requeued_at": NOW}, True),
        (QUEUED | {"next_attempt_at": NOW}, QUEUED | {"requeued_at": NOW}, True),
        ({"status": "creating"}, QUEUED | {"next_attempt_at": NOW}, False),
        (QUEUED, {"status": "creating"}, False),
        ({"status": "creating"}, {"status": "polling"}, False),
        ({"status": "polling"}, {"status": "ready"}, False),
        (QUEUED, None, False),
    ],
)
def test_became_runnable(before, after, expected):
    assert became_runnable(before, after) is expected
