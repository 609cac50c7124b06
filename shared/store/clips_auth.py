"""`observability/clips_auth`: the last token validation's findings (docs/architecture.md §3.4)."""

from __future__ import annotations

from google.cloud import firestore

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.errors import StoredDocumentUnreadable
from shared.domain.language import N_
from shared.store.documents import parse_document, report_unreadable

COLLECTION = "observability"
CLIPS_AUTH = "clips_auth"
UNREADABLE_FIX = N_("the next token check (validate_tokens, hourly) rewrites it, or delete it")


class ClipsAuthStore:
    """The one document the token check writes and the worker and app read."""

    def __init__(self, db: firestore.Client) -> None:
        self._ref = db.collection(COLLECTION).document(CLIPS_AUTH)

    def read_clips_auth(self) -> ClipsAuthHealth | None:
        """The findings, None before any check; StoredDocumentUnreadable (fields, not values)
        when the document does not parse."""
        snap = self._ref.get()
        if not snap.exists:
            return None
        path = f"{COLLECTION}/{CLIPS_AUTH}"
        return parse_document(ClipsAuthHealth, path, snap.to_dict() or {}, UNREADABLE_FIX)

    def read_if_readable(self) -> ClipsAuthHealth | None:
        """The findings as the worker's shortcut reads them: None also when the document does
        not parse (logged once per process). The worker only refuses fast on them and checks
        the token itself before every clip, so a bad document must not hold every job."""
        try:
            return self.read_clips_auth()
        except StoredDocumentUnreadable as error:
            report_unreadable(error)
            return None

    def write_clips_auth(self, health: ClipsAuthHealth) -> None:
        self._ref.set(health.model_dump())
