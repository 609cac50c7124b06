"""When to ask Get Clips whether a new clip is visible: dense early, ending at 15 s (SPEC 4)."""

from __future__ import annotations

CONFIRM_DEADLINE_SECONDS = 15.0
# Seconds after the 202; clips usually appear within a few seconds.
DEFAULT_OFFSETS: tuple[float, ...] = (1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 8.0, 10.0, 12.5, 15.0)


def poll_offsets(deadline: float = CONFIRM_DEADLINE_SECONDS) -> tuple[float, ...]:
    """The schedule cut at `deadline`, always ending with a last look at the deadline."""
    if deadline <= 0:
        raise ValueError("deadline must be positive")
    offsets = tuple(t for t in DEFAULT_OFFSETS if t < deadline)
    return (*offsets, deadline)
