"""One moment, one candidate for vision (issue 14 item 4): a trigger inside a moment already
queued joins that candidate, as an accepted `!clip` does, instead of becoming a second item."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from shared.store.action_queue import ActionQueue
from tests.test_vision_ingest import CHANNEL, NOW, VICTORY, frame_request, make_ingest, queued


def chat_candidate(
    db: firestore.Client, at: datetime, *, channel: str = CHANNEL, score: float = 0.5
) -> str:
    fields: dict[str, Any] = {
        "broadcaster_id": channel,
        "mode": "live",
        "suggested_duration": 30.0,
        "suggested_title": "KEKW moment",
        "source": "keyword",
        "source_ts": at.isoformat(),
        "context_excerpt": "KEKW KEKW",
        "score": score,
    }
    return ActionQueue(db).submit(fields, dedupe_window_seconds=30, now=NOW).action_id


def test_a_trigger_inside_a_queued_moment_joins_it(db):
    action_id = chat_candidate(db, NOW - timedelta(seconds=12))
    answer = make_ingest(db).handle(frame_request(VICTORY))
    assert answer.status == 200 and answer.body["triggered"]
    assert answer.body["action_id"] == action_id and answer.body["merged"]
    items = queued(db)
    assert len(items) == 1, "one moment, one candidate"
    item = items[0]
    assert item["requested_by"] == ["vision"]
    assert item["payload"]["context_excerpt"].startswith("asked for by @vision")
    assert item["payload"]["score"] > 0.95 > 0.5, "the score rises to the trigger's, and more"


def test_a_resent_trigger_joins_once_and_a_resent_frame_is_the_same_candidate(db):
    chat_candidate(db, NOW - timedelta(seconds=12))
    ingest = make_ingest(db)
    first = ingest.handle(frame_request(VICTORY))
    again = ingest.handle(frame_request(VICTORY))
    assert first.body["merged"] and not again.body["merged"] and again.body["duplicate"]
    assert len(queued(db)) == 1 and queued(db)[0]["requested_by"] == ["vision"]


def test_a_trigger_alone_is_its_own_candidate_and_its_resend_is_not_merged_into_itself(db):
    ingest = make_ingest(db)
    first = ingest.handle(frame_request(VICTORY))
    again = ingest.handle(frame_request(VICTORY))
    assert not first.body["merged"] and first.body["note"] == "candidate queued"
    assert again.body["action_id"] == first.body["action_id"] and again.body["duplicate"]
    assert not again.body["merged"]
    items = queued(db)
    assert len(items) == 1 and items[0]["payload"]["source"] == "vision"
    assert items[0].get("requested_by", []) == []


def test_a_moment_long_before_or_on_another_channel_is_not_joined(db):
    chat_candidate(db, NOW - timedelta(minutes=5))
    chat_candidate(db, NOW - timedelta(seconds=5), channel="777")
    answer = make_ingest(db).handle(frame_request(VICTORY))
    assert not answer.body["merged"] and answer.body["note"] == "candidate queued"
    sources = sorted(item["payload"]["source"] for item in queued(db))
    assert sources == ["keyword", "keyword", "vision"]
