"""`vision_limits/{id}`: vision's per-channel frame rate and hourly model-call cap, counted in
Firestore so that every instance of `vision_ingest` shares them (issue 12).

A window of `limit` admissions is `limit` numbered slot documents. Taking a slot is a batch led by
the `create()` of the slot (docs/architecture.md §5: exactly one of several racers wins a create, on
the emulators as in production), so no two instances can take the same slot and no more than `limit`
slots exist per window. The same batch increments the window's counter document, the count of slots
taken: it is only a hint of where to start (one read instead of walking from slot 0), never what
decides. Slots are created in order from the hint, so they stay contiguous and the count equals the
next free slot; a racer that loses moves to the next.

Documents carry `expires_at` for a Firestore TTL policy (deploy.sh), so old windows vanish.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore

from shared.domain.vision import Window
from shared.store.exclusive import commit_led_by_create

COLLECTION = "vision_limits"
KEEP_AFTER_WINDOW = timedelta(hours=1)


class VisionLimits:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def take_frame(self, broadcaster_id: str, window: Window, limit: int, now: datetime) -> bool:
        """Admit one frame of this channel in this minute window; False when it is full."""
        return self._take(f"frames-{broadcaster_id}-{window.key}", window, limit, now)

    def take_model_call(self, window: Window, limit: int, now: datetime) -> bool:
        """Admit one model call in this hour window (all channels); False at the cap."""
        return self._take(f"model_calls-{window.key}", window, limit, now)

    def taken(self, counter_id: str) -> int:
        """Slots taken in a window, as its counter says (for tests and the Health page)."""
        snap = self._col.document(counter_id).get()
        return int((snap.to_dict() or {}).get("taken", 0)) if snap.exists else 0

    def model_calls_taken(self, window: Window) -> int:
        return self.taken(f"model_calls-{window.key}")

    def _take(self, counter_id: str, window: Window, limit: int, now: datetime) -> bool:
        counter = self._col.document(counter_id)
        expires_at = window.ends_at + KEEP_AFTER_WINDOW
        start = self.taken(counter_id)
        bump: dict[str, Any] = {
            "taken": firestore.Increment(1),
            "limit": limit,
            "window_ends_at": window.ends_at,
            "expires_at": expires_at,
        }
        for index in range(start, limit):
            slot = self._col.document(f"{counter_id}-{index:06d}")
            marker = {"counter": counter_id, "slot": index, "at": now, "expires_at": expires_at}
            if commit_led_by_create(
                self._db, slot, marker, lambda batch: batch.set(counter, bump, merge=True)
            ):
                return True
        return False
