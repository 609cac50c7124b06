"""One chat message as every detector sees it, whether it came from EventSub or a replay log.

Times are Unix seconds (floats) of when Twitch saw the message: detectors run on event time,
never the wall clock, so a replay at any speed and two bot instances reading the same chat
reach the same decisions (and the same dedupe keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

ROLES: tuple[str, ...] = ("broadcaster", "moderator", "vip", "subscriber")

# Twitch badge set ids that grant one of our roles (lead moderators moderate, founders
# were early subscribers); every other badge (turbo, bits, ...) grants nothing.
_BADGE_ROLES: dict[str, str] = {
    "broadcaster": "broadcaster",
    "moderator": "moderator",
    "lead_moderator": "moderator",
    "vip": "vip",
    "subscriber": "subscriber",
    "founder": "subscriber",
}


def roles_from_badges(set_ids: Iterable[str]) -> frozenset[str]:
    """Our roles from Twitch badge set ids (EventSub `badges[].set_id` or a replay's list)."""
    return frozenset(_BADGE_ROLES[b] for b in set_ids if b in _BADGE_ROLES)


@dataclass(frozen=True, slots=True)
class Fragment:
    """One part of a message as EventSub splits it: `kind` is text, emote, cheermote, mention
    or gif. An emote's `owner_id` is the channel that owns it, so the detectors can tell the
    channel's own emotes (its culture) from global ones."""

    kind: str
    text: str
    emote_id: str = ""
    owner_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A chat message in one channel; `roles` is a subset of ROLES. `fragments` is empty when
    the source had none (an old replay log): the text alone is then read. `login` is the
    chatter's Twitch login when the source gave it (`user` is the display name); it is
    recorded as who decided a candidate in chat."""

    ts: float
    broadcaster_id: str
    user_id: str
    user: str
    text: str
    roles: frozenset[str] = frozenset()
    message_id: str = ""
    fragments: tuple[Fragment, ...] = ()
    login: str = ""

    @property
    def privileged(self) -> bool:
        """Broadcaster or moderator: Twitch gives them the higher chat rate limit."""
        return "broadcaster" in self.roles or "moderator" in self.roles


def without_reply_mention(
    text: str, fragments: tuple[Fragment, ...], names: Iterable[str]
) -> tuple[str, tuple[Fragment, ...]]:
    """A reply's text and fragments without the `@name` Twitch puts in front of it.

    Twitch prepends the replied-to chatter's mention to a reply's text (for clients that do not
    show threads; its web chat hides it), so a moderator who answers the bot's announcement with
    the reply button sends `@ByteBot !approve 3`. `names` are that chatter's login and display
    name; any other leading mention is the chatter's own words and stays."""
    wanted = {f"@{name}".casefold() for name in names if name}
    head, _, rest = text.partition(" ")
    if not wanted or head.casefold() not in wanted:
        return text, fragments
    parts = list(fragments)
    if parts and parts[0].kind == "mention" and parts[0].text.casefold() in wanted:
        parts.pop(0)
        if parts and parts[0].kind == "text":
            parts[0] = replace(parts[0], text=parts[0].text.lstrip())
            if not parts[0].text:
                parts.pop(0)
    return rest.lstrip(), tuple(parts)
