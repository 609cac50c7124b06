"""`scene_context/{broadcaster_id}` (docs/architecture.md §3): what the vision model last saw on a
channel.

Written by `vision_ingest` after every classified frame; read by the app (Health page) and
by the chat bot's LLM titles. One document per channel, replaced whole each time.
"""

from __future__ import annotations

from google.cloud import firestore

from shared.domain.vision import SceneContext

COLLECTION = "scene_context"


class SceneContextStore:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection(COLLECTION)

    def save(self, context: SceneContext) -> None:
        # Every field is written (None included), so the npm emulator's merging set() and
        # Firestore's replacing set() leave the same document.
        self._col.document(context.broadcaster_id).set(context.to_firestore())

    def get(self, broadcaster_id: str) -> SceneContext | None:
        snap = self._col.document(broadcaster_id).get()
        return SceneContext.model_validate(snap.to_dict()) if snap.exists else None

    def latest(self, limit: int = 5) -> list[SceneContext]:
        """The most recently captured scenes, newest first, across channels."""
        query = self._col.order_by("at", direction=firestore.Query.DESCENDING).limit(limit)
        return [SceneContext.model_validate(s.to_dict()) for s in query.stream()]
