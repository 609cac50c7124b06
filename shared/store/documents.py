"""What every store does with a document it reads: existence, parsing with a precise refusal,
times read as UTC, and one log line per unreadable document."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.cloud.firestore_v1.base_document import DocumentSnapshot
from pydantic import BaseModel, ValidationError

from shared.domain.errors import NotFound, StoredDocumentUnreadable
from shared.domain.validation import field_problems

M = TypeVar("M", bound=BaseModel)

logger = logging.getLogger(__name__)
# Documents already reported by this process: pages and listeners read the same ones often.
_reported: set[str] = set()


def existing(snap: DocumentSnapshot, kind: str) -> DocumentSnapshot:
    """`snap` when its document exists; NotFound naming the `kind` and the id otherwise."""
    if not snap.exists:
        raise NotFound(kind, snap.id)
    return snap


def utc_times(model: M) -> M:
    """`model` with its naive top-level times read as UTC. Firestore keeps times in UTC, and
    another tool may write one as an ISO string without an offset (Python's
    `datetime.utcnow().isoformat()`); compared with our aware times it would raise."""
    naive = {
        name: value.replace(tzinfo=UTC)
        for name, value in model
        if isinstance(value, datetime) and value.tzinfo is None
    }
    return model.model_copy(update=naive) if naive else model


def parse_document(model: type[M], path: str, fields: Mapping[str, Any], fix: str) -> M:
    """`fields` as `model`, times read as UTC; StoredDocumentUnreadable naming the document at
    `path`, its refused fields and the `fix` otherwise (never their values: a foreign document
    may hold anything)."""
    try:
        parsed = model.model_validate(dict(fields))
    except ValidationError as error:
        problems = field_problems(error, default_field="document")
        raise StoredDocumentUnreadable(path, problems, fix) from None
    return utc_times(parsed)


def report_unreadable(error: StoredDocumentUnreadable) -> None:
    """One ERROR line per unreadable document and process, however often it is read."""
    if error.path not in _reported:
        _reported.add(error.path)
        logger.error(str(error), extra={"document": error.path})


def readable(snaps: Iterable[Any], read: Callable[[Any], M]) -> list[M]:
    """The documents `read` parses, in order; an unreadable one is left out and reported once,
    so one foreign document cannot stop a sweep, a listener or a page."""
    parsed = []
    for snap in snaps:
        try:
            parsed.append(read(snap))
        except StoredDocumentUnreadable as error:
            report_unreadable(error)
    return parsed
