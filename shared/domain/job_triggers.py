"""When a `clip_jobs` write means "start work": decided from the event alone, no reads.

The worker is triggered by every write to a job, its own included, so this check must be
cheap and exact: a job starts when it has just become runnable in `queued`: created, moved
back to `queued` (retry), or re-armed by the sweeper (`requeued_at` changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def became_runnable(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> bool:
    if not after or after.get("status") != "queued" or after.get("next_attempt_at") is not None:
        return False
    if not before or before.get("status") != "queued":
        return True
    return before.get("requeued_at") != after.get("requeued_at")
