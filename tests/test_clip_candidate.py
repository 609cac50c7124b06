"""clip_candidate.v1: every field rule of docs/architecture.md §3.1, and the dedupe key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clip_candidate import dedupe_key, load_candidate, new_candidate, normalise_text
from shared.domain.errors import CandidateInvalid
from tests.factories import live_fields, vod_fields


def refused(fields) -> CandidateInvalid:
    with pytest.raises(CandidateInvalid) as caught:
        new_candidate(fields)
    return caught.value


def test_valid_live_candidate():
    candidate = new_candidate(live_fields())
    assert candidate.schema_ == "clip_candidate.v1"
    assert candidate.broadcaster_id == "12345"
    assert candidate.source_ts == datetime(2026, 11, 24, 20, 0, 1, 250000, tzinfo=UTC)
    assert candidate.dedupe_key.startswith("cc_")
    assert len(candidate.candidate_id) == 32
    assert candidate.to_firestore()["schema"] == "clip_candidate.v1"


def test_valid_vod_candidate_and_numeric_id_as_int():
    candidate = new_candidate(vod_fields(broadcaster_id=12345, vod_id=900001))
    assert (candidate.broadcaster_id, candidate.vod_id) == ("12345", "900001")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"broadcaster_id": ...}, "broadcaster_id", "is required"),
        ({"broadcaster_id": None}, "broadcaster_id", "is required"),
        ({"broadcaster_id": "bytestreamer"}, "broadcaster_id", "login name is not accepted"),
        ({"broadcaster_id": "12a45"}, "broadcaster_id", "numeric"),
        ({"broadcaster_id": True}, "broadcaster_id", "boolean"),
        ({"suggested_duration": 4.9}, "suggested_duration", "between 5.0 and 60.0"),
        ({"suggested_duration": 60.1}, "suggested_duration", "between 5.0 and 60.0"),
        ({"suggested_duration": 12.34}, "suggested_duration", "one decimal"),
        ({"suggested_duration": "30"}, "suggested_duration", "number"),
        ({"suggested_duration": float("nan")}, "suggested_duration", "number"),
        ({"mode": "highlight"}, "mode", "live, vod"),
        ({"source": "twitter"}, "source", "chat_spike"),
        ({"suggested_title": "x" * 101}, "suggested_title", "at most 100"),
        ({"source_ts": "yesterday at noon"}, "source_ts", "ISO 8601"),
        ({"source_ts": "2026-11-24T20:00:01"}, "source_ts", "timezone"),
        ({"source_ts": ...}, "source_ts", "is required"),
        ({"score": 1.5}, "score", "between 0 and 1"),
        ({"score": "high"}, "score", "number"),
        ({"context_excerpt": "y" * 501}, "context_excerpt", "at most 500"),
        ({"mode": "vod"}, "vod_id", "required when mode is 'vod'"),
        ({"vod_id": "900001"}, "vod_id", "only a 'vod' mode"),
        ({"colour": "red"}, "colour", "not a field"),
        ({"dedupe_key": "mine"}, "dedupe_key", "computed by Byte Clips"),
    ],
)
def test_each_rule_names_its_field(changes, field, words):
    error = refused(live_fields(**changes))
    assert field in error.fields, error
    assert words in str(error)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"vod_id": ...}, "vod_id", "required"),
        ({"vod_offset": ...}, "vod_offset", "required"),
        ({"vod_offset": 10.0}, "vod_offset", "where the clip ends"),
        ({"vod_offset": -1}, "vod_offset", "negative"),
        ({"vod_id": "v123"}, "vod_id", "numeric"),
    ],
)
def test_vod_rules(changes, field, words):
    base = vod_fields()
    base.update(changes)
    error = refused({k: v for k, v in base.items() if v is not ...})
    assert field in error.fields, error
    assert words in str(error)


def test_boundaries_accepted():
    assert new_candidate(live_fields(suggested_duration=5)).suggested_duration == 5.0
    assert new_candidate(live_fields(suggested_duration=60.0)).suggested_duration == 60.0
    assert new_candidate(live_fields(suggested_duration=12.3)).suggested_duration == 12.3
    assert new_candidate(live_fields(suggested_title="t" * 100)).suggested_title == "t" * 100
    assert new_candidate(live_fields(suggested_title="   ")).suggested_title is None
    assert new_candidate(vod_fields(vod_offset=30.0)).vod_offset == 30.0


def test_several_problems_reported_together():
    error = refused(live_fields(broadcaster_id="someone", suggested_duration=99, mode="x"))
    assert set(error.fields) == {"broadcaster_id", "suggested_duration", "mode"}


def test_not_a_mapping():
    assert refused(["broadcaster_id"]).fields == ["candidate"]


def test_stored_payload_round_trips():
    candidate = new_candidate(vod_fields())
    assert load_candidate(candidate.to_firestore()) == candidate


def test_dedupe_key_same_moment_same_key():
    a = new_candidate(live_fields(suggested_title="What a SAVE!!", context_excerpt="a"))
    b = new_candidate(live_fields(suggested_title="what a save", context_excerpt="b"))
    assert a.dedupe_key == b.dedupe_key
    assert a.candidate_id != b.candidate_id


@pytest.mark.parametrize(
    "changes",
    [
        {"source": "keyword"},
        {"broadcaster_id": "999"},
        {"suggested_title": "Another moment"},
        {"source_ts": "2026-11-24T20:00:31Z"},
    ],
)
def test_dedupe_key_differs(changes):
    assert (
        new_candidate(live_fields()).dedupe_key != new_candidate(live_fields(**changes)).dedupe_key
    )


def test_dedupe_window_is_configurable():
    at = datetime(2026, 11, 24, 20, 0, 5, tzinfo=UTC)
    later = at + timedelta(seconds=40)
    key = {"broadcaster_id": "1", "source": "keyword", "text": "pog"}
    assert dedupe_key(source_ts=at, window_seconds=30, **key) != dedupe_key(
        source_ts=later, window_seconds=30, **key
    )
    assert dedupe_key(source_ts=at, window_seconds=60, **key) == dedupe_key(
        source_ts=later, window_seconds=60, **key
    )
    with pytest.raises(ValueError):
        dedupe_key(source_ts=at, window_seconds=0, **key)


def test_normalise_text():
    assert normalise_text("  POG!!  \uff30\uff4f\uff47 ") == "pog pog"
    assert normalise_text(None) == ""
