"""What a detector reports: a moment worth clipping, before it becomes a candidate."""

from __future__ import annotations

from dataclasses import dataclass, replace

from chatbot.chat_line import ChatLine

REACTION_SOURCES = frozenset({"chat_spike", "keyword"})
CHAT_SOURCES = frozenset({"chat_spike", "keyword", "command", "autonomy_goal"})


@dataclass(frozen=True, slots=True)
class Detection:
    """A moment in one channel.

    `moment_ts` is when it happened (chat's reaction lag already taken off), `detected_ts`
    when chat made it visible. `window` holds recent chat for the LLM goal; `requested_by`
    names who typed `!clip`. `moment_key` names the moment within its channel; a request
    inside a moment that is already a candidate carries that key in `merge_into`, and joins
    that candidate instead of becoming a second one.
    """

    source: str
    broadcaster_id: str
    moment_ts: float
    detected_ts: float
    score: float
    title: str | None
    excerpt: str
    requested_by: str | None = None
    window: tuple[ChatLine, ...] = ()
    moment_key: str = ""
    merge_into: str | None = None

    def retitled(self, *, source: str, title: str, excerpt: str, score: float) -> Detection:
        return replace(self, source=source, title=title, excerpt=excerpt, score=score)
