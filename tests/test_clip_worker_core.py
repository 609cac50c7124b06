"""The worker's pure parts: the trigger filter, the fault benchmark's crash points and the
shared Get Streams answer (the moment plan: tests/test_moment_plan.py; deadlines, the create
window and recovery: tests/test_clip_recovery.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.errors import ClipUnknown
from shared.domain.job_triggers import became_runnable
from shared.domain.twitch_models import Stream
from shared.pipeline.create import LiveStreams, crash_checkpoint, no_checkpoint

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


@dataclass
class StreamsTwitch:
    """Get Streams only: answers `answers` in turn (an exception is raised), records each
    call's `retry` and `deadline`."""

    answers: list[Any]
    calls: list[dict[str, Any]] = field(default_factory=list)
    clock: float = 1000.0

    def now(self) -> float:
        return self.clock

    def get_streams(self, tokens: Any, user_id: str, **args: Any) -> Stream | None:
        self.calls.append(args)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


LIVE = Stream(id="s1", user_id="41001", type="live", started_at=NOW)


def streams_over(twitch: StreamsTwitch) -> tuple[LiveStreams, list[float]]:
    now = [0.0]
    return LiveStreams(twitch, fresh=5.0, stale=30.0, clock=lambda: now[0]), now  # type: ignore[arg-type]


def test_a_live_answer_serves_the_processs_jobs_for_a_few_seconds() -> None:
    twitch = StreamsTwitch([LIVE, LIVE])
    streams, now = streams_over(twitch)
    assert streams.get(None, "41001", 2000.0) == LIVE  # type: ignore[arg-type]
    now[0] = 4.9
    assert streams.get(None, "41001", 2000.0) == LIVE  # type: ignore[arg-type]
    assert len(twitch.calls) == 1
    now[0] = 5.1
    assert streams.get(None, "41001", 2000.0) == LIVE  # type: ignore[arg-type]
    assert len(twitch.calls) == 2


def test_an_offline_answer_is_never_reused() -> None:
    twitch = StreamsTwitch([None, LIVE])
    streams, _ = streams_over(twitch)
    assert streams.get(None, "41001", 2000.0) is None  # type: ignore[arg-type]
    assert streams.get(None, "41001", 2000.0) == LIVE  # type: ignore[arg-type]
    assert len(twitch.calls) == 2


def test_a_failed_refresh_uses_a_recent_live_answer_without_waiting_out_retries() -> None:
    twitch = StreamsTwitch([LIVE, ClipUnknown(http_status=503), ClipUnknown(http_status=503)])
    streams, now = streams_over(twitch)
    streams.get(None, "41001", 2000.0)  # type: ignore[arg-type]
    assert twitch.calls[0] == {"deadline": 2000.0, "retry": True}
    now[0] = 10.0
    assert streams.get(None, "41001", 2000.0) == LIVE  # type: ignore[arg-type]
    # with an answer to fall back on: one try, given a second and a half
    assert twitch.calls[1] == {"deadline": 1001.5, "retry": False}
    now[0] = 31.0  # too old to stand in: the failure is the caller's
    with pytest.raises(ClipUnknown):
        streams.get(None, "41001", 2000.0)  # type: ignore[arg-type]
    assert twitch.calls[2]["retry"] is True
