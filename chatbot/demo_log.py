"""Writes `chatbot/demo_chat.jsonl`, the synthetic chat the local stack replays (fixed seed).

    python -m chatbot.demo_log [--out chatbot/demo_chat.jsonl] [--seed 20261124]

Fifteen minutes of one channel's chat (the local demo channel, id 12345): quiet stretches, a
spammer repeating emotes and copypasta, a channel that slowly gets busier, three genuine
moments (a clutch, a fail, a comeback) that chat reacts to about 5-10 s late, and `!clip`
requests that are accepted, refused by the cooldowns and refused for lack of a role. The
expected outcome is in `EXPECTED`: the tests replay the file and check it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "demo_chat.jsonl"
SEED = 20261124
START = datetime(2026, 11, 24, 20, 0, 0, tzinfo=UTC)
BROADCASTER_ID = "12345"
BROADCASTER = "bytestreamer"
LENGTH_SECONDS = 900.0

# The moments chat reacts to (seconds after START) and what the log should make of them.
MOMENTS = {"clutch": 262.0, "fail": 452.0, "comeback": 702.0}
EXPECTED = {
    # one reaction candidate (chat_spike, keyword or, with an LLM, autonomy_goal) per moment
    "reaction_moments": MOMENTS,
    # accepted !clip requests: (seconds after START when typed, title)
    "commands": [(272.4, "insane 1v3 clutch"), (712.8, "what a comeback")],
}

CASUAL = [
    "hi chat",
    "gg",
    "what game is this?",
    "lol",
    "nice",
    "o7",
    "how long is the stream today",
    "that was close",
    "first time here, love it",
    "the music is great",
    "hydrate!",
    "true",
    "based",
    "is this ranked?",
    "what rank are you",
    "chat is sleepy today",
    "good morning",
    "hello from Brazil",
    "what keyboard is that",
    "my cat says hi",
    "ok that was clean",
    "nice shot",
    "do you ever play horror games",
    "LUL",
    "you got this",
    "monkaS",
    "ez",
    "which server?",
    "brb food",
    "back",
    "how's the new patch",
    "calm chat today",
    "that skin is nice",
    "rip",
    "Kappa",
    "can you show the settings",
    "gl next round",
]
CLUTCH = [
    "POG",
    "NO WAY",
    "CLIP IT",
    "PogChamp",
    "HOLY",
    "what a clutch",
    "insane",
    "POGGERS",
    "1v3 LETS GOOO",
    "POG POG POG",
    "clip that",
    "he actually did it",
    "INSANE",
    "PogU",
]
FAIL = [
    "KEKW",
    "OMEGALUL",
    "LUL",
    "he fell off the map KEKW",
    "KEKW KEKW",
    "noooo LUL",
    "OMEGALUL he jumped",
    "lmao",
    "KEKW clip it",
    "how did that happen LUL",
    "LMAO",
]
COMEBACK = [
    "WHAT",
    "no shot",
    "bro",
    "HOW",
    "yooo",
    "HOLY",
    "he came back",
    "what just happened",
    "WHAT WAS THAT",
    "unreal",
    "no shot bro",
    "yoooooo",
    "that is wild",
    "HOW DID HE",
]
SPAM = ["KEKW KEKW KEKW KEKW", "CLIP IT CLIP IT CLIP IT", "buy followers at cheap-views dot com"]


@dataclass(frozen=True)
class Viewer:
    user_id: str
    user: str
    badges: tuple[str, ...]


def viewers(rng: random.Random) -> list[Viewer]:
    first = ["pixel", "nova", "echo", "lumen", "frost", "ember", "glitch", "orbit", "sage", "vex"]
    second = ["fox", "byte", "wolf", "zen", "rider", "cat", "ninja", "owl", "star", "gamer"]
    names = sorted({f"{a}{b}{rng.randint(1, 99)}" for a in first for b in second})
    rng.shuffle(names)
    crowd = []
    for index, name in enumerate(names[:70]):
        if index < 3:
            badges: tuple[str, ...] = ("moderator", "subscriber")
        elif index < 5:
            badges = ("vip",)
        elif index < 30:
            badges = ("subscriber",)
        else:
            badges = ()
        crowd.append(Viewer(str(200001 + index), name, badges))
    return crowd


class ChatWriter:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[tuple[float, Viewer, str]] = []

    def say(self, at: float, viewer: Viewer, text: str) -> None:
        self.lines.append((round(at, 3), viewer, text))

    def chatter(
        self,
        start: float,
        end: float,
        rate: Callable[[float], float],
        crowd: list[Viewer],
        pool: list[str],
    ) -> None:
        """Messages from random viewers at `rate(t)` per second (Poisson, by thinning)."""
        peak = max(rate(start), rate(end))
        at = start + self.rng.expovariate(peak)
        while at < end:
            if self.rng.random() < rate(at) / peak:
                self.say(at, self.rng.choice(crowd), self.rng.choice(pool))
            at += self.rng.expovariate(peak)

    def burst(self, moment: float, crowd: list[Viewer], pool: list[str], chatters: int) -> None:
        """Chat reacting to a moment: most react 5-10 s late, some keep going for a while."""
        for viewer in self.rng.sample(crowd, chatters):
            first = moment + self.rng.uniform(4.5, 10.0)
            self.say(first, viewer, self.rng.choice(pool))
            if self.rng.random() < 0.5:
                self.say(first + self.rng.uniform(1.0, 6.0), viewer, self.rng.choice(pool))


def build(seed: int = SEED) -> list[dict[str, object]]:
    rng = random.Random(seed)
    crowd = viewers(rng)
    mods = [v for v in crowd if "moderator" in v.badges]
    vips = [v for v in crowd if "vip" in v.badges]
    subs = [v for v in crowd if v.badges == ("subscriber",)]
    plain = [v for v in crowd if not v.badges]
    chat = ChatWriter(rng)
    # a quiet channel that slowly doubles its chat rate between 500 s and 700 s
    chat.chatter(0.0, 500.0, lambda at: 0.4, crowd, CASUAL)
    busier = lambda at: 0.4 + 0.4 * min(1.0, (at - 500.0) / 200.0)  # noqa: E731
    chat.chatter(500.0, LENGTH_SECONDS, busier, crowd, CASUAL)
    # one spammer: emotes, "clip it" and copypasta, about every 0.7 s for 80 s
    spammer = Viewer("299999", "copypasta_kev", ())
    at = 150.0
    while at < 230.0:
        chat.say(at, spammer, rng.choice(SPAM))
        at += rng.uniform(0.5, 0.9)
    # three genuine moments
    chat.burst(MOMENTS["clutch"], crowd, CLUTCH, chatters=30)
    chat.burst(MOMENTS["fail"], crowd, FAIL, chatters=24)
    chat.burst(MOMENTS["comeback"], crowd, COMEBACK, chatters=34)
    # !clip requests: accepted, global cooldown, no role, accepted, user cooldown, bare
    chat.say(272.4, mods[0], "!clip insane 1v3 clutch")
    chat.say(274.9, subs[0], "!clip")
    chat.say(277.2, plain[0], "!clip pls")
    chat.say(712.8, vips[0], "!clip what a comeback")
    chat.say(760.3, vips[0], "!clip again pls")
    chat.say(380.5, plain[1], "!clipboard is not a command")
    chat.lines.sort(key=lambda item: item[0])
    return [
        {
            "ts": (START + timedelta(seconds=at))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "user_id": viewer.user_id,
            "user": viewer.user,
            "text": text,
            "badges": list(viewer.badges),
            "broadcaster_id": BROADCASTER_ID,
        }
        for at, viewer, text in chat.lines
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbot.demo_log", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    lines = build(args.seed)
    with args.out.open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} chat lines to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
