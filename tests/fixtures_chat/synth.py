"""Synthetic chat for detector tests: quiet chatter, genuine bursts, a spammer, commands."""

from __future__ import annotations

import random
from collections.abc import Iterable

from chatbot.chat_line import ChatLine

CHANNEL = "12345"
T0 = 1_795_550_400.0  # 2026-11-24T20:00:00Z

CALM = ["hi", "gg", "nice", "what game is this", "o7", "true", "how long is stream", "cool"]
HYPE = ["POG", "NO WAY", "what", "HOLY", "insane", "PogChamp", "clip it", "omg"]


def line(at: float, user: int | str, text: str, *roles: str) -> ChatLine:
    """A message `at` seconds after T0 from viewer `user`."""
    uid = str(user)
    return ChatLine(
        ts=T0 + at,
        broadcaster_id=CHANNEL,
        user_id=uid,
        user=f"viewer{uid}",
        text=text,
        roles=frozenset(roles),
    )


def quiet(start: float, end: float, *, rate: float = 0.4, seed: int = 1) -> list[ChatLine]:
    """Poisson chatter at `rate` messages a second from 40 viewers."""
    rng = random.Random(seed)
    out, at = [], start + rng.expovariate(rate)
    while at < end:
        out.append(line(at, 1000 + rng.randrange(40), rng.choice(CALM)))
        at += rng.expovariate(rate)
    return out


def burst(
    at: float, *, chatters: int = 25, spread: float = 6.0, seed: int = 2, words=HYPE
) -> list[ChatLine]:
    """Many distinct chatters reacting within `spread` seconds after `at`."""
    rng = random.Random(seed)
    return [line(at + rng.uniform(0, spread), 5000 + i, rng.choice(words)) for i in range(chatters)]


def spam(start: float, end: float, *, every: float = 0.3, text: str = "KEKW KEKW CLIP IT"):
    """One chatter flooding the channel."""
    out, at = [], start
    while at < end:
        out.append(line(at, 9999, text))
        at += every
    return out


def merged(*streams: Iterable[ChatLine]) -> list[ChatLine]:
    return sorted((x for s in streams for x in s), key=lambda x: x.ts)
