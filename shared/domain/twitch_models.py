"""Twitch's data as Byte Clips uses it: what the Helix client returns, what the stores keep.

Pure: no I/O. The HTTP client (`shared.twitch.helix_clips`) fills these; the token store keeps
`TokenGrant`s; nothing here talks to Twitch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = [
    "Clip",
    "ClipDownload",
    "ClipPage",
    "CreatedClip",
    "Stream",
    "TokenGrant",
    "TokenInfo",
    "TokenSource",
    "Video",
    "video_duration_seconds",
]

_VIDEO_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class TokenSource(Protocol):
    """Where a call gets its user or app access token, and its one refresh after a 401."""

    def access_token(self) -> str:
        """The token to use now."""
        ...

    def refreshed_access_token(self, rejected: str) -> str:
        """A new token after Twitch refused `rejected`; called at most once per call.

        Raise (e.g. ClipUnauthorized) when no refresh is possible; the error reaches the caller.
        """
        ...


@dataclass(frozen=True)
class CreatedClip:
    """Create Clip's 202: the clip id and the edit link (valid up to 24 h)."""

    id: str
    edit_url: str


@dataclass(frozen=True)
class Clip:
    """A clip as Get Clips returns it; only `id`, `url` and `broadcaster_id` are required."""

    id: str
    url: str
    broadcaster_id: str
    embed_url: str = ""
    broadcaster_name: str = ""
    creator_id: str = ""
    creator_name: str = ""
    video_id: str = ""
    game_id: str = ""
    language: str = ""
    title: str = ""
    view_count: int = 0
    created_at: datetime | None = None
    thumbnail_url: str = ""
    duration: float | None = None
    vod_offset: int | None = None
    is_featured: bool = False


@dataclass(frozen=True)
class ClipPage:
    """One page of a channel's clips; `cursor` is None on the last page."""

    clips: list[Clip]
    cursor: str | None


@dataclass(frozen=True)
class ClipDownload:
    """Download links of one clip; either may be None until Twitch has rendered it."""

    clip_id: str
    landscape_download_url: str | None = None
    portrait_download_url: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What `/oauth2/validate` says about a token; app tokens have no login or user id."""

    client_id: str
    login: str | None
    scopes: tuple[str, ...]
    user_id: str | None
    expires_in: int


@dataclass(frozen=True)
class TokenGrant:
    """A new token pair; store the new refresh token, the old one may be spent."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Stream:
    """A live broadcast as Get Streams lists it; a channel that is offline has none."""

    id: str
    user_id: str
    type: str
    started_at: datetime


@dataclass(frozen=True)
class Video:
    """A video as Get Videos lists it; an archive's `stream_id` names the broadcast it records
    (null for other videos), and the archive of a broadcast in progress keeps growing."""

    id: str
    user_id: str
    type: str
    created_at: datetime
    duration: str = ""
    stream_id: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        return video_duration_seconds(self.duration)


def video_duration_seconds(text: str) -> float | None:
    """Twitch's video duration, like `3h8m33s`, in seconds; None when it is not that shape."""
    match = _VIDEO_DURATION.fullmatch(text.strip()) if text else None
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)
