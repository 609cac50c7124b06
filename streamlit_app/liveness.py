"""When a live page redraws: only when what it was drawn from changed. Pure.

A page records what it drew from (`Drawn`: a marker, such as its listeners' versions, and
when); its ticker fragment asks `needs_redraw` several times a second, which costs nothing,
and reruns the page only on a yes.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

# A page whose live view is unavailable (an outage) is drawn again after this long.
RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class Drawn:
    """What a live page last drew from (`marker`, None when it could not tell) and when
    (`at`, a monotonic clock)."""

    marker: Hashable | None
    at: float


def needs_redraw(
    last: Drawn, current: Hashable | None, now: float, *, refresh_after: float | None = None
) -> bool:
    """Yes when `current` moved on from what was drawn, when the drawing is older than
    `refresh_after` (a page with clocks on it), or every RETRY_SECONDS while either side is
    unknown (the data was unavailable)."""
    age = now - last.at
    if last.marker is None or current is None:
        return age > RETRY_SECONDS
    return current != last.marker or (refresh_after is not None and age > refresh_after)
