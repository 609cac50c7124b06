"""The bot's Firestore edges on the emulator: live thresholds, the pipeline switch, the
idempotent enqueue, and the once-only clip-ready announcement."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core.exceptions import ServiceUnavailable
from google.api_core.retry import Retry, if_exception_type

from chatbot.announcer import ReadyClipAnnouncer
from chatbot.control import ControlPlaneWatch, LiveConfig, StaticConfig
from chatbot.detection import Detection
from chatbot.outbox import LogOutbox
from chatbot.runtime import ChatRuntime
from chatbot.sink import TRANSIENT, CandidateSink
from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.errors import ConfigInvalid
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import (
    ANNOUNCED_FIELD,
    ANNOUNCEMENT_DOC,
    ANNOUNCEMENTS,
    ClipJobStore,
)
from shared.store.control_plane import ControlPlaneStore
from tests.fixtures_chat.synth import T0, burst, line, merged, quiet


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def queued(db) -> list[dict]:
    return [s.to_dict() for s in db.collection("action_queue").stream()]


@pytest.fixture
def watch(db):
    w = ControlPlaneWatch(ControlPlaneStore(db)).start()
    yield w
    w.stop()


def make_runtime(db, config) -> tuple[ChatRuntime, CandidateSink, LogOutbox]:
    sink = CandidateSink(ActionQueue(db), config)
    outbox = LogOutbox()
    return ChatRuntime(config, sink, outbox), sink, outbox


def test_thresholds_changed_in_the_control_plane_apply_without_restart(db, watch):
    ControlPlaneStore(db).write({"chat.min_distinct_chatters": 40}, by="test")
    wait_until(lambda: watch.current().chat.min_distinct_chatters == 40)
    runtime, sink, _ = make_runtime(db, watch)
    words = ["hey", "yo", "what"]
    first = merged(quiet(0, 300, seed=21), burst(200, chatters=25, seed=22, words=words))
    for item in first:
        runtime.handle(item)
    assert sink.drain(10) and queued(db) == []

    ControlPlaneStore(db).write({"chat.min_distinct_chatters": 10}, by="test")
    wait_until(lambda: watch.current().chat.min_distinct_chatters == 10)
    second = merged(quiet(300, 600, seed=23), burst(450, chatters=25, seed=24, words=words))
    for item in second:
        runtime.handle(item)
    assert sink.close(10)
    items = queued(db)
    assert [i["payload"]["source"] for i in items] == ["chat_spike"]
    moment = datetime.fromisoformat(items[0]["payload"]["source_ts"].isoformat())
    assert T0 + 440 <= moment.timestamp() <= T0 + 450


def test_bad_chat_settings_are_refused_by_the_writer_and_ignored_by_the_reader(db, watch):
    with pytest.raises(ConfigInvalid, match=r"chat\.spike_multiplier"):
        ControlPlaneStore(db).write({"chat.spike_multiplier": 0.1}, by="test")
    with pytest.raises(ConfigInvalid, match="not a chat setting"):
        ControlPlaneStore(db).write({"chat.spike_multipler": 4}, by="test")
    db.document("control_plane/config").set(
        {"chat": {"spike_multiplier": "big", "per_chatter_cap": 3}}
    )
    wait_until(lambda: watch.current().chat.per_chatter_cap == 3)
    live = watch.current()
    assert live.chat.spike_multiplier == 3.0
    assert any("chat.spike_multiplier" in p for p in live.problems)


def test_a_whole_document_write_of_the_shared_flags_keeps_the_chat_settings(db, watch):
    ControlPlaneStore(db).write({"chat.spike_multiplier": 5}, by="test")
    wait_until(lambda: watch.current().chat.spike_multiplier == 5)
    ControlPlaneStore(db).write({"clip_mode_default": "vod"}, by="test")
    wait_until(lambda: watch.current().clips.clip_mode_default == "vod")
    assert watch.current().chat.spike_multiplier == 5
    ControlPlaneStore(db).write({"chat.spike_multiplier": 4}, by="test")
    wait_until(lambda: watch.current().chat.spike_multiplier == 4)


def test_a_document_with_a_wrong_type_keeps_the_last_good_settings(db, watch):
    ControlPlaneStore(db).write({"clip_mode_default": "vod", "chat.spike_multiplier": 5}, by="test")
    wait_until(lambda: watch.current().chat.spike_multiplier == 5)
    db.document("control_plane/config").set(
        {"clip_mode_default": 7, "chat": {"spike_multiplier": 8}}
    )
    wait_until(lambda: watch.current().problems)
    live = watch.current()
    assert (live.clips.clip_mode_default, live.chat.spike_multiplier) == ("vod", 5)
    assert any("clip_mode_default" in p and "last good value" in p for p in live.problems)


def test_nothing_is_enqueued_while_the_pipeline_is_off(db, watch):
    ControlPlaneStore(db).write({"clip_pipeline_enabled": False}, by="test")
    wait_until(lambda: not watch.current().clips.clip_pipeline_enabled)
    runtime, sink, outbox = make_runtime(db, watch)
    chat = merged(quiet(0, 300, seed=25), burst(200, chatters=30, seed=26))
    chat.append(line(300, 77, "!clip big one", "moderator"))
    for item in chat:
        runtime.handle(item)
    assert sink.drain(10) and queued(db) == []
    assert outbox.sent == ["@viewer77 clipping is paused right now, nothing was queued."]

    ControlPlaneStore(db).write({"clip_pipeline_enabled": True}, by="test")
    wait_until(lambda: watch.current().clips.clip_pipeline_enabled)
    runtime.handle(line(301, 77, "!clip big one", "moderator"))
    assert sink.close(10)
    assert [i["payload"]["suggested_title"] for i in queued(db)] == ["big one"]


def test_a_switch_after_detection_still_stops_the_write(db):
    """The worker re-reads the switch right before writing, not when the chat saw it."""
    config = StaticConfig(LiveConfig())
    gate = threading.Event()

    class SlowQueue(ActionQueue):
        def submit(self, fields, **kwargs):
            gate.wait(5)
            return super().submit(fields, **kwargs)

    sink = CandidateSink(SlowQueue(db), config, workers=1)
    sink.submit(Detection("command", "12345", T0, T0 + 7, 0.9, "first", ""))
    sink.submit(Detection("command", "12345", T0 + 60, T0 + 67, 0.9, "second", ""))
    off = config.current().clips.model_copy(update={"clip_pipeline_enabled": False})
    config.set(LiveConfig(clips=off))
    gate.set()
    assert sink.close(10)
    assert (sink.stats["enqueued"], sink.stats["paused"]) == (1, 1)
    assert [i["payload"]["suggested_title"] for i in queued(db)] == ["first"]


def test_a_busy_firestore_is_retried_and_the_moment_lands_once(db):
    """The Firestore client's own retry, not a loop of ours: a transient error, then success."""

    class BusyOnce(ActionQueue):
        tries = 0

        def submit(self, fields, **kwargs):
            self.tries += 1
            if self.tries == 1:
                raise ServiceUnavailable("Firestore is busy")
            return super().submit(fields, **kwargs)

    queue = BusyOnce(db)
    fast = Retry(predicate=if_exception_type(*TRANSIENT), initial=0.01, maximum=0.05, timeout=5)
    sink = CandidateSink(queue, StaticConfig(), retry=fast)
    sink.submit(Detection("command", "12345", T0 + 5, T0 + 9, 0.9, "busy moment", ""))
    assert sink.close(10)
    assert queue.tries == 2 and sink.stats["enqueued"] == 1
    assert [i["payload"]["suggested_title"] for i in queued(db)] == ["busy moment"]


