"""`control_plane/config`: read with a short cache, write with an audit trail.

Every change also lands in `control_plane/config/history/{auto}` with who, when and what,
so the app can show who flipped a flag.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore

from shared.control_plane import ControlPlaneConfig, apply_changes, load_config

COLLECTION = "control_plane"
DOC = "config"
HISTORY = "history"


class ControlPlaneStore:
    def __init__(
        self,
        db: firestore.Client,
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ref = db.collection(COLLECTION).document(DOC)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, ControlPlaneConfig] | None = None
        self._lock = threading.Lock()

    def read(self, *, fresh: bool = False) -> ControlPlaneConfig:
        """The config, at most `cache_seconds` old unless `fresh`."""
        with self._lock:
            cached = self._cached
        if not fresh and cached and self._clock() - cached[0] < self._cache_seconds:
            return cached[1]
        snap = self._ref.get()
        config = load_config(snap.to_dict() if snap.exists else None)
        with self._lock:
            self._cached = (self._clock(), config)
        return config

    def write(
        self, changes: Mapping[str, Any], *, by: str, now: datetime | None = None
    ) -> ControlPlaneConfig:
        """Validate and save a change set; refused changes write nothing."""
        now = now or datetime.now(UTC)
        current = self.read(fresh=True)
        updated = apply_changes(current, changes, by=by, now=now)
        batch = self._db.batch()
        # merge: other readers keep their own maps in this document (the chat bot's `chat`).
        batch.set(self._ref, updated.model_dump(), merge=True)
        batch.create(
            self._ref.collection(HISTORY).document(),
            {
                "by": by,
                "at": now,
                "changes": {k: updated.model_dump()[k] for k in changes},
                "before": {k: current.model_dump()[k] for k in changes},
            },
        )
        batch.commit()
        with self._lock:
            self._cached = (self._clock(), updated)
        return updated

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent changes, newest first."""
        query = (
            self._ref.collection(HISTORY)
            .order_by("at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [s.to_dict() or {} for s in query.stream()]
