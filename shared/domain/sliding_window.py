"""The one sliding-window counter: at most `limit` events in any rolling `window` of seconds.

Pure: no sleeping and no clock of its own. The caller asks how long to wait before one more
event (`wait`), and records the events it lets through (`record`). Used for Twitch's chat send
limits and the Get Clips Download limit.
"""

from __future__ import annotations

from collections import deque

__all__ = ["SlidingWindow"]


class SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def _prune(self, now: float) -> None:
        events = self._events
        while events and events[0] <= now - self.window:
            events.popleft()

    def wait(self, now: float) -> float:
        """Seconds from `now` until one more event fits the window (0.0 when it fits now)."""
        self._prune(now)
        events = self._events
        if len(events) < self.limit:
            return 0.0
        return max(0.0, events[len(events) - self.limit] + self.window - now)

    def record(self, at: float) -> None:
        """Count an event at `at` (which may be in the future: a reserved slot)."""
        self._events.append(at)

    def reserve(self, now: float) -> float:
        """`wait` and `record` in one step: the event is counted at the moment it may go."""
        delay = self.wait(now)
        self.record(now + delay)
        return delay
