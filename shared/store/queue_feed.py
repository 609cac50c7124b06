"""The approval queue as the fast deciders see it: pending items as they arrive, recent
decisions, and the chat announcement of a candidate, claimed once.

`shared.store.action_queue` owns enqueue and decisions; this module only reads `action_queue` and
creates the announcement marker `action_queue/{id}/chat_announcements/ candidate` with
`commit_led_by_create`, so of two bot instances exactly one announces a candidate
(docs/architecture.md §5). An unreadable document is skipped here: it never stops a listener.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.watch import ChangeType, Watch

from shared.domain.errors import StoredDocumentUnreadable
from shared.store.action_queue import COLLECTION, ActionItem, ActionStatus, read_item
from shared.store.exclusive import commit_led_by_create

logger = logging.getLogger(__name__)

ANNOUNCEMENTS = "chat_announcements"
ANNOUNCEMENT_DOC = "candidate"


def _item(snap: Any) -> ActionItem | None:
    """A stored item read as the queue reads it, or None when it does not parse (the queue's
    own reads report it)."""
    try:
        return read_item(snap)
    except StoredDocumentUnreadable:
        return None


def _items(snaps: Iterable[Any]) -> list[ActionItem]:
    return [item for item in map(_item, snaps) if item is not None]


class QueueFeed:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def watch_pending(
        self, on_items: Callable[[list[ActionItem], list[ActionItem]], None]
    ) -> Watch:
        """Every pending item and, apart, those that just became pending (every snapshot:
        `on_items(pending, added)`). Runs on Firestore's listener thread; `unsubscribe()`
        on the result stops it. A callback that raises is logged and the listener goes on:
        an exception escaping into that thread would end the watch without a word."""

        def deliver(docs: list[Any], changes: list[Any], read_time: Any) -> None:
            added = [c.document for c in changes if c.type == ChangeType.ADDED]
            try:
                on_items(_items(docs), _items(added))
            except Exception:
                logger.exception("a pending-queue listener failed on one snapshot; still listening")

        query = self._col.where(filter=FieldFilter("status", "==", ActionStatus.PENDING.value))
        return query.on_snapshot(deliver)

    def decided_since(self, since: datetime, limit: int = 500) -> list[ActionItem]:
        """Items decided (approved, rejected, expired) at or after `since`, newest first."""
        query = (
            self._col.where(filter=FieldFilter("decided_at", ">=", since))
            .order_by("decided_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return _items(query.stream())

    def claim_announcement(self, action_id: str, *, by: str, now: datetime) -> bool:
        """Whether `by` won the right to announce this candidate in chat."""
        marker = self._col.document(action_id).collection(ANNOUNCEMENTS).document(ANNOUNCEMENT_DOC)
        return commit_led_by_create(self._db, marker, {"by": by, "at": now}, lambda batch: None)
