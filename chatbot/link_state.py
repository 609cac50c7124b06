"""Whether the bot's chat link is healthy, for Cloud Run's `/healthz`.

Healthy while chat is connected, or while it is (re)connecting for less than the grace
period: twitchio retries with backoff, and a short outage should not get the container
killed, but one that lasts means a restart is the better cure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.domain.backoff import backoff_seconds

State = Literal["connecting", "connected", "reconnecting", "stopped"]
DEFAULT_GRACE_SECONDS = 300.0


@dataclass(frozen=True)
class LinkHealth:
    ok: bool
    state: State
    seconds_in_state: float
    detail: str


class LinkState:
    def __init__(self, now: float, *, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> None:
        self._state: State = "connecting"
        self._since = now
        self._grace = grace_seconds
        self._detail = "starting"

    @property
    def state(self) -> State:
        return self._state

    def connected(self, now: float) -> None:
        if self._state != "connected":
            self._state, self._since, self._detail = "connected", now, "chat connected"

    def lost(self, now: float, detail: str) -> None:
        """Chat is down; keeps the time of the first loss so the grace period is not reset."""
        if self._state == "connected":
            self._state, self._since = "reconnecting", now
        self._detail = detail

    def stopped(self, now: float) -> None:
        self._state, self._since, self._detail = "stopped", now, "shutting down"

    def health(self, now: float) -> LinkHealth:
        age = max(0.0, now - self._since)
        if self._state == "connected":
            return LinkHealth(True, self._state, age, self._detail)
        if self._state in ("connecting", "reconnecting") and age < self._grace:
            return LinkHealth(True, self._state, age, self._detail)
        return LinkHealth(False, self._state, age, self._detail)


def reconnect_delay(attempt: int, *, rand: float, base: float = 2.0, cap: float = 120.0) -> float:
    """The chat link's reconnect wait: attempt 0 waits about `base`, never more than `cap`.

    Jittered by `rand` (in [0, 1), from the caller) so bots restarting together spread out."""
    return backoff_seconds(attempt, base=base, cap=cap, jitter=rand)
