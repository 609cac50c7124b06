"""`observability/clips_auth`: the last token validation's findings (docs/architecture.md §3.4)."""

from __future__ import annotations

from google.cloud import firestore
from pydantic import ValidationError

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.errors import StoredDocumentUnreadable
from shared.domain.language import N_
from shared.domain.validation import field_problems

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
        try:
            return ClipsAuthHealth.model_validate(snap.to_dict())
        except ValidationError as error:
            problems = field_problems(error, default_field="document")
            raise StoredDocumentUnreadable(
                f"{COLLECTION}/{CLIPS_AUTH}", problems, UNREADABLE_FIX
            ) from None

    def write_clips_auth(self, health: ClipsAuthHealth) -> None:
        self._ref.set(health.model_dump())