def test_two_bot_instances_enqueue_the_same_moment_once(db, new_client):
    detection = Detection("chat_spike", "12345", T0 + 12.5, T0 + 20, 0.7, "Chat erupts", "a: b")
    sinks = [CandidateSink(ActionQueue(new_client()), StaticConfig()) for _ in range(2)]
    for sink in sinks:
        sink.submit(detection)
    for sink in sinks:
        assert sink.close(10)
    statuses = sorted(o.status for s in sinks for o in s.outcomes)
    assert statuses == ["duplicate", "enqueued"]
    assert len(queued(db)) == 1


def test_a_refused_candidate_writes_nothing_and_does_not_crash(db):
    sink = CandidateSink(ActionQueue(db), StaticConfig())
    sink.submit(Detection("command", "not-a-number", T0, T0, 0.9, "x", ""))
    assert sink.close(10)
    assert sink.stats["refused"] == 1 and queued(db) == []


# ------------------------------------------------------------------- announcements


def ready_job(job_id: str, *, source: str = "command", age: float = 5.0, **extra) -> dict:
    now = datetime.now(UTC)
    job = ClipJob(
        job_id=job_id,
        action_id=job_id.removeprefix("job_"),
        candidate_source=source,
        broadcaster_id="12345",
        mode="live",
        requested_duration=30.0,
        requested_title="what a save",
        status=JobStatus.READY,
        clip_url=f"https://clips.twitch.tv/{job_id}",
        created_at=now - timedelta(seconds=age + 10),
        updated_at=now - timedelta(seconds=age),
        ready_at=now - timedelta(seconds=age),
    )
    return job.to_firestore() | {"status": "ready"} | extra


def make_announcer(client, posted: list[str], instance: str) -> ReadyClipAnnouncer:
    return ReadyClipAnnouncer(
        ClipJobStore(client),
        broadcaster_id="12345",
        post=posted.append,
        config=StaticConfig(),
        instance=instance,
    ).start()


def test_a_ready_clip_from_chat_is_announced_once_by_one_of_two_instances(db, new_client):
    posted: list[str] = []
    announcers = [make_announcer(new_client(), posted, f"bot-{i}") for i in range(2)]
    try:
        db.document("clip_jobs/job_a").set(ready_job("job_a", status="polling", clip_url=None))
        db.document("clip_jobs/job_a").set(ready_job("job_a"))
        db.document("clip_jobs/job_v").set(ready_job("job_v", source="vision"))
        db.document("clip_jobs/job_o").set(ready_job("job_o", age=3600))
        db.document("clip_jobs/job_x").set(ready_job("job_x", broadcaster_id="999"))
        wait_until(lambda: posted)
        time.sleep(0.5)
    finally:
        for announcer in announcers:
            announcer.stop()
    assert posted == ["Clip ready: “what a save” · https://clips.twitch.tv/job_a"]
    assert sum(a.announced for a in announcers) == 1
    job = db.document("clip_jobs/job_a").get().to_dict()
    assert job[ANNOUNCED_FIELD] is not None and job["status"] == "ready"
    marker = db.document(f"clip_jobs/job_a/{ANNOUNCEMENTS}/{ANNOUNCEMENT_DOC}").get().to_dict()
    assert marker["by"] in {"bot-0", "bot-1"}


def test_an_announced_job_is_not_announced_again_after_a_restart(db, new_client):
    posted: list[str] = []
    first = make_announcer(new_client(), posted, "bot-a")
    db.document("clip_jobs/job_b").set(ready_job("job_b"))
    wait_until(lambda: posted)
    first.stop()
    again = make_announcer(new_client(), posted, "bot-b")
    time.sleep(0.5)
    again.stop()
    assert len(posted) == 1
