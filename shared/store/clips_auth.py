"""`observability/clips_auth`: the last token validation's findings (SPEC 3.4)."""

from __future__ import annotations

from google.cloud import firestore

from shared.domain.clips_auth import ClipsAuthHealth

COLLECTION = "observability"
CLIPS_AUTH = "clips_auth"


class ClipsAuthStore:
    """The one document the token check writes and the worker and app read."""

    def __init__(self, db: firestore.Client) -> None:
        self._ref = db.collection(COLLECTION).document(CLIPS_AUTH)

    def read_clips_auth(self) -> ClipsAuthHealth | None:
        snap = self._ref.get()
        return ClipsAuthHealth.model_validate(snap.to_dict()) if snap.exists else None

    def write_clips_auth(self, health: ClipsAuthHealth) -> None:
        self._ref.set(health.model_dump())
