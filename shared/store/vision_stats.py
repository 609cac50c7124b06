"""`observability/vision/hours/{YYYYMMDDHH}`: vision's counters per hour, for the Health page.

One merge-write of increments per counted frame, so instances add up without reading.
Requests refused before authentication and shape checks are never counted here (they are
logged): an unauthenticated caller must not be able to make us write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.cloud import firestore

from shared.domain.vision import (
    DROP_PREFIX,
    EVENT_PREFIX,
    LATENCY_PREFIX,
    FrameOutcome,
    VisionStats,
    hour_window,
    latency_bucket,
)

COLLECTION = "observability"
DOC = "vision"
HOURS = "hours"


class VisionStatsStore:
    def __init__(self, db: firestore.Client) -> None:
        self._hours = db.collection(COLLECTION).document(DOC).collection(HOURS)

    def record(self, outcome: FrameOutcome, now: datetime) -> None:
        # Flat field names: the npm emulator refuses transforms inside maps.
        hour = hour_window(now).key
        one = firestore.Increment(1)
        fields: dict[str, Any] = {"hour": hour, "frames": one}
        if outcome.drop is not None:
            fields[f"{DROP_PREFIX}{outcome.drop.value}"] = one
        if outcome.model_called:
            fields["model_calls"] = one
            fields["cost_usd"] = firestore.Increment(outcome.cost_usd)
            fields["model"] = outcome.model
        if outcome.latency_ms is not None:
            fields["latency_ms_sum"] = firestore.Increment(round(outcome.latency_ms, 1))
            fields["latency_ms_count"] = one
            fields[f"{LATENCY_PREFIX}{latency_bucket(outcome.latency_ms)}"] = one
        if outcome.event is not None:
            fields["classified"] = one
            fields[f"{EVENT_PREFIX}{outcome.event}"] = one
        if outcome.triggered:
            fields["triggered"] = one
        if outcome.duplicate:
            fields["duplicates"] = one
        self._hours.document(hour).set(fields, merge=True)

    def hour(self, hour: str) -> VisionStats | None:
        snap = self._hours.document(hour).get()
        return VisionStats.from_counters(snap.to_dict() or {}) if snap.exists else None

    def recent(self, limit: int = 2) -> list[VisionStats]:
        """The latest hours with any frame, newest first."""
        query = self._hours.order_by("hour", direction=firestore.Query.DESCENDING).limit(limit)
        return [VisionStats.from_counters(s.to_dict() or {}) for s in query.stream()]
