"""`tune_chat_detection`, the daily after-stream tuning, on the emulator and the simulator: it
finds the stream that ended from the channel's archive, tunes it once from the moments viewers
clipped, skips it on the next run, and gives up what a retry cannot fix (issue 14)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import flask
import pytest

from functions import main
from functions.wiring import tuning_runtime
from local.clip_harness import CLIENT_ID, CLIENT_SECRET, connect_channel, function_env
from local.helix_simulator import HelixSimulator
from shared.domain.chat_settings import DEFAULTS
from shared.domain.chat_tuning import EndedStream, ended_streams
from shared.domain.errors import NotFound
from shared.domain.twitch_models import Video
from shared.pipeline.chat_tuning import EndedStreamTuning
from shared.store.chat_timeline import ChatTimelineStore, ChatTuningLog
from shared.store.control_plane import ControlPlaneStore
from tests.test_chat_detection import CHANNEL, T0
from tests.test_chat_tuning import MOMENTS, run, stream

STREAM_ID = "314159"
VOD_ID = "271828"
LENGTH = 3700  # the archive: an hour of chat and a little more
ENDED_AGO = 600


@pytest.fixture
def world(db, monkeypatch) -> Iterator[tuple[Any, HelixSimulator, float]]:
    """A channel whose stream ended ten minutes ago: its archive on the simulator, its chat
    timeline as the bot wrote it during the stream, the functions' environment."""
    with HelixSimulator() as sim:
        sim.add_app(CLIENT_ID, CLIENT_SECRET)
        connect_channel(sim, db, CHANNEL, live=False)
        sim.add_vod(
            VOD_ID, CHANNEL, duration_seconds=LENGTH, stream_id=STREAM_ID, ended_ago=ENDED_AGO
        )
        started = datetime.now(UTC).timestamp() - ENDED_AGO - LENGTH
        shift = started + 60 - T0  # the stream's chat, moved onto the archive's clock
        chat = [dataclasses.replace(line, ts=line.ts + shift) for line in stream()]
        _, brain = run(chat, DEFAULTS)
        ChatTimelineStore(db).append(CHANNEL, (b for _, b in brain.take_timeline()))
        for name, value in function_env(sim, "", TWITCH_BROADCASTER_ID=CHANNEL).items():
            if name != "FIRESTORE_EMULATOR_HOST":
                monkeypatch.setenv(name, value)
        tuning_runtime.cache_clear()
        yield chat, sim, shift
        tuning_runtime.cache_clear()


def call() -> tuple[dict[str, Any], int]:
    with flask.Flask(__name__).test_request_context(method="POST", json={}):
        return cast(tuple[dict[str, Any], int], main.tune_chat_detection(flask.request))


def caught(found: list[float], shift: float) -> int:
    return sum(any(-20 <= at - (T0 + shift + m) <= 25 for at in found) for m in MOMENTS)


def test_the_daily_run_tunes_the_ended_stream_once_and_the_tuned_settings_catch_the_clips(
    db, world
):
    chat, sim, shift = world
    found, _ = run(chat, DEFAULTS)
    before = caught(found, shift)
    assert before <= 2, "the default settings miss most clipped moments of this channel"
    sim.add_viewer_clips(CHANNEL, [T0 + shift + m for m in MOMENTS], seed=7)

    body, status = call()
    assert status == 200, body
    assert body["tuned"] == [STREAM_ID] and body["changed"] == [STREAM_ID]
    record = ChatTuningLog(db).latest(CHANNEL)
    assert record is not None and record.changed and record.stream_id == STREAM_ID
    assert record.caught_after > record.caught_before
    tuned = ControlPlaneStore(db).read(fresh=True).chat
    assert tuned.signal_weights == record.values["chat.signal_weights"]
    found, _ = run(chat, tuned)
    assert caught(found, shift) >= before + 2, "replayed with the tuned settings"

    history = len(ControlPlaneStore(db).history())
    again, status = call()
    assert status == 200 and again["skipped"] == [STREAM_ID] and again["tuned"] == []
    assert len(ControlPlaneStore(db).history()) == history, "a tuned stream is not tuned twice"


def test_a_channel_without_a_usable_token_is_acknowledged_not_retried(db, world, monkeypatch):
    monkeypatch.setenv("TWITCH_BROADCASTER_ID", "999999")  # nobody connected this channel
    tuning_runtime.cache_clear()
    body, status = call()
    assert status == 200 and body["error"]
    assert ChatTuningLog(db).latest(CHANNEL) is None


# ---------------------------------------------------------------------- which streams, pure


def test_only_archives_of_broadcasts_that_are_over_are_tuned():
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)

    def video(vid: str, stream_id: str | None, ago_h: float, duration: str) -> Video:
        return Video(vid, CHANNEL, "archive", now - timedelta(hours=ago_h), duration, stream_id)

    videos = [
        video("1", "live", 1.0, "1h0m5s"),  # the broadcast in progress
        video("2", "s2", 5.0, "2h0m0s"),  # over three hours ago
        video("3", None, 30.0, "1h0m0s"),  # no stream id: keyed by the video
        video("4", "s4", 100.0, "1h0m0s"),  # older than the lookback
        video("5", "s5", 0.5, "0h29m40s"),  # still growing until a moment ago
    ]
    found = ended_streams(videos, "live", now, lookback=timedelta(days=3))
    assert [s.stream_id for s in found] == ["v3", "s2"]
    assert found[1] == EndedStream("s2", now - timedelta(hours=5), now - timedelta(hours=3))


# ---------------------------------------------------------------------- failures


class _Stub:
    """Only what EndedStreamTuning asks of Twitch and the tuner."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_streams(self, tokens: object, user_id: str) -> None:
        return None

    def get_archive_videos(self, tokens: object, user_id: str, *, first: int) -> list[Video]:
        ended = datetime.now(UTC) - timedelta(hours=1)
        return [Video(VOD_ID, CHANNEL, "archive", ended - timedelta(hours=1), "1h", STREAM_ID)]

    def tune(self, *args: object, **kwargs: object) -> None:
        raise self.error


@pytest.mark.parametrize(
    ("error", "given_up"), [(NotFound("clip", "x"), True), (ConnectionError("reset"), False)]
)
def test_a_stream_that_cannot_be_tuned_is_given_up_and_one_that_may_be_is_given_back(
    db, error, given_up
):
    from shared.pipeline.unprocessable import retry_cannot_fix

    stub = _Stub(error)
    log = ChatTuningLog(db)
    job = EndedStreamTuning(
        stub,  # type: ignore[arg-type]
        log,
        ControlPlaneStore(db),
        stub,  # type: ignore[arg-type]
        lambda user_id: object(),  # type: ignore[arg-type,return-value]
        [CHANNEL],
        cannot_fix=retry_cannot_fix,
    )
    report = job.run()
    if given_up:
        assert report.given_up == {STREAM_ID: "NotFound"} and not report.failed
        assert job.run().skipped == [STREAM_ID], "given up once, not tried every day"
    else:
        assert report.failed == [STREAM_ID] and not report.given_up
        assert job.run().failed == [STREAM_ID], "given back: the next run tries it again"
