"""Detectors on synthetic chat: quiet → nothing, a burst → one, a spammer → nothing."""

from __future__ import annotations

from chatbot.brain import ChatBrain
from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.detectors.moments import MomentDetector
from chatbot.detectors.reactions import strongest_keyword
from shared.domain.chat_settings import DEFAULTS, ChatSettings
from tests.fixtures_chat.synth import T0, burst, line, merged, quiet, spam


def run(lines: list[ChatLine], settings: ChatSettings = DEFAULTS) -> list[Detection]:
    brain = ChatBrain()
    found: list[Detection] = []
    for item in lines:
        found.extend(brain.observe(item, settings, pipeline_enabled=True).detections)
    return found


def spikes(lines: list[ChatLine], settings: ChatSettings = DEFAULTS) -> list[Detection]:
    detector = MomentDetector()
    out = []
    for item in lines:
        hit = detector.observe(item, settings, [item])
        if hit:
            out.append(hit)
    return out


def test_quiet_chat_gives_nothing():
    assert run(quiet(0, 1800, rate=0.5, seed=3)) == []


def test_a_busy_but_steady_channel_gives_nothing():
    assert run(quiet(0, 900, rate=4.0, seed=4)) == []


def test_a_genuine_burst_gives_exactly_one_candidate():
    chat = merged(quiet(0, 400, seed=5), burst(200, chatters=30, spread=8))
    found = run(chat)
    assert len(found) == 1
    hit = found[0]
    assert hit.source in {"chat_spike", "keyword"}
    assert 0 <= hit.score <= 1 and hit.excerpt and hit.title
    # source_ts: when the moment happened, i.e. the burst's onset minus the reaction lag
    assert T0 + 200 - DEFAULTS.reaction_lag_seconds - 1 <= hit.moment_ts <= T0 + 200


def test_the_spike_detector_fires_once_per_moment_not_per_message():
    chat = merged(quiet(0, 400, seed=6), burst(150, chatters=60, spread=20, words=["yo"]))
    found = spikes(chat)
    assert [d.source for d in found] == ["chat_spike"]
    assert found[0].title.startswith("Chat erupts")


def test_a_second_moment_after_the_refractory_period_is_found():
    chat = merged(
        quiet(0, 600, seed=7),
        burst(150, chatters=30, seed=8, words=["WHAT", "no shot", "bro"]),
        burst(400, chatters=30, seed=9, words=["WHAT", "no shot", "bro"]),
    )
    assert [round(d.moment_ts - T0) for d in spikes(chat)] == [
        round(d.moment_ts - T0) for d in spikes(chat)
    ]
    assert len(spikes(chat)) == 2


def test_a_single_spammer_is_not_a_spike_nor_a_keyword_burst():
    chat = merged(quiet(0, 600, seed=10), spam(200, 320, every=0.2))
    assert run(chat) == []


def test_two_spammers_plus_quiet_chat_are_not_enough_chatters():
    chat = merged(
        quiet(0, 600, seed=11),
        spam(200, 260),
        [line(200 + i * 0.25, 8888, "POG POG POG") for i in range(200)],
    )
    assert run(chat) == []


def test_keyword_burst_from_distinct_chatters():
    # the moment detector scores against the channel's history, so the channel chats first
    detector = MomentDetector()
    emotes = [line(300 + i * 0.5, 3000 + i, "KEKW") for i in range(6)]
    chat = merged(quiet(0, 400, seed=16), emotes)
    found = [d for d in (detector.observe(x, DEFAULTS, [x]) for x in chat) if d]
    assert len(found) == 1
    assert found[0].source == "keyword" and found[0].title == "KEKW moment"


def test_keyword_weights_come_from_the_list_and_repeats_in_one_message_count_once():
    weights = {"pog": 1.0, "kekw": 2.0}
    assert strongest_keyword("pog KEKW!! pog", weights) == ("kekw", "KEKW", 2.0)
    assert strongest_keyword("nothing here", weights) is None
    settings = DEFAULTS.model_copy(update={"keywords": {"omegalul": 1.0}})
    detector = MomentDetector()
    chat = [line(10 + i * 0.3, 4000 + i, "KEKW KEKW KEKW") for i in range(10)]
    assert not any(detector.observe(x, settings, [x]) for x in chat)


def test_thresholds_are_read_per_message():
    chat = merged(quiet(0, 300, seed=12), burst(200, chatters=20, spread=5, words=["hey"]))
    strict = DEFAULTS.model_copy(update={"min_distinct_chatters": 30})
    assert spikes(chat, strict) == []
    looser = DEFAULTS.model_copy(update={"min_distinct_chatters": 10})
    assert len(spikes(chat, looser)) == 1


def test_nothing_is_emitted_while_the_pipeline_is_off_but_the_baseline_keeps_learning():
    brain = ChatBrain()
    chat = merged(quiet(0, 400, seed=13), burst(200, chatters=30))
    out = [brain.observe(x, DEFAULTS, pipeline_enabled=False) for x in chat]
    assert not any(r.detections for r in out)


def test_chat_coming_back_after_a_break_is_not_a_spike():
    chat = merged(quiet(0, 300, rate=0.3, seed=14), quiet(1500, 1800, rate=3.0, seed=15))
    assert spikes(chat) == []
