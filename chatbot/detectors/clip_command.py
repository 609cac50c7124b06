"""`!clip [title]`: who may use it, the per-user and global cooldowns, the cleaned title.

The title is a chatter's text: `chat_title` defangs links and drops markup and invisible
characters before it is queued, repeated in chat or sent to Twitch.

Pure code rather than twitchio's `commands.cooldown` and guards, on purpose: those read the
wall clock and are fixed when the command is decorated, while here the rules must change live
from the control plane and a replay at any speed must get the same answers, so every check
runs on the message's own time. Refusals are told once per chatter per cooldown, so a chatter
hammering `!clip` cannot make the bot spam the channel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from chatbot.chat_line import ChatLine
from chatbot.detection import Detection
from chatbot.titles import chat_title, command_title, excerpt
from shared.domain.chat_settings import ChatSettings
from shared.domain.language import DEFAULT_LANGUAGE

Status = Literal["accepted", "paused", "cooldown_user", "cooldown_global", "forbidden"]
FORBIDDEN_NOTICE_SECONDS = 60.0
_PRUNE_AT = 5000
# Other names of a command in a channel's language: a Brazilian chat types `!clipa` ("clip
# it") as readily as `!clip`.
ALIASES: dict[tuple[str, str], tuple[str, ...]] = {("pt-BR", "clip"): ("clipa",)}


def parse_clip_command(text: str, name: str, language: str = DEFAULT_LANGUAGE) -> str | None:
    """The text after `!<name>` or one of its aliases in `language` ('' when bare), or None
    when the message is not the command."""
    stripped = text.lstrip()
    if not stripped.startswith("!"):
        return None
    parts = stripped[1:].split(maxsplit=1)
    names = (name, *ALIASES.get((language, name), ()))
    if not parts or parts[0].casefold() not in names:
        return None
    return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What `!clip` did; `notify` is False when the chatter was already told."""

    status: Status
    title: str | None = None
    retry_after: float = 0.0
    notify: bool = True
    detection: Detection | None = None


def _score(roles: frozenset[str]) -> float:
    """A person asked: confident, more so when a moderator or the broadcaster asks."""
    if "broadcaster" in roles or "moderator" in roles:
        return 0.9
    if "vip" in roles:
        return 0.8
    return 0.7


class ClipCommandGate:
    """One channel's `!clip` state: last accepted request per chatter and overall."""

    __slots__ = ("_global_last", "_noticed", "_user_last")

    def __init__(self) -> None:
        self._user_last: dict[str, float] = {}
        self._noticed: dict[str, float] = {}
        self._global_last = -math.inf

    def handle(
        self,
        line: ChatLine,
        argument: str,
        settings: ChatSettings,
        *,
        pipeline_enabled: bool,
        recent: Sequence[ChatLine],
    ) -> CommandResult:
        ts = line.ts
        title = chat_title(argument)
        if not settings.allows(line.roles):
            return self._refuse(line, "forbidden", title, FORBIDDEN_NOTICE_SECONDS)
        if not pipeline_enabled:
            return self._refuse(line, "paused", title, 0.0)
        user_wait = self._user_last.get(line.user_id, -math.inf) + (
            settings.clip_user_cooldown_seconds - ts
        )
        global_wait = self._global_last + settings.clip_global_cooldown_seconds - ts
        if user_wait > 0 and user_wait >= global_wait:
            return self._refuse(line, "cooldown_user", title, user_wait)
        if global_wait > 0:
            return self._refuse(line, "cooldown_global", title, global_wait)
        self._user_last[line.user_id] = ts
        self._global_last = ts
        self._noticed.pop(line.user_id, None)
        if len(self._user_last) > _PRUNE_AT:
            horizon = ts - settings.clip_user_cooldown_seconds
            self._user_last = {u: t for u, t in self._user_last.items() if t > horizon}
        detection = Detection(
            source="command",
            broadcaster_id=line.broadcaster_id,
            moment_ts=ts - settings.reaction_lag_seconds,
            detected_ts=ts,
            score=_score(line.roles),
            title=title or command_title(line.user),
            excerpt=excerpt(recent),
            requested_by=line.user,
        )
        return CommandResult("accepted", detection.title, detection=detection)

    def _refuse(
        self, line: ChatLine, status: Status, title: str | None, wait: float
    ) -> CommandResult:
        """Tell the chatter once; stay quiet while the same refusal still holds."""
        ts = line.ts
        notify = self._noticed.get(line.user_id, -math.inf) <= ts
        if notify:
            self._noticed[line.user_id] = ts + max(wait, 10.0)
            if len(self._noticed) > _PRUNE_AT:
                self._noticed = {u: t for u, t in self._noticed.items() if t > ts}
        return CommandResult(status, title, retry_after=max(wait, 0.0), notify=notify)
