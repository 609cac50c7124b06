# ruff: noqa: RUF001  (chat in many scripts: look-alike letters are meant)
"""Moment detection, signal by signal and decoy by decoy, the attention budget, one moment one
candidate, timing and titles (issue 14)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Sequence
from functools import partial

import pytest

from chatbot.brain import ChatBrain
from chatbot.chat_line import ChatLine, Fragment
from chatbot.detection import REACTION_SOURCES, Detection
from chatbot.detectors.moments import MomentDetector
from chatbot.detectors.reactions import read_message
from shared.domain.chat_settings import DEFAULTS, ChatSettings

CHANNEL = "12345"
T0 = 1_795_550_400.0
CALM = [
    "hi", "gg", "nice", "what game is this", "o7", "true", "how long is stream", "cool",
    "that was close", "hydrate", "good luck", "i like this song", "ok", "yeah", "hello",
]  # fmt: skip


def say(at: float, user: str | int, text: str, *roles: str, fragments=()) -> ChatLine:
    uid = str(user)
    return ChatLine(T0 + at, CHANNEL, uid, f"viewer{uid}", text, frozenset(roles), "", fragments)


def chatter(
    start: float,
    end: float,
    *,
    rate: float = 1.0,
    regulars: int = 60,
    seed: int = 1,
    rate_at=None,
) -> list[ChatLine]:
    """Casual chat: Poisson at `rate` (or `rate_at(t)`) from `regulars` viewers."""
    rng = random.Random(seed)
    out: list[ChatLine] = []
    peak = max(rate_at(start), rate_at(end)) if rate_at else rate
    at = start + rng.expovariate(peak)
    while at < end:
        if rate_at is None or rng.random() < rate_at(at) / peak:
            out.append(say(at, 1000 + rng.randrange(regulars), rng.choice(CALM)))
        at += rng.expovariate(peak)
    return out


def crowd(
    at: float,
    texts: Sequence[str],
    *,
    chatters: int = 16,
    spread: float = 6.0,
    seed: int = 2,
    first_user: int = 5000,
    fragments=None,
) -> list[ChatLine]:
    """`chatters` distinct viewers reacting within `spread` seconds after `at`."""
    rng = random.Random(seed)
    out = []
    for i in range(chatters):
        text = rng.choice(list(texts))
        frags = fragments(text) if fragments else ()
        out.append(say(at + rng.uniform(0, spread), first_user + i, text, fragments=frags))
    return out


def merged(*streams: Iterable[ChatLine]) -> list[ChatLine]:
    return sorted((x for s in streams for x in s), key=lambda x: x.ts)


def moments(
    lines: Sequence[ChatLine], settings: ChatSettings = DEFAULTS, brain: ChatBrain | None = None
) -> list[Detection]:
    """The reaction moments a brain (a fresh one unless a test keeps it) proposes."""
    brain = ChatBrain() if brain is None else brain
    found: list[Detection] = []
    for item in lines:
        found.extend(brain.observe(item, settings, pipeline_enabled=True).detections)
    return [d for d in found if d.source in REACTION_SOURCES]


# ---------------------------------------------------------------------- reading messages


@pytest.mark.parametrize(
    ("text", "reaction"),
    [
        ("KEKW", 1.0),
        ("LUL", 1.0),
        ("ㅋㅋㅋㅋㅋ", 1.0),
        ("哈哈哈哈", 1.0),
        ("2333333", 1.0),
        ("wwwwww", 1.0),
        ("jajajaja", 1.0),
        ("kkkkkkk", 1.0),
        ("KKKKKK", 1.0),
        ("хахаха", 1.0),
        ("hhhhhh", 1.0),
        ("ههههههه", 1.0),
        ("kkk", 1.0),
        ("草 (笑)", 1.0),
        ("xD", 1.0),
        ("XDDD", 1.0),
        ("CLIPA", 1.0),
        ("clipa isso", 1.0),
        ("que isso", 1.0),
        ("caraca", 1.0),
        ("NÃO ACREDITO", 1.0),
        ("no way", 1.0),
        ("卧槽", 1.0),
        ("ㄷㄷㄷ", 1.0),
        ("??????", 1.0),
        ("NOOOOO", 0.5),
        ("WHAT", 0.5),
        ("what game is this", 0.0),
        ("hello from brazil", 0.0),
        ("12334", 0.0),
    ],
)
def test_reaction_tokens_in_every_language(text, reaction):
    assert read_message(text, (), DEFAULTS.keywords, set(), CHANNEL).reaction == reaction


@pytest.mark.parametrize(
    ("text", "clip"),
    [
        ("CLIP IT", True),
        ("someone clip that", True),
        ("CLIPA", True),
        ("클립각", True),
        ("切片", True),
        ("剪辑一下", True),
        ("切り抜き", True),
        ("клип", True),
        ("!clip", True),
        ("eclipse tonight", False),
        ("nice", False),
    ],
)
def test_clip_calls_in_any_language(text, clip):
    assert read_message(text, (), {}, set(), CHANNEL).clip_call is clip


def test_channel_emotes_come_from_fragments_and_are_remembered():
    own = (Fragment("emote", "byteHype", "e1", CHANNEL),)
    other = (Fragment("emote", "Kappa", "e2", "0"),)
    mixed = (Fragment("text", "so "), Fragment("emote", "Kappa", "e2", "0"))
    assert read_message("byteHype", own, {}, set(), CHANNEL).reaction == 1.0
    assert read_message("Kappa", other, {}, set(), CHANNEL).reaction == 0.8
    assert read_message("so Kappa", mixed, {}, set(), CHANNEL).reaction == 0.5
    # a line without fragments (an old replay) still counts an emote the channel showed
    assert read_message("byteHype", (), {}, {"byteHype"}, CHANNEL).reaction == 0.8
    assert read_message("byteHype", (), {}, set(), CHANNEL).reaction == 0.0


def test_links_and_long_texts_are_keyed_as_possible_echoes():
    link = read_message("free viewers at cheap-viewers.com now", (), {}, set(), CHANNEL)
    assert link.link and link.reaction == 0.0 and link.echo_key
    long = read_message("this is the greatest play in history chat", (), {}, set(), CHANNEL)
    assert long.echo_key and not long.link
    assert read_message("www", (), {}, set(), CHANNEL).link is False


# ---------------------------------------------------------------------- signals


SIGNALS = {
    "surge of distinct chatters": dict(texts=["yo", "hey", "omg hi", "sup", "wow ok"]),
    "laughter (en)": dict(texts=["KEKW", "LUL", "OMEGALUL", "lmao"]),
    "laughter (ko)": dict(texts=["ㅋㅋㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋ 미쳤네"]),
    "laughter (zh)": dict(texts=["哈哈哈哈哈", "233333", "笑死"]),
    "laughter (ja)": dict(texts=["wwwwww", "草", "ｗｗｗ"]),
    "laughter (es)": dict(texts=["jajajaja", "JAJAJA", "xD"]),
    "laughter and hype (pt-BR)": dict(
        texts=["kkkkkk", "KKKKKK", "CLIPA", "clipa isso", "que isso", "caraca", "NÃO ACREDITO"]
    ),
    "laughter (ru)": dict(texts=["хахаха", "ахахах", "ору"]),
    "channel emotes (fragments)": dict(
        texts=["byteHype", "byteHype byteHype", "byteLul"],
        fragments=lambda text: tuple(
            Fragment("emote", word, f"e_{word}", CHANNEL) for word in text.split()
        ),
    ),
    "one token across chatters": dict(texts=["Aware"]),
    "clip calls": dict(texts=["clip it", "CLIP", "clip that pls", "클립", "clip"]),
}


@pytest.mark.parametrize("name", list(SIGNALS))
def test_each_signal_makes_one_moment(name):
    spec = SIGNALS[name]
    chat = merged(
        chatter(0, 900, rate=1.0, seed=11),
        crowd(600, spec["texts"], chatters=18, fragments=spec.get("fragments"), seed=12),
    )
    found = moments(chat)
    assert len(found) == 1, name
    # source_ts: where the reaction starts, minus the reaction lag
    assert abs(found[0].moment_ts - (T0 + 600 - DEFAULTS.reaction_lag_seconds)) <= 5.0


def test_reactions_are_told_as_keyword_moments_and_a_plain_surge_as_a_chat_spike():
    laugh = moments(merged(chatter(0, 900, seed=13), crowd(600, ["KEKW", "LUL"], chatters=18)))
    regulars = crowd(600, ["yo", "hey", "wait", "ok so"], chatters=40, first_user=1000)
    plain = moments(merged(chatter(0, 900, regulars=200, seed=13), regulars))
    assert [d.source for d in laugh] == ["keyword"]
    assert [d.source for d in plain] == ["chat_spike"]


def test_a_small_channel_finds_a_small_crowd_and_a_big_one_ignores_it():
    small = merged(
        chatter(0, 900, rate=0.3, regulars=20, seed=14), crowd(600, ["KEKW"], chatters=7)
    )
    big = merged(
        chatter(0, 900, rate=25.0, regulars=3000, seed=15), crowd(600, ["KEKW"], chatters=7)
    )
    assert len(moments(small)) == 1
    assert moments(big) == []


def test_a_ramp_into_the_moment_does_not_lift_the_bar():
    """Chat builds up for 30 s before the peak: the usual level must stay where it was."""
    ramp = [say(570 + i * (30 / 60), 7000 + i, "wait wait" if i % 2 else "oh") for i in range(60)]
    chat = merged(
        chatter(0, 900, rate=1.0, seed=16), ramp, crowd(600, ["NO WAY", "POG"], chatters=25)
    )
    detector = MomentDetector()
    levels = {}
    for item in chat:
        detector.observe(item, DEFAULTS, [item])
        if detector._baseline is not None:
            levels[int(item.ts - T0)] = detector._baseline.chatters
    before = levels[max(t for t in levels if t < 565)]
    at_peak = levels[max(t for t in levels if t < 610)]
    assert at_peak == pytest.approx(before, abs=1.0)
    assert len(moments(chat)) == 1


# ---------------------------------------------------------------------- decoys


def bot_wave(at: float, text: str, accounts: int = 70) -> list[ChatLine]:
    return [say(at + i * 0.4, f"9{i:05d}", text) for i in range(accounts)]


DECOYS = {
    "bot wave posting one link": bot_wave(600, "cheap viewers at https://bit.ly/xYz123 !!"),
    "bot wave posting one long text": bot_wave(
        600, "Wanna become famous? Buy followers primes and viewers on our site today"
    ),
    "copypasta relay": [
        say(600 + i * 1.5, 1000 + i, "I am once again asking chat to please stop typing in caps")
        for i in range(40)
    ],
    "one spammer": [say(600 + i * 0.3, 4242, "KEKW KEKW CLIP IT") for i in range(400)],
    "two spammers": [say(600 + i * 0.3, 4242 + i % 2, "POG POG") for i in range(400)],
}


@pytest.mark.parametrize("name", list(DECOYS))
def test_decoys_are_not_moments(name):
    chat = merged(chatter(0, 900, rate=1.0, seed=21), DECOYS[name])
    assert moments(chat) == [], name


def test_a_slowly_growing_audience_is_not_a_moment():
    grow = chatter(0, 3600, seed=22, regulars=400, rate_at=lambda t: 1.0 + 2.0 * min(1.0, t / 3000))
    assert moments(grow) == []


def test_a_moment_inside_a_decoy_is_still_found():
    chat = merged(
        chatter(0, 900, rate=1.0, seed=23),
        DECOYS["one spammer"],
        crowd(650, ["KEKW", "LUL"], chatters=18, seed=24),
    )
    assert len(moments(chat)) == 1


# ---------------------------------------------------------------------- the budget


def big_moments(every: float, hours: float, *, seed: int = 30) -> list[ChatLine]:
    parts = [chatter(0, hours * 3600, rate=1.5, regulars=120, seed=seed)]
    at, index = 600.0, 0
    while at < hours * 3600 - 60:
        parts.append(crowd(at, ["KEKW", "POG", "NO WAY"], chatters=30, seed=seed + index,
                           first_user=20_000 + index * 100))  # fmt: skip
        at += every
        index += 1
    return merged(*parts)


@pytest.mark.parametrize("budget", [1.0, 2.0, 4.0])
def test_the_budget_holds_over_any_rolling_hour(budget):
    settings = DEFAULTS.model_copy(update={"candidates_per_hour": budget})
    found = moments(big_moments(every=240, hours=2.5), settings)
    times = sorted(d.detected_ts for d in found)
    assert times, "the moments were found at all"
    for start in times:
        assert sum(start <= t < start + 3600 for t in times) <= budget


def test_a_clip_request_from_an_allowed_role_is_never_held_back_by_the_budget():
    settings = DEFAULTS.model_copy(update={"candidates_per_hour": 1.0})
    chat = big_moments(every=240, hours=1)
    chat.append(say(3000, 77, "!clip the ending", "moderator"))
    brain = ChatBrain()
    found = [
        d
        for item in sorted(chat, key=lambda x: x.ts)
        for d in brain.observe(item, settings, pipeline_enabled=True).detections
    ]
    assert sum(d.source in REACTION_SOURCES for d in found) == 1
    assert [d.title for d in found if d.source == "command"] == ["the ending"]


# ---------------------------------------------------------------------- one moment, one candidate


def test_a_clip_request_inside_a_proposed_moment_joins_it():
    chat = merged(chatter(0, 900, seed=31), crowd(600, ["KEKW", "LUL"], chatters=20))
    chat.append(say(615, 77, "!clip what a fail", "moderator"))
    brain = ChatBrain()
    found = [
        d
        for item in sorted(chat, key=lambda x: x.ts)
        for d in brain.observe(item, DEFAULTS, pipeline_enabled=True).detections
    ]
    reaction, request = found
    assert reaction.source in REACTION_SOURCES and reaction.moment_key
    assert request.source == "command" and request.merge_into == reaction.moment_key
    later = brain.observe(
        say(900, 78, "!clip another", "moderator"), DEFAULTS, pipeline_enabled=True
    )
    assert later.detections[0].merge_into is None


# ---------------------------------------------------------------------- titles


def test_titles_come_from_the_moment_itself():
    first = moments(merged(chatter(0, 900, seed=32), crowd(600, ["KEKW"], chatters=18)))
    second = moments(merged(chatter(0, 900, seed=32), crowd(600, ["ㅋㅋㅋㅋㅋ"], chatters=18)))
    third = moments(
        merged(chatter(0, 900, seed=32), crowd(600, ["no shot bro"], chatters=18, seed=5))
    )
    titles = [found[0].title for found in (first, second, third)]
    laugh = unicodedata.normalize("NFKC", "ㅋㅋ")  # titles are cleaned like any chat text
    assert titles[0].startswith("KEKW") and laugh in titles[1] and "no shot bro" in titles[2]
    assert len(set(titles)) == 3


def test_a_much_stronger_moment_right_after_a_proposal_is_not_hidden_by_the_quiet_time():
    """A bump of chat was proposed; 40 s later the room erupts: that is a moment of its own."""
    chat = merged(
        chatter(0, 900, rate=1.0, regulars=200, seed=25),
        crowd(600, ["KEKW", "LUL"], chatters=12, seed=26),
        crowd(640, ["NO WAY", "POG", "WHAT"], chatters=70, spread=8, seed=27, first_user=6000),
    )
    found = moments(chat)
    assert len(found) == 2
    assert abs(found[1].moment_ts - (T0 + 640 - DEFAULTS.reaction_lag_seconds)) <= 5.0


def test_a_change_of_weights_forgets_the_noise_learnt_under_the_old_ones():
    detector = MomentDetector()
    for item in chatter(0, 1800, rate=1.0, seed=28):
        detector.observe(item, DEFAULTS, [item])
    assert detector.bar(DEFAULTS) < 6.0, "twenty-odd minutes of this calm channel are known"
    tuned = DEFAULTS.model_copy(update={"signal_weights": {"surge": 0.5, "repetition": 2.0}})
    last = chatter(1800, 1810, rate=1.0, seed=29)
    for item in last:
        detector.observe(item, tuned, [item])
    assert detector.bar(tuned) >= 6.0, "scores under the old weights no longer set the bar"


# ---------------------------------------------------------------------- chat talking is no moment


def regulars_saying(
    at: float,
    texts: Sequence[str],
    *,
    chatters: int = 45,
    spread: float = 15.0,
    seed: int = 3,
    repeat: int = 1,
) -> list[ChatLine]:
    """Viewers the channel already knows (the `chatter` regulars) each saying one of `texts`,
    up to `repeat` times, within `spread` seconds after `at`."""
    rng = random.Random(seed)
    out = []
    for i in range(chatters):
        t = at + rng.uniform(0, spread)
        for _ in range(rng.randint(1, repeat)):
            out.append(say(t, 1000 + i, rng.choice(list(texts))))
            t += rng.uniform(1, 5)
    return out


# Accounts never seen in this chat (a raid, a giveaway): a crowd numbered past the regulars.
newcomers_saying = partial(crowd, chatters=80, spread=15.0, seed=4, first_user=80_000)


GREETINGS = ["hi", "hello", "hey @streamer", "o7", "HeyGuys", "olá", "안녕하세요", "你好",
             "привет", "hola", "oi", "salve"]  # fmt: skip
WELCOMES = ["welcome raiders", "welcome!", "o7 raiders", "bem-vindos"]
THANKS = ["thanks @gifter", "ty for the gift sub!", "obrigado pelo sub", "谢谢老板", "감사합니다"]
CHEERS = ["<3", "W @gifter", "<3 <3", "@gifter legend"]
CONVERSATION = {
    "a poll answered with numbers": regulars_saying(600, ["1", "2", "1", "2", "3", "2!"], repeat=2),
    "a poll answered yes/no and a/b in many languages": regulars_saying(
        600, ["yes", "no", "Yes", "NO", "sim", "não", "да", "нет", "ㅇㅇ", "ㄴㄴ", "a", "b"]
    ),
    "a greeting wave of accounts new to this chat": newcomers_saying(
        600, GREETINGS, chatters=50, spread=40
    ),
    "a raid: new accounts post one raid message, then greet; regulars welcome them": merged(
        newcomers_saying(600, ["pixelRaid pixelRaid pixelRaid"]),
        newcomers_saying(615, ["hi", "hello @streamer", "hey"], chatters=40, spread=40, seed=5),
        regulars_saying(605, WELCOMES, chatters=12, spread=30),
    ),
    "a gift-sub thank-you wave": merged(
        regulars_saying(600, THANKS, chatters=12, spread=30),
        regulars_saying(600, CHEERS, chatters=30, spread=30, seed=9),
    ),
    "a giveaway keyword from regulars and lurkers": merged(
        regulars_saying(600, ["!enter"], spread=30, repeat=3),
        newcomers_saying(600, ["!enter", "!join"], chatters=30, spread=40),
    ),
    "a wave of !commands": regulars_saying(
        600, ["!discord", "!uptime", "!socials", "!rank"], chatters=30, spread=10
    ),
}


@pytest.mark.parametrize("name", list(CONVERSATION))
def test_chat_talking_is_not_a_moment(name):
    chat = merged(chatter(0, 900, rate=1.0, seed=21), CONVERSATION[name])
    assert moments(chat) == [], name


def test_a_raid_wave_stays_discounted_while_the_raiders_chat_on():
    """Raiders greet, then chat about the game a minute later: still the raid, not a moment."""
    chat = merged(
        chatter(0, 900, rate=1.0, seed=21),
        newcomers_saying(600, ["hi", "hello", "hey @streamer"]),
        newcomers_saying(680, ["what game is this", "yo", "nice", "first time here"], seed=6),
    )
    assert moments(chat) == []


def test_a_moment_right_after_a_poll_is_still_found():
    chat = merged(
        chatter(0, 900, rate=1.0, seed=23),
        regulars_saying(560, ["1", "2"], repeat=2),
        crowd(650, ["KEKW", "LUL", "OMEGALUL"], chatters=18, seed=24),
    )
    found = moments(chat)
    assert len(found) == 1
    assert abs(found[0].moment_ts - (T0 + 650 - DEFAULTS.reaction_lag_seconds)) <= 5.0


@pytest.mark.parametrize(
    ("text", "aside", "talk", "clip"),
    [
        ("!discord", True, False, False),
        ("!enter", True, False, False),
        ("  !uptime pls", True, False, False),
        ("!clip", False, False, True),
        ("!clipa", False, False, True),
        ("!highlight that", False, False, True),  # the channel's own clip command name
        ("1", True, False, False),
        ("2!", True, False, False),
        ("１", True, False, False),
        ("yes", True, False, False),
        ("ㄴㄴ", True, False, False),
        ("b", True, False, False),
        ("<3 <3", True, False, False),
        ("hi", False, True, False),
        ("olá", False, True, False),
        ("안녕하세요", False, True, False),
        ("主播晚上好", False, True, False),
        ("привет всем", False, True, False),
        ("HeyGuys", False, True, False),
        ("o7", False, True, False),
        ("thanks for the gift PogChamp", False, True, False),
        ("pixelRaid pixelRaid", False, True, False),
        ("KEKW", False, False, False),
        ("!!!!", False, False, False),
        ("233", False, False, False),
    ],
)
def test_commands_poll_answers_and_greetings_are_read_as_talk(text, aside, talk, clip):
    reading = read_message(text, (), DEFAULTS.keywords, set(), CHANNEL, "highlight")
    assert (reading.aside, reading.talk, reading.clip_call) == (aside, talk, clip)
    assert reading.reaction == 0.0 or not (aside or talk)
    assert reading.tokens == () or not (aside or talk)


def test_a_line_addressed_to_someone_and_heart_emotes_are_no_reaction():
    assert read_message("@friend KEKW", (), {}, set(), CHANNEL).reaction == 0.0
    mention = (Fragment("mention", "@gifter"), Fragment("text", " "),
               Fragment("emote", "byteHype", "e1", CHANNEL))  # fmt: skip
    assert read_message("@gifter byteHype", mention, {}, set(), CHANNEL).reaction == 0.0
    hearts = (Fragment("emote", "byteLove", "e2", CHANNEL),)
    assert read_message("byteLove", hearts, {}, set(), CHANNEL).aside


@pytest.mark.parametrize(
    "text",
    ["LMAOOO", "monkaGIGA", "PogU", "pogey", "L", "LLLL", "no manches", "que locura", "草草草",
     "牛牛牛", "ㅠㅠㅠ", "레전드", "капец", "まじか", "神", "PepeHands", "4Head", "golazo",
     "!!!!", "?????", "jpp", "ahahahah", "lfg"],
)  # fmt: skip
def test_wider_reaction_vocabulary(text):
    assert read_message(text, (), DEFAULTS.keywords, set(), CHANNEL).reaction == 1.0


def test_a_long_greeting_is_still_keyed_for_the_bot_wave_check():
    text = "Hello! I really like your stream, check my profile for a surprise gift for everyone"
    reading = read_message(text, (), {}, set(), CHANNEL)
    assert reading.talk and reading.echo_key
