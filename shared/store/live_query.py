"""A query kept current by a Firestore listener, read item by item, for pages that poll it.

The operators' app asks "did anything change?" several times a second. Answering from memory
costs no read; the listener pays one read per document that enters or changes in the result
(Firestore's billing for listeners), instead of a full re-read per poll. `version` moves
exactly when a delivered snapshot changed something, so a page redraws only then.

Each document is read on its own: one that does not parse becomes a row with its problem
(logged once per document id), and the rest of the result stays usable. The listener's
callback never raises, since an exception there would end the listener for good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from google.cloud.firestore_v1.base_query import BaseQuery
from google.cloud.firestore_v1.watch import ChangeType, Watch

from shared.domain.errors import FieldProblem, StoredDocumentUnreadable
from shared.domain.language import N_, Phrase

T = TypeVar("T")
logger = logging.getLogger(__name__)
_EPOCH = datetime.fromtimestamp(0, UTC)
_UNKNOWN = Phrase(N_("cannot be read by this version of the app"))


@dataclass(frozen=True)
class Row(Generic[T]):
    """One document of the result: its value, or why it cannot be read.

    `version` is the document's update time: it changes with every write of the document, so
    a page can keep a card's widgets while its document stays the same.
    """

    doc_id: str
    version: str
    created: datetime
    value: T | None
    problem: StoredDocumentUnreadable | None = None


@dataclass(frozen=True)
class LiveRows(Generic[T]):
    """What the listener last delivered. `full`: the result reached the query's limit, so
    there may be more documents than `rows`."""

    version: int
    rows: tuple[Row[T], ...]
    synced: bool
    active: bool
    full: bool


def _unreadable(snap: Any) -> StoredDocumentUnreadable:
    """A reader that failed in a way it did not foresee still names the document."""
    return StoredDocumentUnreadable(
        snap.reference.path,
        [FieldProblem("document", _UNKNOWN.message, _UNKNOWN)],
        N_("fix or delete it in Firestore"),
    )


def _stamp(value: Any) -> datetime:
    return value if isinstance(value, datetime) else _EPOCH


class LiveQuery(Generic[T]):
    """`query`'s documents as `read` makes them, kept by `query.on_snapshot`."""

    def __init__(
        self,
        query: BaseQuery,
        read: Callable[[Any], T],
        *,
        limit: int,
        name: str,
    ) -> None:
        self._query = query.limit(limit)
        self._read = read
        self._limit = limit
        self._name = name
        self._rows: dict[str, Row[T]] = {}
        self._version = 0
        self._lock = threading.Lock()
        self._first = threading.Event()
        self._reported: set[str] = set()
        self._watch: Watch | None = None

    def start(self, timeout: float = 10.0) -> LiveQuery[T]:
        """Listen, and wait up to `timeout` for the first snapshot (the page then starts on
        the real result; a slower start shows as not `synced`)."""
        return self.listen().wait_synced(timeout)

    def listen(self) -> LiveQuery[T]:
        """Open the listener without waiting (several can then load side by side)."""
        self._watch = self._query.on_snapshot(self._deliver)
        return self

    def wait_synced(self, timeout: float) -> LiveQuery[T]:
        self._first.wait(timeout)
        return self

    def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.unsubscribe()

    @property
    def active(self) -> bool:
        return self._watch is not None and self._watch.is_active

    @property
    def version(self) -> int:
        """Moves on every delivered change: a cheap "did anything change?" for pollers."""
        with self._lock:
            return self._version

    def current(self) -> LiveRows[T]:
        with self._lock:
            rows = tuple(self._rows.values())
            version = self._version
        return LiveRows(version, rows, self._first.is_set(), self.active, len(rows) >= self._limit)

    def _deliver(self, docs: list[Any], changes: list[Any], read_time: Any) -> None:
        try:
            updates = [(c.document.id, self._row(c)) for c in changes]
            with self._lock:
                for doc_id, row in updates:
                    if row is None:
                        self._rows.pop(doc_id, None)
                    else:
                        self._rows[doc_id] = row
                self._version += 1
        except Exception:
            logger.exception("%s: could not apply a snapshot; keeping the last one", self._name)
        finally:
            self._first.set()

    def _row(self, change: Any) -> Row[T] | None:
        if change.type == ChangeType.REMOVED:
            return None
        snap = change.document
        version = str(getattr(snap, "update_time", "") or "")
        created = _stamp(getattr(snap, "create_time", None))
        try:
            return Row(snap.id, version, created, self._read(snap))
        except Exception as failure:
            error = failure if isinstance(failure, StoredDocumentUnreadable) else _unreadable(snap)
            if snap.id not in self._reported:
                self._reported.add(snap.id)
                logger.error(str(error), extra={"document": error.path, "listener": self._name})
            return Row(snap.id, version, created, None, error)
