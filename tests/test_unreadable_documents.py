"""One bad document never stops a reader (issue 19), on the emulator.

The queue reads docs/architecture.md §3.1 items as documented (the document id is the action id)
and refuses the rest by name; an unreadable item can be archived without being parsed,
through the same decision record as every decision; the listeners the app and the chat bot
keep (pending items, jobs by status, the control plane, the ready-jobs announcer) log an
unreadable document once and keep running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatbot.control import ControlPlaneWatch
from shared.domain.clip_job import JobStatus
from shared.domain.errors import ActionAlreadyDecided, StoredDocumentUnreadable
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue, ActionStatus
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from tests import spec_documents as spec
from tests.factories import live_fields


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)
    return result


def unreadable_logs(caplog: pytest.LogCaptureFixture, doc_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and doc_id in r.getMessage()]


# ------------------------------------------------------------------------------ reading


def test_a_spec_minimal_item_reads_with_its_document_id_and_is_approvable(db):
    spec.write_foreign(db)
    queue = ActionQueue(db)
    item = queue.require(spec.MINIMAL_ITEM)
    assert item.action_id == spec.MINIMAL_ITEM
    assert item.created_at is not None and item.updated_at is not None
    assert [i.action_id for i in queue.list_pending()] == [spec.MINIMAL_ITEM]

    job = approve(queue, ClipJobStore(db), spec.MINIMAL_ITEM, by="Ann")
    assert job.action_id == spec.MINIMAL_ITEM and job.requested_title == spec.MINIMAL_TITLE
    assert queue.require(spec.MINIMAL_ITEM).status is ActionStatus.APPROVED


def test_extra_fields_are_ignored_and_refusals_name_the_document_and_field(db):
    moment = datetime.now(UTC)
    extra = spec.minimal_item(moment) | {"priority": 3}
    extra["payload"] = extra["payload"] | {"game": "Chess", "confidence_band": "high"}
    db.collection("action_queue").document("with-extras").set(extra)
    assert ActionQueue(db).require("with-extras").payload.source == "keyword"

    spec.write_foreign(db)
    with pytest.raises(StoredDocumentUnreadable, match=r"action_queue/spec-wrong-type.*score"):
        ActionQueue(db).get(spec.WRONG_ITEM)
    with pytest.raises(StoredDocumentUnreadable, match=r"kind is 'poll', not clip_candidate"):
        ActionQueue(db).get(spec.KIND_ITEM)


def test_clips_auth_of_the_wrong_type_is_refused_by_name(db):
    spec.write_foreign(db)
    with pytest.raises(StoredDocumentUnreadable, match=r"observability/clips_auth.*last_validated"):
        ClipsAuthStore(db).read_clips_auth()
    db.document("observability/clips_auth").set(spec.minimal_clips_auth(datetime.now(UTC)))
    health = ClipsAuthStore(db).read_clips_auth()
    assert health is not None and health.login == "specstreamer"


def test_a_job_without_job_id_reads_with_its_document_id(db):
    data = spec.minimal_job(datetime.now(UTC))
    del data["job_id"]
    db.collection("clip_jobs").document("job_no_id").set(data)
    assert ClipJobStore(db).require("job_no_id").job_id == "job_no_id"


# ---------------------------------------------------------------------------- archiving


def test_an_unreadable_item_is_archived_through_the_decision_record(db):
    spec.write_foreign(db)
    queue = ActionQueue(db)
    for action_id in (spec.WRONG_ITEM, spec.KIND_ITEM):
        queue.reject_unreadable(action_id, by="Ann", reason="unreadable")
        stored = db.collection("action_queue").document(action_id).get().to_dict()
        assert (stored["status"], stored["decided_by"]) == ("rejected", "Ann")
        decision = queue.decision_ref(action_id).get()
        assert decision.exists and decision.to_dict()["status"] == "rejected"
        with pytest.raises(ActionAlreadyDecided):
            queue.reject_unreadable(action_id, by="Ben")
    poll = db.collection("action_queue").document(spec.KIND_ITEM).get().to_dict()
    assert poll["payload"] == {"question": "Which clip was best?"}


def test_archiving_races_an_approval_and_exactly_one_wins(db, new_client):
    action_id = ActionQueue(db).submit(live_fields(source_ts=datetime.now(UTC).isoformat()))
    results: list[str] = []
    start = threading.Barrier(2)

    def archive() -> None:
        start.wait()
        try:
            ActionQueue(new_client()).reject_unreadable(action_id.action_id, by="Ann")
            results.append("archived")
        except ActionAlreadyDecided:
            results.append("lost")

    def approval() -> None:
        client = new_client()
        start.wait()
        try:
            approve(ActionQueue(client), ClipJobStore(client), action_id.action_id, by="Ben")
            results.append("approved")
        except ActionAlreadyDecided:
            results.append("lost")

    threads = [threading.Thread(target=archive), threading.Thread(target=approval)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(results) in (["archived", "lost"], ["approved", "lost"])


def test_expiry_ages_out_an_unreadable_item_too(db, caplog):
    spec.write_foreign(db)
    old = datetime.now(UTC) - timedelta(hours=2)
    db.collection("action_queue").document(spec.WRONG_ITEM).update({"created_at": old})
    assert [i.action_id for i in ActionQueue(db).list_pending()] == [spec.MINIMAL_ITEM]
    expired = ActionQueue(db).expire_older_than(timedelta(minutes=30))
    assert expired == [spec.WRONG_ITEM]
    stored = db.collection("action_queue").document(spec.WRONG_ITEM).get().to_dict()
    assert stored["status"] == "expired"
    assert len(unreadable_logs(caplog, spec.WRONG_ITEM)) == 1


# ---------------------------------------------------------------------------- listeners


def test_the_pending_listener_flags_unreadable_items_once_and_keeps_the_rest(db, caplog):
    spec.write_foreign(db)
    live = ActionQueue(db).watch_pending().start()
    try:
        rows = {row.doc_id: row for row in live.current().rows}
        assert set(rows) == {spec.MINIMAL_ITEM, spec.WRONG_ITEM, spec.KIND_ITEM}
        assert rows[spec.MINIMAL_ITEM].value is not None
        assert rows[spec.MINIMAL_ITEM].value.payload.suggested_title == spec.MINIMAL_TITLE
        assert "payload.score" in str(rows[spec.WRONG_ITEM].problem)
        assert "kind is 'poll'" in str(rows[spec.KIND_ITEM].problem)

        version = live.current().version
        db.collection("action_queue").document(spec.WRONG_ITEM).update({"risk": "x"})
        wait_until(lambda: live.current().version > version)
        assert len(unreadable_logs(caplog, spec.WRONG_ITEM)) == 1

        added = ActionQueue(db).submit(live_fields(source_ts=datetime.now(UTC).isoformat()))
        wait_until(lambda: added.action_id in {r.doc_id for r in live.current().rows})
        ActionQueue(db).reject_unreadable(spec.KIND_ITEM, by="Ann")
        wait_until(lambda: spec.KIND_ITEM not in {r.doc_id for r in live.current().rows})
        assert live.active
    finally:
        live.stop()


def test_the_version_moves_only_when_something_changed(db):
    ActionQueue(db).submit(live_fields(source_ts=datetime.now(UTC).isoformat()))
    live = ActionQueue(db).watch_pending().start()
    try:
        first = live.current()
        assert first.synced and len(first.rows) == 1
        ControlPlaneStore(db).write({"clip_mode_default": "vod"}, by="test")
        time.sleep(1.0)
        assert live.current().version == first.version
    finally:
        live.stop()


def test_job_listeners_flag_an_unreadable_job_and_follow_status_changes(db):
    spec.write_foreign(db)
    jobs = ClipJobStore(db)
    failed = jobs.watch_status(JobStatus.FAILED, 50).start()
    ready = jobs.watch_status(JobStatus.READY, 50).start()
    try:
        [row] = failed.current().rows
        assert row.doc_id == spec.WRONG_JOB and "attempts" in str(row.problem)
        assert [r.value.job_id for r in ready.current().rows if r.value] == [spec.MINIMAL_JOB]
        db.collection("clip_jobs").document(spec.WRONG_JOB).update(
            {"status": "ready", "attempts": 3, "updated_at": datetime.now(UTC)}
        )
        wait_until(lambda: not failed.current().rows)
        wait_until(lambda: len(ready.current().rows) == 2)
        assert all(r.value is not None for r in ready.current().rows)
    finally:
        failed.stop()
        ready.stop()


def test_the_chat_bots_control_listener_survives_a_wrong_type_and_keeps_the_last_good(db):
    store = ControlPlaneStore(db)
    store.write({"clip_mode_default": "vod", "chat.spike_multiplier": 5}, by="test")
    watch = ControlPlaneWatch(ControlPlaneStore(db)).start()
    try:
        wait_until(lambda: watch.current().chat.spike_multiplier == 5)
        db.document("control_plane/config").set({"clip_mode_default": ["live"], "chat": 7})
        wait_until(lambda: watch.current().problems)
        live = watch.current()
        assert (live.clips.clip_mode_default, live.chat.spike_multiplier) == ("vod", 5)
        assert watch.listening

        db.document("control_plane/config").set({"clip_mode_default": "live"})
        wait_until(lambda: watch.current().clips.clip_mode_default == "live")
        assert watch.listening
    finally:
        watch.stop()


def test_the_control_listener_survives_a_callback_that_fails(db, caplog):
    calls: list[str] = []

    def explode(loaded: object) -> None:
        calls.append("config")
        raise RuntimeError("a handler bug")

    watch = ControlPlaneStore(db).watch(explode, lambda error: calls.append("invalid"))
    try:
        wait_until(lambda: calls)
        db.document("control_plane/config").set({"clip_mode_default": 7})
        wait_until(lambda: "invalid" in calls)
        db.document("control_plane/config").set({"clip_mode_default": "vod"})
        wait_until(lambda: calls.count("config") >= 2)
        assert watch.is_active
        assert any("control plane listener" in r.getMessage() for r in caplog.records)
    finally:
        watch.unsubscribe()


def test_the_ready_jobs_listener_logs_an_unreadable_job_once_and_keeps_announcing(db, caplog):
    since = datetime.now(UTC) - timedelta(minutes=5)
    seen: list[str] = []
    jobs = ClipJobStore(db)
    watch = jobs.watch_unannounced_ready(since, lambda found: seen.extend(j.job_id for j in found))
    try:
        now = datetime.now(UTC)
        bad = spec.minimal_job(now) | {"job_id": "job_bad", "attempts": "three"}
        db.collection("clip_jobs").document("job_bad").set(bad)
        db.collection("clip_jobs").document("job_bad").update({"edit_url": None})
        db.collection("clip_jobs").document(spec.MINIMAL_JOB).set(spec.minimal_job(now))
        wait_until(lambda: spec.MINIMAL_JOB in seen)
        assert "job_bad" not in seen
        assert len(unreadable_logs(caplog, "job_bad")) == 1
        assert watch.is_active
    finally:
        watch.unsubscribe()
