"""The worker's pure parts: trigger filter and live timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clip_timing import live_timing
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


def test_fresh_moment_is_in_the_published_clip():
    timing = live_timing(NOW - timedelta(seconds=10), NOW, 30)
    assert (timing.clippable, timing.in_published_window, timing.note) == (True, True, "")


def test_moment_before_the_published_window_needs_the_edit_link():
    timing = live_timing(NOW - timedelta(seconds=40), NOW, 30)
    assert timing.clippable and not timing.in_published_window
    assert "edit link" in timing.note and "40 s old" in timing.note


def test_moment_too_old_for_a_live_clip():
    timing = live_timing(NOW - timedelta(seconds=120), NOW, 30)
    assert not timing.clippable
    assert "VOD" in timing.note


def test_unknown_moment_time_is_not_refused():
    assert live_timing(None, NOW, 30).clippable
