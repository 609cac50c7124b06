"""Where a chat moment sits in the stream's VOD, for `clip_mode_default = vod` (docs/architecture.md
§3.1).

`vod_offset` is where the clip ends, in seconds from the start of the VOD. The clip is placed
so that three quarters of it lead up to the moment and a quarter follows it, and it never
starts before the VOD does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

AFTER_SHARE = 0.25


@dataclass(frozen=True)
class StreamArchive:
    """The VOD being recorded for the live stream: its id and when it started (Unix s)."""

    vod_id: str
    started_ts: float


def vod_offset(moment_ts: float, archive: StreamArchive, duration: float) -> float | None:
    """Seconds into the VOD where the clip ends; None when the moment is before the VOD."""
    into = moment_ts - archive.started_ts
    if into < 0:
        return None
    end = into + duration * AFTER_SHARE
    return float(max(duration, math.ceil(end * 10) / 10))


class LatestArchive:
    """The archive last seen by whoever looks it up (the bot's background task)."""

    def __init__(self) -> None:
        self._archive: StreamArchive | None = None

    def current(self) -> StreamArchive | None:
        return self._archive

    def set(self, archive: StreamArchive | None) -> None:
        self._archive = archive
