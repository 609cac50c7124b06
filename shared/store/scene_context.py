"""`scene_context/{broadcaster_id}` (docs/architecture.md §3): what the vision model last saw on a
channel.

Written by `vision_ingest` after every classified frame; read by the app (Health page) and
by the chat bot's LLM titles. One document per channel, replaced whole each time. Read as
documented: the document id stands in for a missing `broadcaster_id`; one that still does not
parse raises `StoredDocumentUnreadable` naming the document, and a listing leaves it out and
logs it once.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from shared.domain.language import N_
from shared.domain.vision import SceneContext
from shared.store.documents import parse_document, readable

COLLECTION = "scene_context"
UNREADABLE_FIX = N_(
    "the next frame vision_ingest classifies on that channel replaces it, or delete it"
)


def read_scene(snap: Any) -> SceneContext:
    """A stored scene, or StoredDocumentUnreadable naming the document and its refused fields
    (never their values: model text is untrusted)."""
    fields = {"broadcaster_id": snap.id} | (snap.to_dict() or {})
    return parse_document(SceneContext, f"{COLLECTION}/{snap.id}", fields, UNREADABLE_FIX)


class SceneContextStore:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection(COLLECTION)

    def save(self, context: SceneContext) -> None:
        # Every field is written (None included), so the npm emulator's merging set() and
        # Firestore's replacing set() leave the same document.
        self._col.document(context.broadcaster_id).set(context.to_firestore())

    def get(self, broadcaster_id: str) -> SceneContext | None:
        snap = self._col.document(broadcaster_id).get()
        return read_scene(snap) if snap.exists else None

    def latest(self, limit: int = 5) -> list[SceneContext]:
        """The most recently captured scenes, newest first, across channels; an unreadable one
        is left out and logged once per process."""
        query = self._col.order_by("at", direction=firestore.Query.DESCENDING).limit(limit)
        return readable(query.stream(), read_scene)
