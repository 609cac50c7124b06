"""action_queue on the emulator: idempotent enqueue, listing, reject, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clip_candidate import new_candidate
from shared.domain.errors import ActionAlreadyDecided, CandidateInvalid, NotFound
from shared.store.action_queue import COLLECTION, ActionQueue, ActionStatus
from tests import spec_documents as spec
from tests.factories import live_fields

T0 = datetime(2026, 11, 24, 20, 0, 5, tzinfo=UTC)


def test_enqueue_then_same_moment_again_is_a_duplicate(db):
    queue = ActionQueue(db)
    first = queue.submit(live_fields(), now=T0)
    second = queue.submit(live_fields(context_excerpt="another excerpt"), now=T0)
    assert not first.duplicate
    assert second.duplicate
    assert second.action_id == first.action_id
    docs = list(db.collection(COLLECTION).stream())
    assert [d.id for d in docs] == [first.action_id]
    stored = docs[0].to_dict()
    assert stored["status"] == "pending_approval"
    assert stored["kind"] == "clip_candidate"
    assert stored["risk"] == "suggest_streamer"
    assert stored["payload"]["schema"] == "clip_candidate.v1"
    assert stored["payload"]["dedupe_key"] == first.action_id


def test_different_moments_are_separate_items(db):
    queue = ActionQueue(db)
    a = queue.submit(live_fields(), now=T0)
    b = queue.submit(live_fields(source_ts="2026-11-24T20:05:00Z"), now=T0)
    c = queue.submit(live_fields(suggested_title="Another thing"), now=T0)
    assert len({a.action_id, b.action_id, c.action_id}) == 3


@pytest.mark.parametrize(
    "bad",
    [
        {"broadcaster_id": "bytestreamer"},
        {"broadcaster_id": ...},
        {"suggested_duration": 4.9},
        {"suggested_duration": 60.1},
        {"suggested_duration": 12.34},
        {"mode": "highlight"},
        {"source": "twitter"},
        {"suggested_title": "x" * 101},
        {"source_ts": "not a time"},
        {"mode": "vod"},
    ],
)
def test_refused_candidate_writes_nothing(db, bad):
    queue = ActionQueue(db)
    with pytest.raises(CandidateInvalid):
        queue.submit(live_fields(**bad), now=T0)
    assert list(db.collection(COLLECTION).stream()) == []


def test_list_pending_is_newest_first_and_only_pending(db):
    queue = ActionQueue(db)
    ids = []
    for minute in range(3):
        result = queue.submit(
            live_fields(source_ts=f"2026-11-24T20:0{minute}:00Z"),
            now=T0 + timedelta(minutes=minute),
        )
        ids.append(result.action_id)
    queue.reject(ids[1], by="op@example.com", now=T0 + timedelta(minutes=5))
    pending = queue.list_pending()
    assert [p.action_id for p in pending] == [ids[2], ids[0]]
    assert all(p.status is ActionStatus.PENDING for p in pending)


def test_reject_records_who_and_refuses_a_second_decision(db):
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id
    rejected = queue.reject(action_id, by="op@example.com", reason="boring", now=T0)
    assert rejected.status is ActionStatus.REJECTED
    assert rejected.decided_by == "op@example.com"
    assert rejected.decision_reason == "boring"
    with pytest.raises(ActionAlreadyDecided, match="rejected"):
        queue.reject(action_id, by="other@example.com", now=T0)


def test_reject_unknown_action_is_not_found(db):
    with pytest.raises(NotFound, match="nope"):
        ActionQueue(db).reject("nope", by="op")


def test_expire_only_items_older_than_ttl(db):
    queue = ActionQueue(db)
    old = queue.submit(live_fields(), now=T0).action_id
    fresh = queue.enqueue(
        new_candidate(live_fields(source_ts="2026-11-24T20:40:00Z")),
        now=T0 + timedelta(minutes=40),
    ).action_id
    expired = queue.expire_older_than(timedelta(minutes=30), now=T0 + timedelta(minutes=45))
    assert expired == [old]
    assert queue.require(old).status is ActionStatus.EXPIRED
    assert queue.require(old).decided_by == "sweeper"
    assert queue.require(fresh).status is ActionStatus.PENDING
    assert queue.expire_older_than(timedelta(minutes=30), now=T0 + timedelta(minutes=45)) == []


@pytest.mark.parametrize("created_at", [None, "yesterday"], ids=["missing", "not-a-time"])
def test_expiry_ages_an_item_without_a_readable_created_at_from_its_write(db, created_at):
    now = datetime.now(UTC)
    undated = spec.minimal_item(now)
    if created_at is not None:
        undated["created_at"] = created_at
    db.collection(COLLECTION).document(spec.MINIMAL_ITEM).set(undated)
    queue = ActionQueue(db)
    dated = queue.submit(live_fields(), now=now + timedelta(minutes=50)).action_id

    assert queue.expire_older_than(timedelta(minutes=30), now=now + timedelta(minutes=10)) == []
    later = now + timedelta(minutes=60)
    assert queue.expire_older_than(timedelta(minutes=30), now=later) == [spec.MINIMAL_ITEM]
    stored = db.collection(COLLECTION).document(spec.MINIMAL_ITEM).get().to_dict()
    assert (stored["status"], stored["decided_by"]) == ("expired", "sweeper")
    assert "no readable created_at" in stored["decision_reason"]
    assert queue.require(dated).status is ActionStatus.PENDING
