"""What the bot says in chat: one message, at most 4 lines (short, never a flood).

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
from shared.domain.language import DEFAULT_LANGUAGE, N_, Translate
from shared.domain.text import shorten, visible_text
from shared.i18n import translator

MAX_PARTS = 4
MAX_REPLY_CHARS = 280
_ROLE_WORDS = {"moderator": N_("mods"), "vip": N_("VIPs"), "subscriber": N_("subscribers")}


def compose(parts: Sequence[str]) -> str:
    """Join up to four non-empty parts into one message of at most 280 characters."""
    kept = [" ".join(p.split()) for p in parts if p and p.strip()][:MAX_PARTS]
    text = " · ".join(kept)
    return shorten(text, MAX_REPLY_CHARS)


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


def listing(names: Sequence[str], t: Translate) -> str:
    """`mods`, `mods and VIPs`, `mods, VIPs and subscribers`, in the language of `t`."""
    if len(names) < 2:
        return "".join(names)
    return t("{some} and {last}", some=", ".join(names[:-1]), last=names[-1])


def _who_may(settings: ChatSettings, t: Translate) -> str:
    names = [t(_ROLE_WORDS[r]) for r in settings.clip_command_roles if r in _ROLE_WORDS]
    return listing(names, t) if names else t("the broadcaster")


def command_reply(
    user: str, result: CommandResult, settings: ChatSettings, language: str = DEFAULT_LANGUAGE
) -> str | None:
    """The answer to a `!clip`, or None when the chatter was already told; in the channel's
    language (the control plane's `language`)."""
    if not result.notify:
        return None
    t = translator(language)
    mention = f"@{visible_text(user)}"
    if result.status == "accepted":
        title = chat_title(result.title) or t("this moment")
        return compose(
            [
                t(
                    "{mention} clip request sent to the streamer: “{title}”",
                    mention=mention,
                    title=title,
                )
            ]
        )
    if result.status == "paused":
        return compose(
            [t("{mention} clipping is paused right now, nothing was queued.", mention=mention)]
        )
    if result.status == "cooldown_user":
        return compose(
            [
                t(
                    "{mention} you just asked for a clip; try again in {seconds} s.",
                    mention=mention,
                    seconds=_seconds(result.retry_after),
                )
            ]
        )
    if result.status == "cooldown_global":
        return compose(
            [
                t(
                    "{mention} a clip was just requested; try again in {seconds} s.",
                    mention=mention,
                    seconds=_seconds(result.retry_after),
                )
            ]
        )
    command = f"!{settings.clip_command}"
    return compose(
        [
            t(
                "{mention} {command} is open to {who}.",
                mention=mention,
                command=command,
                who=_who_may(settings, t),
            )
        ]
    )


def ready_reply(title: str | None, url: str, language: str = DEFAULT_LANGUAGE) -> str:
    """A clip from this chat is published: its public link, once, and no other link."""
    t = translator(language)
    cleaned = chat_title(title)
    named = f"“{cleaned}”" if cleaned else t("this moment")
    return compose([t("Clip ready: {title}", title=named), url])
