"""Pure pieces: chat settings, the chat send limiter, link health, VOD placement, fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatbot.candidates import candidate_fields, iso
from chatbot.link_state import LinkState, reconnect_delay
from chatbot.rate_limit import ChatRateLimiter
from chatbot.vod import StreamArchive, vod_offset
from shared.domain.chat_settings import DEFAULTS, load_chat_settings
from shared.domain.clip_candidate import new_candidate
from shared.domain.control_plane import ControlPlaneConfig
from tests.factories import chat_detection
from tests.fixtures_chat.synth import T0


def test_chat_settings_defaults_and_partial_fallback():
    settings, problems = load_chat_settings(None)
    assert settings == DEFAULTS and problems == []
    settings, problems = load_chat_settings(
        {"spike_multiplier": 4, "min_distinct_chatters": "lots", "keywords": {"POG": 2, "x y": 1}}
    )
    assert settings.spike_multiplier == 4.0
    assert settings.min_distinct_chatters == DEFAULTS.min_distinct_chatters
    assert settings.keywords == DEFAULTS.keywords
    assert {p.field for p in problems} == {"chat.min_distinct_chatters", "chat.keywords"}
    assert all("default applies" in p.message for p in problems)
    _, problems = load_chat_settings(["not", "a", "map"])
    assert problems[0].field == "chat"


def test_keywords_are_folded_and_lists_get_weight_one():
    settings, problems = load_chat_settings({"keywords": ["POG", "KEKW"], "clip_command": "!Clip"})
    assert problems == [] and settings.keywords == {"pog": 1.0, "kekw": 1.0}
    assert settings.clip_command == "clip"


def test_detector_tunables_live_in_the_chat_settings_and_are_validated():
    assert DEFAULTS.candidates_per_hour == 4.0
    assert set(DEFAULTS.signal_weights) == {"surge", "reactions", "repetition", "clip_calls"}
    settings, problems = load_chat_settings(
        {"candidates_per_hour": 2, "signal_weights": {"Surge": 0.5, "reactions": 2}}
    )
    assert problems == [] and settings.candidates_per_hour == 2.0
    assert settings.signal_weights == {
        "surge": 0.5,
        "reactions": 2.0,
        "repetition": 0.0,
        "clip_calls": 0.0,
    }
    for bad in ({"loudness": 1}, {"surge": -1}, {"surge": 0}, ["surge"]):
        settings, problems = load_chat_settings({"signal_weights": bad})
        assert [p.field for p in problems] == ["chat.signal_weights"]
        assert settings.signal_weights == DEFAULTS.signal_weights
    _, problems = load_chat_settings({"candidates_per_hour": 0})
    assert [p.field for p in problems] == ["chat.candidates_per_hour"]
    # a document saved before the moment detector still loads (retired fields are ignored)
    settings, problems = load_chat_settings({"keyword_burst_weight": 4.0, "spike_multiplier": 4})
    assert problems == [] and settings.spike_multiplier == 4.0


def test_limiter_normal_and_privileged():
    limiter = ChatRateLimiter()
    for i in range(20):
        assert limiter.wait(i * 0.1) == 0
        limiter.record(i * 0.1)
    assert limiter.wait(2.0) == pytest.approx(28.0)
    assert limiter.wait(30.05) == 0
    limiter.privileged = True
    assert limiter.limit == 100 and limiter.wait(2.0) == 0


def test_limiter_never_allows_more_than_the_limit_in_any_window():
    limiter, sent, now = ChatRateLimiter(), [], 0.0
    while now < 120:
        wait = limiter.wait(now)
        now += wait
        limiter.record(now)
        sent.append(now)
        now += 0.01
    for start in sent:
        assert sum(start <= t < start + 30 for t in sent) <= 20


def test_link_health_grace():
    link = LinkState(0.0, grace_seconds=300)
    assert link.health(10).ok and link.health(10).state == "connecting"
    assert not link.health(301).ok
    link.connected(302)
    link.lost(400, "websocket closed")
    link.lost(500, "still down")
    health = link.health(650)
    assert health.ok and health.state == "reconnecting" and health.detail == "still down"
    assert not link.health(701).ok
    link.stopped(702)
    assert not link.health(702).ok


def test_reconnect_delay_grows_and_is_capped():
    assert 1.0 <= reconnect_delay(0, rand=0.0) <= reconnect_delay(0, rand=0.99) < 2.0
    assert reconnect_delay(10, rand=0.5) <= 120.0
    assert reconnect_delay(3, rand=0.0) > reconnect_delay(1, rand=0.99)


def test_vod_offset_is_where_the_clip_ends():
    archive = StreamArchive("900001", T0)
    assert vod_offset(T0 + 600, archive, 30.0) == 607.5
    assert vod_offset(T0 + 3, archive, 30.0) == 30.0
    assert vod_offset(T0 - 5, archive, 30.0) is None


def test_fields_pass_the_shared_validation():
    built = candidate_fields(chat_detection(), ControlPlaneConfig(), DEFAULTS)
    candidate = new_candidate(built.fields)
    assert candidate.source == "chat_spike" and candidate.mode == "live"
    assert candidate.source_ts == datetime(2026, 11, 24, 20, 1, 1, 250000, tzinfo=UTC)
    assert candidate.suggested_duration == 30.0 and candidate.score == 0.612
    assert iso(T0 + 0.5) == "2026-11-24T20:00:00.500Z"


def test_vod_mode_uses_the_archive_or_says_it_fell_back_to_live():
    vod = ControlPlaneConfig(clip_mode_default="vod")
    built = candidate_fields(chat_detection(), vod, DEFAULTS, StreamArchive("900001", T0))
    candidate = new_candidate(built.fields)
    assert (candidate.mode, candidate.vod_id, candidate.vod_offset) == ("vod", "900001", 68.8)
    fallback = candidate_fields(chat_detection(), vod, DEFAULTS, None)
    assert fallback.fields["mode"] == "live" and fallback.note
    assert new_candidate(fallback.fields).context_excerpt.startswith("[VOD mode")


def test_chat_duration_overrides_the_control_plane_default():
    settings, _ = load_chat_settings({"clip_duration_seconds": 20})
    built = candidate_fields(
        chat_detection(), ControlPlaneConfig(clip_default_duration=45.0), settings
    )
    assert built.fields["suggested_duration"] == 20.0
