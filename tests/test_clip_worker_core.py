"""The worker's pure parts: the trigger filter and the fault benchmark's crash points (the
moment plan: tests/test_moment_plan.py; deadlines and recovery: tests/test_clip_recovery.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.job_triggers import became_runnable
from shared.pipeline.create import crash_checkpoint, no_checkpoint

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


def test_crash_points_are_off_unless_the_fault_benchmark_names_them(monkeypatch):
    assert crash_checkpoint("") is no_checkpoint
    assert crash_checkpoint(" , ") is no_checkpoint
    ended: list[int] = []
    monkeypatch.setattr("shared.pipeline.create.os._exit", ended.append)
    checkpoint = crash_checkpoint("after_create=1,before_create=0")
    checkpoint("before_create")
    checkpoint("after_save")
    assert ended == []
    checkpoint("after_create")
    assert ended == [75]
