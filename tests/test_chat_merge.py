"""One moment, one candidate (issue 14): a `!clip` inside a queued moment joins it, through the
sink and `ActionQueue.merge_request` on the emulator; replay lines may carry emote fragments."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chatbot.control import LiveConfig, StaticConfig
from chatbot.detection import Detection
from chatbot.replay_log import LogLineInvalid, parse_lines
from chatbot.sink import CandidateSink
from shared.domain.errors import NotFound
from shared.store.action_queue import ActionQueue, ActionStatus, EnqueueResult, MergeResult
from tests.factories import chat_detection
from tests.fixtures_chat.synth import T0

MOMENT = "12345:1795550500.000"
NOW = datetime(2026, 11, 24, 20, 5, tzinfo=UTC)


def reaction(**changes: Any) -> Detection:
    """The keyword reaction that makes the moment at T0 + 100 a candidate."""
    keyword = chat_detection(
        source="keyword", moment_ts=T0 + 100, title="KEKW moment", score=0.6, moment_key=MOMENT
    )
    return replace(keyword, **changes)


def request(**changes: Any) -> Detection:
    """A moderator's `!clip` inside that moment."""
    command = replace(reaction(), source="command", score=0.9, merge_into=MOMENT)
    return replace(command, **({"title": "what a fail", "requested_by": "modname"} | changes))


class FakeQueue:
    """Records enqueues and merges; the first enqueue can be held to test the waiting."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        self.hold = hold
        self.fields: list[dict] = []
        self.merges: list[tuple[str, str, float, str | None]] = []

    def submit(self, fields, *, dedupe_window_seconds=30):
        if self.hold is not None:
            self.hold.wait(5)
        self.fields.append(dict(fields))
        return EnqueueResult(f"cc_{len(self.fields)}", duplicate=False)

    def merge_request(self, action_id, *, requested_by, score, title=None):
        self.merges.append((action_id, requested_by, score, title))
        return MergeResult(action_id, merged=True, status=ActionStatus.PENDING)


def test_a_request_inside_a_queued_moment_joins_its_candidate_even_if_it_is_still_written():
    hold = threading.Event()
    queue = FakeQueue(hold)
    sink = CandidateSink(queue, StaticConfig(LiveConfig()), workers=2)
    sink.submit(reaction())
    sink.submit(request())
    hold.set()
    assert sink.close(10)
    assert [f["source"] for f in queue.fields] == ["keyword"]
    assert queue.merges == [("cc_1", "modname", 0.9, "what a fail")]
    assert dict(sink.stats) == {"enqueued": 1, "merged": 1}


def test_a_bare_request_joins_without_a_title_and_an_unknown_moment_is_queued_alone():
    queue = FakeQueue()
    sink = CandidateSink(queue, StaticConfig(LiveConfig()), workers=1)
    sink.submit(reaction())
    sink.submit(request(title="Clip requested by modname"))
    sink.submit(request(merge_into="12345:0.000", requested_by="other"))
    assert sink.close(10)
    assert queue.merges == [("cc_1", "modname", 0.9, None)]
    assert [f["source"] for f in queue.fields] == ["keyword", "command"]


def test_a_request_whose_moment_was_never_written_is_queued_alone():
    queue = FakeQueue()
    sink = CandidateSink(queue, StaticConfig(LiveConfig()), workers=1)

    def refuse(fields, *, dedupe_window_seconds=30):
        raise RuntimeError("Firestore is down")

    queue.submit = refuse  # type: ignore[method-assign]
    sink.submit(reaction())
    assert sink.drain(10)
    queue.submit = FakeQueue.submit.__get__(queue)  # type: ignore[method-assign]
    sink.submit(request())
    assert sink.close(10)
    assert queue.merges == [] and [f["source"] for f in queue.fields] == ["command"]


def queued(db) -> dict:
    return next(s.to_dict() for s in db.collection("action_queue").stream())


def candidate(**changes) -> dict:
    return {
        "broadcaster_id": "12345",
        "mode": "live",
        "suggested_duration": 30.0,
        "suggested_title": "KEKW moment",
        "source": "keyword",
        "source_ts": "2026-11-24T20:01:40Z",
        "context_excerpt": "a: KEKW | b: LUL",
        "score": 0.6,
    } | changes


def test_merge_request_raises_the_score_names_the_requester_once_and_keeps_one_item(db):
    queue = ActionQueue(db)
    action_id = queue.submit(candidate(), now=NOW).action_id
    first = queue.merge_request(action_id, requested_by="modname", score=0.9, title="what a fail")
    again = queue.merge_request(action_id, requested_by="modname", score=0.9, title="what a fail")
    other = queue.merge_request(action_id, requested_by="vipname", score=0.8)
    assert (first.merged, again.merged, other.merged) == (True, False, True)
    stored = queued(db)
    assert stored["requested_by"] == ["modname", "vipname"]
    assert stored["payload"]["score"] == 1.0
    excerpt = stored["payload"]["context_excerpt"]
    assert excerpt.startswith("asked for by @vipname · asked for by @modname: “what a fail”")
    assert excerpt.endswith("a: KEKW | b: LUL")
    assert len(list(db.collection("action_queue").stream())) == 1
    item = queue.require(action_id)
    assert item.requested_by == ["modname", "vipname"] and item.payload.score == 1.0


def test_merge_request_into_a_decided_item_records_the_requester_only(db):
    queue = ActionQueue(db)
    action_id = queue.submit(candidate(score=0.5), now=NOW).action_id
    queue.reject(action_id, by="op", now=NOW)
    result = queue.merge_request(action_id, requested_by="modname", score=0.9)
    assert result.merged and result.status is ActionStatus.REJECTED
    stored = queued(db)
    assert stored["payload"]["score"] == 0.5 and stored["requested_by"] == ["modname"]
    with pytest.raises(NotFound):
        queue.merge_request("cc_missing", requested_by="modname", score=0.9)


# ---------------------------------------------------------------------- fragments in replays

LINE = {"ts": "2026-11-24T20:00:01.250Z", "user_id": "1", "user": "a", "text": "so byteHype"}


def test_replay_lines_may_carry_emote_fragments_and_stay_valid_without():
    with_fragments = LINE | {
        "fragments": [
            {"type": "text", "text": "so "},
            {"type": "emote", "text": "byteHype", "emote": {"id": "e1", "owner_id": "12345"}},
        ]
    }
    plain, rich = parse_lines([json.dumps(LINE), json.dumps(with_fragments)], "12345")
    assert plain.fragments == ()
    assert [(f.kind, f.text, f.emote_id, f.owner_id) for f in rich.fragments] == [
        ("text", "so ", "", ""),
        ("emote", "byteHype", "e1", "12345"),
    ]


@pytest.mark.parametrize(
    "fragments",
    ["KEKW", [{"type": "sticker", "text": "x"}], [{"type": "emote", "text": 3}], ["x"]],
)
def test_bad_fragments_name_the_field(fragments):
    with pytest.raises(LogLineInvalid) as error:
        list(parse_lines([json.dumps(LINE | {"fragments": fragments})], "12345"))
    assert error.value.field == "fragments" and error.value.number == 1
