"""Which Twitch scopes each clipping feature needs (docs/architecture.md §6.1), and what a token
lacks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LIVE_CLIP = "clips:edit"
CLIP_MANAGE = ("editor:manage:clips", "channel:manage:clips")  # either one is enough
CHAT_BOT = ("user:read:chat", "user:write:chat", "user:bot")
CHANNEL_BOT = "channel:bot"

# What the Connect Twitch flow asks the broadcaster (or editor) for; `channel:bot` lets the
# chat bot's replies carry Twitch's Chat Bot badge in this channel.
CONNECT_SCOPES: tuple[str, ...] = (LIVE_CLIP, *CLIP_MANAGE, CHANNEL_BOT)


@dataclass(frozen=True)
class ScopeReport:
    """What a token can do for clipping, and what to add to do the rest."""

    live_clips: bool
    vod_clips: bool
    downloads: bool
    missing: tuple[str, ...]

    @property
    def clipping_ok(self) -> bool:
        return self.live_clips and self.vod_clips and self.downloads


def scope_report(scopes: Iterable[str]) -> ScopeReport:
    have = set(scopes)
    manage = any(scope in have for scope in CLIP_MANAGE)
    missing: list[str] = []
    if LIVE_CLIP not in have:
        missing.append(LIVE_CLIP)
    if not manage:
        missing.append(" or ".join(CLIP_MANAGE))
    return ScopeReport(
        live_clips=LIVE_CLIP in have, vod_clips=manage, downloads=manage, missing=tuple(missing)
    )


def scopes_for(mode: str) -> tuple[str, ...]:
    """The scopes one create call needs: any one of the returned set."""
    return (LIVE_CLIP,) if mode == "live" else CLIP_MANAGE
