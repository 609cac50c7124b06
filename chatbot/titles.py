"""Chat-side titles and excerpts, no I/O: `!clip` and LLM titles, heuristic titles, excerpts.

Everything here is chat (or the LLM, which reads chat), so it all goes through the cleaning in
`shared.domain.text`: links defanged, markup broken, invisible characters out, and shortened
rather than refused, since a chatter cannot fix their message. Excerpts are kept short so the
operator reads them at a glance; both are cut on a word boundary when one is near.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from chatbot.chat_line import ChatLine
from chatbot.detectors.reactions import is_reaction_token
from shared.domain.text import clean_text, fit_title, plain_excerpt, shorten, visible_text

__all__ = [
    "chat_title",
    "command_title",
    "excerpt",
    "keyword_title",
    "moment_title",
    "shorten",
    "spike_title",
    "top_token",
]

EXCERPT_CHARS = 300
EXCERPT_LINES = 6
LINE_CHARS = 80
_STRIP = "!?.,:;()[]{}\"'`~*"
_COMMAND_MARKS = "/.!"


def chat_title(raw: str | None) -> str | None:
    """A title typed in chat or written by the LLM: cleaned, at most 100 characters, and never
    starting like a chat command (`/ban`, `!clip`, `.me`) when the bot repeats it."""
    title = fit_title(raw)
    while title and title[0] in _COMMAND_MARKS:
        title = fit_title(title.lstrip(_COMMAND_MARKS))
    return title


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
    parts = [
        f"{visible_text(line.user)}: {clean_text(line.text)[:LINE_CHARS]}"
        for line in reversed(picked)
    ]
    return plain_excerpt(" | ".join(parts), limit)


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
    """A heuristic title for a spike, used when the LLM goal is off or fails. The token is a
    chatter's word, so the title is cleaned like one."""
    token = top_token(lines)
    return (fit_title(f"Chat erupts: {token}") if token else None) or "Chat erupts"


def keyword_title(keyword: str) -> str:
    return fit_title(f"{keyword} moment") or "Keyword moment"


def command_title(user: str) -> str:
    return fit_title(f"Clip requested by {user}") or "Clip requested in chat"


def top_phrase(
    lines: Sequence[ChatLine],
    *,
    skip: str | None = None,
    max_words: int = 6,
    min_chatters: int = 2,
) -> str | None:
    """The short message most chatters typed (as most typed it), if `min_chatters` did."""
    users_by_phrase: dict[str, set[str]] = {}
    spelling: dict[str, Counter[str]] = {}
    skipped = skip.casefold() if skip else None
    for line in lines:
        text = " ".join(line.text.split())
        if not text or text.startswith("!") or len(text.split()) > max_words:
            continue
        key = " ".join(w.strip(_STRIP) for w in text.casefold().split()).strip()
        if not key or key == skipped or not any(ch.isalnum() for ch in key):
            continue
        users_by_phrase.setdefault(key, set()).add(line.user_id)
        spelling.setdefault(key, Counter())[text] += 1
    if not users_by_phrase:
        return None
    key, users = max(users_by_phrase.items(), key=lambda item: (len(item[1]), item[0]))
    if len(users) < min_chatters:
        return None
    return spelling[key].most_common(1)[0][0]


def moment_title(lines: Sequence[ChatLine], keywords: dict[str, float]) -> str:
    """A heuristic title from the moment itself, for when no LLM writes one: its most shared
    emote or reaction ("KEKW moment", with the phrase chat repeated), else its most shared
    word or phrase ("Chat erupts: no shot"), else what one chatter said. Chatters' words, so
    cleaned like them; never one constant."""
    usable = [line for line in lines if not line.text.lstrip().startswith("!")]
    token = top_token(usable)
    phrase = top_phrase(usable)
    if token and phrase and token.casefold() in phrase.casefold().split() and " " in phrase:
        # the word is part of what chat repeated: say the phrase ("no shot bro"), not "shot"
        if is_reaction_token(token, keywords) and not is_reaction_token(phrase, keywords):
            return fit_title(f"{token} moment: “{phrase}”") or keyword_title(token)
        return fit_title(f"Chat erupts: “{phrase}”") or spike_title(usable)
    if token and is_reaction_token(token, keywords):
        said = top_phrase(usable, skip=token, min_chatters=3)
        worded = said if said and " " in said else None  # a phrase adds context, a word not
        titled = fit_title(f"{token} moment: “{worded}”") if worded else None
        return titled or keyword_title(token)
    if token:
        return spike_title(usable)
    if phrase and is_reaction_token(phrase, keywords) and " " not in phrase:
        return keyword_title(phrase)
    if phrase:
        return fit_title(f"Chat erupts: “{phrase}”") or spike_title(usable)
    said = next((line.text for line in reversed(usable) if line.text.strip()), None)
    return (
        fit_title(f"Chat reacts: “{shorten(' '.join(said.split()), 60)}”") if said else None
    ) or (spike_title(usable))
