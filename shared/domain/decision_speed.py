"""How fast moments are decided, by path (the app, mods in chat, the policy); pure.

From each decided candidate: its moment (`source_ts`) to its decision (`decided_at`), grouped
by `decided_via`. Expiry is not a decision anyone made, so it is left out; an item decided
before paths were recorded counts as the app's (it was the only path). Percentiles are
nearest-rank, so a p95 is a delay some decision really had.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.domain.language import N_

PATHS: tuple[str, ...] = ("app", "chat", "policy")
PATH_LABELS = {"app": N_("App"), "chat": N_("Mods in chat"), "policy": N_("Policy")}


@dataclass(frozen=True)
class Decided:
    """One decided candidate, as the Health page reads it."""

    moment: datetime
    decided_at: datetime
    status: str
    via: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class PathSpeed:
    """Moment-to-decision seconds on one path: how many, median and 95th percentile."""

    path: str
    count: int
    p50: float | None
    p95: float | None

    @property
    def label(self) -> str:
        return PATH_LABELS.get(self.path, self.path)


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def decision_path(item: Decided) -> str | None:
    """`app`, `chat` or `policy`; None for an expiry."""
    if item.status == "expired" or item.by == "sweeper":
        return None
    return item.via if item.via in PATHS else "app"


def decision_speeds(items: Iterable[Decided]) -> list[PathSpeed]:
    """p50 and p95 from moment to decision for each path, in PATHS order (empty paths too)."""
    delays: dict[str, list[float]] = {path: [] for path in PATHS}
    for item in items:
        path = decision_path(item)
        if path is None:
            continue
        delays[path].append(max((item.decided_at - item.moment).total_seconds(), 0.0))
    speeds = []
    for path in PATHS:
        values = delays[path]
        if values:
            speeds.append(
                PathSpeed(path, len(values), nearest_rank(values, 0.5), nearest_rank(values, 0.95))
            )
        else:
            speeds.append(PathSpeed(path, 0, None, None))
    return speeds
