"""`!approve [code] [title]` and `!reject [code] [reason]` in chat, and what the bot says; pure.

Parsing and the role check run on the chat loop with no I/O: a chatter the control plane does
not allow to decide (the broadcaster always may; moderators by default, `approval.chat_roles`)
gets one short refusal, at most once per `approval.chat_refusal_cooldown_seconds`, and
nothing else happens. An allowed command becomes a `DecisionRequest` that a worker carries
out off the chat loop (`chatbot.decisions`), through the app's own approval.

A first word that reads as a code (`K7`, `k7m`) is the code; otherwise the whole rest is the
title (or the reason), and the command means the newest pending candidate. Every line the bot
says here is one message; what chat typed is cleaned before it is repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chatbot.chat_line import ChatLine
from chatbot.titles import chat_title
from shared.domain.approval_codes import typed_code
from shared.domain.approval_settings import ApprovalSettings
from shared.domain.candidate_status import status_word
from shared.domain.language import DEFAULT_LANGUAGE, ENGLISH, N_, Translate
from shared.domain.text import plain_excerpt, shorten, visible_text
from shared.i18n import translator

Verb = Literal["approve", "reject"]
VERBS: tuple[Verb, ...] = ("approve", "reject")
MAX_CHARS = 280
REASON_CHARS = 200
_ROLE_WORDS = {"moderator": N_("mods"), "vip": N_("VIPs"), "subscriber": N_("subscribers")}
# A candidate's source, named in an announcement when it has no title.
_SOURCE_WORDS = {
    "chat_spike": N_("chat spike"),
    "keyword": N_("keyword"),
    "command": N_("command"),
    "autonomy_goal": N_("autonomy goal"),
    "vision": N_("vision"),
    "manual": N_("manual"),
}
_FORGET_AFTER = 5000  # chatters remembered for the refusal cooldown before old ones are dropped


@dataclass(frozen=True, slots=True)
class ApprovalCommand:
    """What was typed: the verb, the code if one was given, and the rest (title or reason)."""

    verb: Verb
    code: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """An allowed chatter's decision, for the worker: `login` is recorded as who decided,
    `user` (the display name) is who the reply mentions."""

    verb: Verb
    code: str | None
    text: str | None
    login: str
    user: str
    user_id: str
    broadcaster_id: str
    ts: float
    # The channel's language when the command was typed: the replies speak it.
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Gated:
    """A request to carry out, or a reply (the refusal), or neither (already refused)."""

    request: DecisionRequest | None = None
    reply: str | None = None


def parse_approval_command(text: str) -> ApprovalCommand | None:
    """`!approve`, `!approve K7`, `!approve K7 Boss fight`, `!reject k7 not funny`; else None."""
    words = text.strip().split(maxsplit=1)
    if not words or not words[0].startswith("!"):
        return None
    verb = words[0][1:].lower()
    if verb not in VERBS:
        return None
    rest = words[1].strip() if len(words) > 1 else ""
    first, _, after = rest.partition(" ")
    code = typed_code(first) if first else None
    text_part = after.strip() if code is not None else rest
    return ApprovalCommand("approve" if verb == "approve" else "reject", code, text_part or None)


def who_may(settings: ApprovalSettings, t: Translate = ENGLISH) -> str:
    """`the streamer and mods`, `the streamer, mods and VIPs`, `the streamer`."""
    names = [t("the streamer"), *(t(_ROLE_WORDS[role]) for role in settings.chat_roles)]
    if len(names) == 1:
        return names[0]
    return t("{some} and {last}", some=", ".join(names[:-1]), last=names[-1])


def one_line(text: str) -> str:
    return shorten(" ".join(text.split()), MAX_CHARS)


def mention(user: str) -> str:
    return f"@{visible_text(user)}"


class ApprovalGate:
    """Who may decide, and the refusal cooldown. Not thread-safe: fed by the chat loop."""

    def __init__(self) -> None:
        self._refused_at: dict[str, float] = {}

    def handle(
        self,
        line: ChatLine,
        command: ApprovalCommand,
        settings: ApprovalSettings,
        login: str,
        language: str = DEFAULT_LANGUAGE,
    ) -> Gated:
        if settings.may_decide(line.roles):
            text = command.text
            if command.verb == "reject" and text:
                text = plain_excerpt(text, REASON_CHARS) or None
            return Gated(
                DecisionRequest(
                    command.verb,
                    command.code,
                    text,
                    login=login,
                    user=line.user,
                    user_id=line.user_id,
                    broadcaster_id=line.broadcaster_id,
                    ts=line.ts,
                    language=language,
                )
            )
        last = self._refused_at.get(line.user_id)
        if last is not None and line.ts - last < settings.chat_refusal_cooldown_seconds:
            return Gated()
        if len(self._refused_at) >= _FORGET_AFTER:
            horizon = line.ts - settings.chat_refusal_cooldown_seconds
            self._refused_at = {k: v for k, v in self._refused_at.items() if v >= horizon}
        self._refused_at[line.user_id] = line.ts
        return Gated(reply=refused_reply(line.user, settings, language))


def refused_reply(user: str, settings: ApprovalSettings, language: str = DEFAULT_LANGUAGE) -> str:
    t = translator(language)
    return one_line(
        t(
            "{mention} only {who} can approve or reject clips.",
            mention=mention(user),
            who=who_may(settings, t),
        )
    )


def _named(title: str | None) -> str:
    cleaned = chat_title(title)
    return f" “{cleaned}”" if cleaned else ""


def decided_reply(
    user: str, verb: Verb, code: str, title: str | None, language: str = DEFAULT_LANGUAGE
) -> str:
    t = translator(language)
    said = {"mention": mention(user), "code": code, "title": _named(title)}
    if verb == "approve":
        return one_line(t("{mention} approved {code}{title}: the clip is on its way.", **said))
    return one_line(t("{mention} rejected {code}{title}: no clip will be made.", **said))


def already_reply(
    user: str, code: str, status: str, by: str | None, language: str = DEFAULT_LANGUAGE
) -> str:
    """The second decider is told who was first."""
    t = translator(language)
    said = status_word(status, t)
    if by and by != "sweeper":
        return one_line(
            t(
                "{mention} {code} was already {status} by {who}.",
                mention=mention(user),
                code=code,
                status=said,
                who=visible_text(by),
            )
        )
    return one_line(
        t("{mention} {code} was already {status}.", mention=mention(user), code=code, status=said)
    )


def none_pending_reply(user: str, language: str = DEFAULT_LANGUAGE) -> str:
    t = translator(language)
    return one_line(t("{mention} no clip candidate is waiting.", mention=mention(user)))


def unknown_reply(user: str, code: str, language: str = DEFAULT_LANGUAGE) -> str:
    t = translator(language)
    return one_line(
        t("{mention} no clip candidate {code} is waiting.", mention=mention(user), code=code)
    )


def ambiguous_reply(
    user: str, code: str, codes: tuple[str, ...], language: str = DEFAULT_LANGUAGE
) -> str:
    t = translator(language)
    return one_line(
        t(
            "{mention} {code} matches {codes}: type the longer code.",
            mention=mention(user),
            code=code,
            codes=", ".join(codes),
        )
    )


def refused_edit_reply(user: str, code: str, problem: str, language: str = DEFAULT_LANGUAGE) -> str:
    t = translator(language)
    return one_line(
        t(
            "{mention} {code} was not approved: {problem}.",
            mention=mention(user),
            code=code,
            problem=visible_text(problem),
        )
    )


def failed_reply(user: str, code: str | None, language: str = DEFAULT_LANGUAGE) -> str:
    t = translator(language)
    what = code or t("that candidate")
    return one_line(
        t(
            "{mention} {what} could not be decided right now; try the app.",
            mention=mention(user),
            what=what,
        )
    )


def announcement(
    code: str,
    title: str | None,
    source: str,
    settings: ApprovalSettings,
    language: str = DEFAULT_LANGUAGE,
) -> str:
    """`Clip? K7 “Boss one-shots the streamer” — mods: !approve K7`."""
    t = translator(language)
    source_words = t(_SOURCE_WORDS[source]) if source in _SOURCE_WORDS else source
    named = _named(title) or f" ({source_words.replace('_', ' ')})"
    deciders = [t(_ROLE_WORDS[role]) for role in settings.chat_roles] or [t("streamer")]
    return one_line(
        t(
            "Clip? {code}{title} — {deciders}: !approve {code}",
            code=code,
            title=named,
            deciders=", ".join(deciders),
        )
    )
