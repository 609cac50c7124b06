"""The one race-safety primitive (docs/architecture.md §5): a batch whose first write is a
`create()`.

Of several processes committing a batch led by a create of the same document, exactly one
succeeds. The create must come first because the npm emulator applies a batch's writes in
order and stops at a failing create without undoing earlier writes; production Firestore
is atomic either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

# How long an exclusivity marker is kept once written: far past any lease or function timeout,
# so a slow process can never re-create a deleted marker; Firestore's TTL policy on
# `expires_at` (deploy.sh, firestore.indexes.json) then deletes it.
MARKER_TTL = timedelta(days=7)


def commit_led_by_create(
    db: firestore.Client,
    marker: firestore.DocumentReference,
    marker_data: Mapping[str, Any],
    then: Callable[[firestore.WriteBatch], None],
) -> bool:
    """Create `marker`, then add `then`'s writes, in one batch. False if the marker existed."""
    batch = db.batch()
    batch.create(marker, dict(marker_data))
    then(batch)
    try:
        batch.commit()
    except AlreadyExists:
        return False
    return True
