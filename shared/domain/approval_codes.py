"""Short codes a moderator types in chat (`!approve K7`) for pending candidates; pure.

Each action id has a fixed four-character code (letter, digit, letter, digit) derived from its
hash, so every reader (the chat bot, the app, a second bot instance) computes the same code
without storing or coordinating anything. What is SHOWN is the shortest prefix of at least two
characters that no other pending candidate of the same channel shares: usually `K7`, `K7M`
when two pending candidates both start with `K7`. A typed code matches every candidate whose
full code starts with it, so an announced `K7` stays valid until it would be ambiguous, and
ambiguity is answered with the longer codes, never guessed.

The alphabet leaves out what is misread or mistyped in chat: I, L, O, 0 and 1.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ"
DIGITS = "23456789"
FULL_LENGTH = 4
MIN_LENGTH = 2
_TYPED = re.compile(
    rf"^[{LETTERS}]([{DIGITS}]([{LETTERS}]([{DIGITS}])?)?)?$",
)


def full_code(action_id: str) -> str:
    """The action's four-character code: letter, digit, letter, digit, from its hash."""
    number = int.from_bytes(hashlib.sha256(action_id.encode("utf-8")).digest()[:8], "big")
    chars = []
    for index in range(FULL_LENGTH):
        alphabet = LETTERS if index % 2 == 0 else DIGITS
        number, rest = divmod(number, len(alphabet))
        chars.append(alphabet[rest])
    return "".join(chars)


def typed_code(token: str) -> str | None:
    """A word from chat as a code (`k7` -> `K7`), or None when it cannot be one."""
    text = token.strip().upper()
    if len(text) < MIN_LENGTH or not _TYPED.match(text):
        return None
    return text


def shown_codes(action_ids: Iterable[str]) -> dict[str, str]:
    """The code to show for each action among these (one channel's pending candidates):
    the shortest prefix, at least two characters, no other of them shares."""
    full = {action_id: full_code(action_id) for action_id in action_ids}
    shown = {}
    for action_id, code in full.items():
        others = [other for key, other in full.items() if key != action_id]
        length = MIN_LENGTH
        while length < FULL_LENGTH and any(o.startswith(code[:length]) for o in others):
            length += 1
        shown[action_id] = code[:length]
    return shown


@dataclass(frozen=True)
class Coded:
    """What resolving a code needs of one candidate: its id, when it was queued, and for a
    decided one its status and who decided it."""

    action_id: str
    created_at: datetime
    status: str = "pending_approval"
    decided_by: str | None = None


@dataclass(frozen=True)
class Resolution:
    """`found`: act on `action_id`. `decided`: the code names a candidate someone already
    decided (`status`, `decided_by`). `ambiguous`: `codes` lists the longer codes to type.
    `none_pending`: no code given and nothing pending. `unknown`: no candidate has this code."""

    outcome: Literal["found", "decided", "ambiguous", "none_pending", "unknown"]
    code: str | None = None
    action_id: str | None = None
    status: str | None = None
    decided_by: str | None = None
    codes: tuple[str, ...] = ()


def resolve(
    code: str | None, pending: Sequence[Coded], recently_decided: Sequence[Coded] = ()
) -> Resolution:
    """Which candidate `code` means: with no code, the newest pending one.

    Both lists are one channel's. A code matching one pending candidate and also a candidate
    decided moments ago is ambiguous: the moderator may mean the one already decided.
    """
    if code is None:
        if not pending:
            return Resolution("none_pending")
        newest = max(pending, key=lambda item: (item.created_at, item.action_id))
        shown = shown_codes(item.action_id for item in pending)[newest.action_id]
        return Resolution("found", shown, newest.action_id)
    waiting = [item for item in pending if full_code(item.action_id).startswith(code)]
    done = [item for item in recently_decided if full_code(item.action_id).startswith(code)]
    if len(waiting) == 1 and not done:
        return Resolution("found", code, waiting[0].action_id)
    if not waiting and len(done) == 1:
        item = done[0]
        return Resolution("decided", code, item.action_id, item.status, item.decided_by)
    if not waiting and not done:
        return Resolution("unknown", code)
    everyone = [*waiting, *done]
    codes = shown_codes(item.action_id for item in everyone)
    return Resolution("ambiguous", code, codes=tuple(sorted(codes.values())))
