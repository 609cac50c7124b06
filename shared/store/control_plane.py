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

from shared.domain.control_plane import ControlPlaneConfig, apply_changes, load_config

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
        dumped, before = updated.model_dump(), current.model_dump()
        # merge: other readers keep their own maps in this document (the chat bot's `chat`).
        self._save(
            dumped,
            merge=True,
            changes={k: dumped[k] for k in changes},
            before={k: before[k] for k in changes},
            by=by,
            now=now,
        )
        with self._lock:
            self._cached = (self._clock(), updated)
        return updated

    def write_section(
        self,
        section: str,
        values: Mapping[str, Any],
        *,
        changes: Mapping[str, Any],
        before: Mapping[str, Any],
        by: str,
        now: datetime | None = None,
    ) -> None:
        """Save a map another component owns and validates (the chat bot's `chat`), audited
        like `write()`; every other field of the document is left alone."""
        now = now or datetime.now(UTC)
        fields = {section: dict(values), "updated_by": by, "updated_at": now}
        self._save(
            fields,
            merge=list(fields),
            changes={f"{section}.{k}": v for k, v in changes.items()},
            before={f"{section}.{k}": v for k, v in before.items()},
            by=by,
            now=now,
        )

    def _save(
        self,
        fields: Mapping[str, Any],
        *,
        merge: bool | list[str],
        changes: Mapping[str, Any],
        before: Mapping[str, Any],
        by: str,
        now: datetime,
    ) -> None:
        """The document change and its history entry in one batch."""
        batch = self._db.batch()
        batch.set(self._ref, dict(fields), merge=merge)
        batch.create(
            self._ref.collection(HISTORY).document(),
            {"by": by, "at": now, "changes": dict(changes), "before": dict(before)},
        )
        batch.commit()

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent changes, newest first."""
        query = (
            self._ref.collection(HISTORY)
            .order_by("at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return [s.to_dict() or {} for s in query.stream()]
