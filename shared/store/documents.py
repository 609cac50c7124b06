"""What every store does with a document it was asked for by id."""

from __future__ import annotations

from google.cloud.firestore_v1.base_document import DocumentSnapshot

from shared.domain.errors import NotFound


def existing(snap: DocumentSnapshot, kind: str) -> DocumentSnapshot:
    """`snap` when its document exists; NotFound naming the `kind` and the id otherwise."""
    if not snap.exists:
        raise NotFound(kind, snap.id)
    return snap
