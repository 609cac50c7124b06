"""Twitch's chat send limits for the bot's role, as a pure sliding-window limiter.

Twitch allows 20 messages per 30 s to a normal chatter and 100 per 30 s to a moderator or the
broadcaster. The limiter never lets more than that many sends fall in any 30-second window;
it says how long to wait, the caller sleeps. The role is learnt from the badges on the bot's
own messages as they come back through EventSub, and starts at the safe (normal) limit.
"""

from __future__ import annotations

from shared.domain.sliding_window import SlidingWindow

WINDOW_SECONDS = 30.0
NORMAL_LIMIT = 20
PRIVILEGED_LIMIT = 100


class ChatRateLimiter(SlidingWindow):
    """The shared sliding window, with its limit following the bot's role."""

    def __init__(self, *, window: float = WINDOW_SECONDS) -> None:
        super().__init__(NORMAL_LIMIT, window)

    @property
    def privileged(self) -> bool:
        return self.limit == PRIVILEGED_LIMIT

    @privileged.setter
    def privileged(self, privileged: bool) -> None:
        self.limit = PRIVILEGED_LIMIT if privileged else NORMAL_LIMIT
