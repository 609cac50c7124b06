"""Whether a live clip made now can still contain its moment (SPEC 4, 5).

Create Clip captures about 85 s before the call and 5 s after, and publishes the last
`duration` seconds unless someone edits it. So a moment older than ~85 s cannot be clipped
live at all, and one older than the published window needs the edit link to be moved in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

CAPTURE_BEFORE_SECONDS = 85.0
CAPTURE_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class LiveTiming:
    """`clippable`: a live clip can contain the moment; `note`: what the operator should know."""

    age_seconds: float
    clippable: bool
    in_published_window: bool
    note: str


def live_timing(source_ts: datetime | None, now: datetime, duration: float) -> LiveTiming:
    if source_ts is None:
        return LiveTiming(0.0, True, True, "")
    age = max((now - source_ts).total_seconds(), 0.0)
    if age > CAPTURE_BEFORE_SECONDS:
        return LiveTiming(
            age,
            False,
            False,
            f"The moment is {age:.0f} s old: a live clip only reaches about "
            f"{CAPTURE_BEFORE_SECONDS:.0f} s back. Clip it from the VOD instead.",
        )
    published_from = duration - CAPTURE_AFTER_SECONDS
    if age > published_from:
        return LiveTiming(
            age,
            True,
            False,
            f"The moment is {age:.0f} s old, before the last {duration:g} s that Twitch "
            "publishes: open the edit link and move the clip onto the moment.",
        )
    return LiveTiming(age, True, True, "")
