"""What the bot says in chat: one message, at most 4 lines (SPEC: short, never a flood).

Twitch shows a chat message as one paragraph; in the default chat column about 70 characters
make a line, so "at most 4 lines" is enforced as at most 4 parts and 280 characters (well
inside Twitch's 500-character limit for Send Chat Message).

Chat links URLs (even bare `evil.com`), so nothing a chatter or the LLM wrote is repeated
uncleaned: the only link the bot ever posts is a clip's own URL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chatbot.detectors.clip_command import CommandResult
from chatbot.titles import chat_title
from shared.domain.chat_settings import ChatSettings
from shared.domain.text import shorten, visible_text

MAX_PARTS = 4
MAX_REPLY_CHARS = 280
_ROLE_WORDS = {"moderator": "mods", "vip": "VIPs", "subscriber": "subscribers"}


def compose(parts: Sequence[str]) -> str:
    """Join up to four non-empty parts into one message of at most 280 characters."""
    kept = [" ".join(p.split()) for p in parts if p and p.strip()][:MAX_PARTS]
    text = " · ".join(kept)
    return shorten(text, MAX_REPLY_CHARS)


def _seconds(value: float) -> str:
    return f"{max(1, math.ceil(value))} s"


def _who_may(settings: ChatSettings) -> str:
    names = [_ROLE_WORDS[r] for r in settings.clip_command_roles if r in _ROLE_WORDS]
    if not names:
        return "the broadcaster"
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def command_reply(user: str, result: CommandResult, settings: ChatSettings) -> str | None:
    """The answer to a `!clip`, or None when the chatter was already told."""
    if not result.notify:
        return None
    mention = f"@{visible_text(user)}"
    if result.status == "accepted":
        title = chat_title(result.title) or "this moment"
        return compose([f"{mention} clip request sent to the streamer: “{title}”"])
    if result.status == "paused":
        return compose([f"{mention} clipping is paused right now, nothing was queued."])
    if result.status == "cooldown_user":
        return compose(
            [f"{mention} you just asked for a clip; try again in {_seconds(result.retry_after)}."]
        )
    if result.status == "cooldown_global":
        return compose(
            [f"{mention} a clip was just requested; try again in {_seconds(result.retry_after)}."]
        )
    command = f"!{settings.clip_command}"
    return compose([f"{mention} {command} is open to {_who_may(settings)}."])


def ready_reply(title: str | None, url: str) -> str:
    """A clip from this chat is published: its public link, once, and no other link."""
    cleaned = chat_title(title)
    named = f"“{cleaned}”" if cleaned else "this moment"
    return compose([f"Clip ready: {named}", url])
