"""Client-side pacing for Helix, so the client slows down before Twitch has to answer 429.

Pure: no I/O and no sleeping. Each limiter only says how many seconds the caller must wait
before its next call (and counts that call); the caller does the sleeping. The clock is
injected (Unix seconds, like `Ratelimit-Reset`) so tests move time instead of waiting.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from shared.domain.retry_policy import rate_limit_reset
from shared.domain.sliding_window import SlidingWindow

Clock = Callable[[], float]


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            try:
                return int(value.strip())
            except (ValueError, AttributeError):
                return None
    return None


class HelixBucket:
    """Twitch's per-token point bucket as last reported by `Ratelimit-*` response headers.

    Twitch refills the bucket to `Ratelimit-Limit` by `Ratelimit-Reset`. While plenty of points
    remain, calls go at once. Once `Ratelimit-Remaining` is at or below the low-water mark
    (`low_water_fraction` of the limit, at least 1 point), the points left are spread evenly
    until the reset; at 0, the next call waits for the reset. Calls counted here but not yet
    answered are not known to Twitch, so the latest headers always win over local counting.
    """

    def __init__(self, clock: Clock = time.time, *, low_water_fraction: float = 0.1) -> None:
        if not 0.0 <= low_water_fraction < 1.0:
            raise ValueError("low_water_fraction must be in [0, 1)")
        self._clock = clock
        self._fraction = low_water_fraction
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_at: float | None = None
        self._not_before = 0.0

    def _low_water(self, limit: int) -> int:
        return max(1, math.ceil(limit * self._fraction))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take Twitch's word for the bucket; responses without all three headers are ignored."""
        limit = _header_int(headers, "Ratelimit-Limit")
        remaining = _header_int(headers, "Ratelimit-Remaining")
        reset = rate_limit_reset(headers)
        if limit is None or remaining is None or reset is None or limit < 1:
            return
        with self._lock:
            self._limit = limit
            self._remaining = max(0, min(remaining, limit))
            self._reset_at = reset.timestamp()
            if self._remaining > self._low_water(limit):
                self._not_before = 0.0

    def reserve(self) -> float:
        """Seconds to wait before the next call; that call is counted against the bucket."""
        with self._lock:
            now = self._clock()
            at = max(now, self._not_before)
            if self._limit is None or self._remaining is None:
                return at - now
            if self._reset_at is not None and at >= self._reset_at:
                self._remaining, self._reset_at = self._limit, None
            if self._remaining <= 0 and self._reset_at is not None:
                at = self._reset_at
                self._remaining, self._reset_at = self._limit, None
            self._remaining = max(0, self._remaining - 1)
            if self._reset_at is None:
                self._not_before = at
            elif self._remaining == 0:
                self._not_before = self._reset_at
            elif self._remaining <= self._low_water(self._limit):
                self._not_before = at + (self._reset_at - at) / (self._remaining + 1)
            else:
                self._not_before = at
            return at - now


class WindowLimiter:
    """At most `max_calls` calls in any rolling `window_seconds` (Get Clips Download: 100/min).

    A reservation is a promise to call at `now + wait`; later reservations are placed after
    earlier ones, so concurrent callers never overshoot the window together. The lock makes
    the shared `SlidingWindow` safe across the worker's threads.
    """

    def __init__(
        self, max_calls: int, window_seconds: float = 60.0, *, clock: Clock = time.time
    ) -> None:
        self._window = SlidingWindow(max_calls, window_seconds)
        self._clock = clock
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Seconds to wait before the next call; that call is counted at the moment it may go."""
        with self._lock:
            return self._window.reserve(self._clock())
