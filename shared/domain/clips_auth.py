"""`observability/clips_auth` (docs/architecture.md §3.4): what the last token validation found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ClipsAuthHealth(BaseModel):
    model_config = ConfigDict(extra="ignore")

    clips_token_valid: bool
    clips_scope_ok: bool
    clips_pipeline_enabled: bool
    scopes: list[str] = []
    missing_scopes: list[str] = []
    expires_in: int | None = None
    login: str | None = None
    user_id: str | None = None
    last_validated_at: datetime
    last_error: str | None = None
    # `last_error` as a phrase (`Phrase.to_document`), said in the language in force.
    last_error_words: dict[str, Any] | None = None
