"""Text helpers with no I/O: cleaning `!clip` titles, heuristic titles, context excerpts.

Titles are capped at 100 characters (SPEC 3.1) and excerpts kept short so the operator reads
them at a glance; both are cut on a word boundary when one is near.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

from chatbot.chat_line import ChatLine
from shared.domain.clip_candidate import MAX_TITLE_CHARS

EXCERPT_CHARS = 300
EXCERPT_LINES = 6
_STRIP = "!?.,:;()[]{}\"'`~*"


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space when one is in the last fifth, with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" " + _STRIP) + "…"


def clean_title(raw: str | None) -> str | None:
    """A chatter's title made safe to show: printable, one line, trimmed, at most 100 chars."""
    if not raw:
        return None
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = " ".join(text.split()).lstrip("/.!")
    text = text.strip()
    return shorten(text, MAX_TITLE_CHARS) or None


def excerpt(lines: Sequence[ChatLine], *, limit: int = EXCERPT_CHARS) -> str:
    """The last few messages, one per chatter, as `user: text | user: text`."""
    picked: list[ChatLine] = []
    seen: set[str] = set()
    for line in reversed(lines):
        if line.user_id in seen:
            continue
        seen.add(line.user_id)
        picked.append(line)
        if len(picked) == EXCERPT_LINES:
            break
    parts = [f"{line.user}: {' '.join(line.text.split())[:80]}" for line in reversed(picked)]
    return shorten(" | ".join(parts), limit)


def top_token(lines: Sequence[ChatLine], *, min_share: float = 0.3) -> str | None:
    """The token most chatters used (as they spelled it), if enough of them used it."""
    users_by_token: dict[str, set[str]] = {}
    spelling: dict[str, Counter[str]] = {}
    for line in lines:
        if line.text.lstrip().startswith("!"):
            continue
        for raw in set(line.text.split()):
            token = raw.strip(_STRIP)
            if len(token) < 2 or not any(ch.isalpha() for ch in token):
                continue
            key = token.casefold()
            users_by_token.setdefault(key, set()).add(line.user_id)
            spelling.setdefault(key, Counter())[token] += 1
    chatters = len({line.user_id for line in lines})
    if not users_by_token or not chatters:
        return None
    key, users = max(users_by_token.items(), key=lambda item: (len(item[1]), item[0]))
    if len(users) < 2 or len(users) / chatters < min_share:
        return None
    return spelling[key].most_common(1)[0][0]


def spike_title(lines: Sequence[ChatLine]) -> str:
    """A heuristic title for a spike, used when the LLM goal is off or fails."""
    token = top_token(lines)
    return f"Chat erupts: {token}" if token else "Chat erupts"


def keyword_title(keyword: str) -> str:
    return f"{keyword} moment"


def command_title(user: str) -> str:
    return f"Clip requested by {user}"
