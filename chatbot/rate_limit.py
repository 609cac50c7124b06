"""Twitch's chat send limits for the bot's role, as a pure sliding-window limiter.

Twitch allows 20 messages per 30 s to a normal chatter and 100 per 30 s to a moderator or the
broadcaster. The limiter never lets more than that many sends fall in any 30-second window;
it says how long to wait, the caller sleeps. The role is learnt from the badges on the bot's
own messages as they come back through EventSub, and starts at the safe (normal) limit.
"""

from __future__ import annotations

from collections import deque

WINDOW_SECONDS = 30.0
NORMAL_LIMIT = 20
PRIVILEGED_LIMIT = 100


class ChatRateLimiter:
    def __init__(self, *, window: float = WINDOW_SECONDS) -> None:
        self._window = window
        self._sent: deque[float] = deque()
        self.privileged = False

    @property
    def limit(self) -> int:
        return PRIVILEGED_LIMIT if self.privileged else NORMAL_LIMIT

    def wait(self, now: float) -> float:
        """Seconds until one more message may be sent (0 when it may go now)."""
        sent = self._sent
        while sent and sent[0] <= now - self._window:
            sent.popleft()
        if len(sent) < self.limit:
            return 0.0
        return sent[len(sent) - self.limit] + self._window - now

    def record(self, now: float) -> None:
        """Count a message sent at `now`."""
        self._sent.append(now)
