"""The one exponential backoff of the project (retries of Twitch calls, chat reconnects, relays).

Pure: the caller passes the attempt number and, for jitter, a random number in [0, 1), so
every delay is reproducible in tests.
"""

from __future__ import annotations

__all__ = ["backoff_seconds"]


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: float | None = None) -> float:
    """`base * 2**attempt` seconds, at most `cap`; attempt 0 is the first retry.

    With `jitter` (a number in [0, 1)), "equal jitter": half the delay is fixed and half is
    spread by `jitter`, so many clients retrying together do not retry in step.
    """
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    ceiling = min(cap, base * 2.0 ** max(0, attempt))
    if jitter is None:
        return ceiling
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")
    return ceiling / 2.0 + jitter * ceiling / 2.0
