"""`!clip [title]`: permissions, per-user and global cooldowns, title cleaning, replies."""

from __future__ import annotations

import pytest

from chatbot.brain import ChatBrain
from chatbot.detectors.clip_command import ClipCommandGate, parse_clip_command
from chatbot.replies import MAX_REPLY_CHARS, command_reply, compose
from chatbot.titles import chat_title
from shared.domain.chat_settings import DEFAULTS, load_chat_settings
from tests.fixtures_chat.synth import T0, line


def handle(gate, item, settings=DEFAULTS, *, enabled=True):
    argument = parse_clip_command(item.text, settings.clip_command)
    assert argument is not None
    return gate.handle(item, argument, settings, pipeline_enabled=enabled, recent=[item])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!clip", ""),
        ("  !CLIP   what a save  ", "what a save"),
        ("!clip\tgg", "gg"),
        ("!", None),
        ("!clipboard", None),
        ("clip it", None),
        ("!help", None),
    ],
)
def test_parse(text, expected):
    assert parse_clip_command(text, "clip") == expected


def test_title_is_cleaned_and_limited_to_100_characters():
    assert chat_title("  what\x00 a\n\nsave \u200b ") == "what a save"
    assert chat_title("/ban everyone") == "ban everyone"
    assert chat_title("   ") is None
    long = chat_title("word " * 60)
    assert long is not None and len(long) <= 100 and long.endswith("…")


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ((), False),
        (("subscriber",), True),
        (("vip",), True),
        (("moderator",), True),
        (("broadcaster",), True),
    ],
)
def test_default_roles(roles, allowed):
    result = handle(ClipCommandGate(), line(10, 1, "!clip", *roles))
    assert (result.status == "accepted") is allowed
    if not allowed:
        assert result.status == "forbidden"


def test_roles_are_configurable_and_the_broadcaster_always_may():
    mods_only, _ = load_chat_settings({"clip_command_roles": ["moderator"]})
    gate = ClipCommandGate()
    assert handle(gate, line(1, 1, "!clip", "vip"), mods_only).status == "forbidden"
    assert handle(gate, line(2, 2, "!clip", "broadcaster"), mods_only).status == "accepted"
    everyone, _ = load_chat_settings({"clip_command_roles": "everyone"})
    assert handle(ClipCommandGate(), line(3, 3, "!clip"), everyone).status == "accepted"


def test_global_then_user_cooldown():
    settings = DEFAULTS.model_copy(
        update={"clip_user_cooldown_seconds": 120.0, "clip_global_cooldown_seconds": 30.0}
    )
    gate = ClipCommandGate()
    first = handle(gate, line(100, 1, "!clip nice", "vip"), settings)
    assert first.status == "accepted" and first.detection is not None
    other = handle(gate, line(110, 2, "!clip", "vip"), settings)
    assert other.status == "cooldown_global" and other.retry_after == pytest.approx(20.0)
    again = handle(gate, line(140, 1, "!clip", "vip"), settings)
    assert again.status == "cooldown_user" and again.retry_after == pytest.approx(80.0)
    assert handle(gate, line(140, 2, "!clip", "vip"), settings).status == "accepted"
    assert handle(gate, line(221, 1, "!clip", "vip"), settings).status == "accepted"


def test_refusals_are_told_once_per_cooldown():
    gate = ClipCommandGate()
    handle(gate, line(0, 1, "!clip", "vip"))
    told = [handle(gate, line(1 + i, 2, "!clip", "vip")).notify for i in range(5)]
    assert told == [True, False, False, False, False]


def test_pipeline_off_refuses_without_using_the_cooldown():
    gate = ClipCommandGate()
    assert handle(gate, line(0, 1, "!clip", "vip"), enabled=False).status == "paused"
    assert handle(gate, line(1, 1, "!clip", "vip")).status == "accepted"


def test_accepted_command_detection():
    result = handle(ClipCommandGate(), line(50, 7, "!clip  what a   save", "moderator"))
    detection = result.detection
    assert detection is not None
    assert detection.source == "command" and detection.title == "what a save"
    assert detection.moment_ts == T0 + 50 - DEFAULTS.reaction_lag_seconds
    assert detection.requested_by == "viewer7" and 0 < detection.score <= 1
    bare = handle(ClipCommandGate(), line(50, 8, "!clip", "vip")).detection
    assert bare is not None and bare.title == "Clip requested by viewer8"


def test_replies_are_short_and_name_the_reason():
    gate = ClipCommandGate()
    accepted = command_reply("ann", handle(gate, line(0, 1, "!clip big play", "vip")), DEFAULTS)
    assert accepted == "@ann clip request sent to the streamer: “big play”"
    waiting = command_reply("bob", handle(gate, line(5, 2, "!clip", "vip")), DEFAULTS)
    assert waiting == "@bob a clip was just requested; try again in 25 s."
    nope = command_reply("cat", handle(gate, line(6, 3, "!clip")), DEFAULTS)
    assert nope == "@cat !clip is open to mods, VIPs and subscribers."
    paused = handle(ClipCommandGate(), line(7, 4, "!clip", "vip"), enabled=False)
    assert "paused" in command_reply("dan", paused, DEFAULTS)


def test_compose_keeps_one_message_of_at_most_four_lines():
    text = compose(["a" * 100, "b" * 100, "c" * 100, "d" * 100, "e"])
    assert len(text) <= MAX_REPLY_CHARS and "e" not in text.split(" · ")[-1][-2:]
    assert compose(["one", "", "two"]) == "one · two"


def test_brain_replies_once_and_enqueues_only_accepted_requests():
    brain = ChatBrain()
    out = [
        brain.observe(
            line(10 + i, 100 + i, f"!clip take {i}", "subscriber"), DEFAULTS, pipeline_enabled=True
        )
        for i in range(4)
    ]
    assert [len(r.detections) for r in out] == [1, 0, 0, 0]
    assert all(r.reply for r in out)
    repeat = brain.observe(line(15, 101, "!clip", "subscriber"), DEFAULTS, pipeline_enabled=True)
    assert repeat.reply is None and not repeat.detections
