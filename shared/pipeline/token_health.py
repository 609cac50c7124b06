"""Hourly token validation (SPEC 4): validate, refresh what can be, check clipping scopes,
and publish the result in `observability/clips_auth` for the worker and the app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from google.cloud import firestore

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.errors import ClipError
from shared.domain.twitch_models import TokenInfo
from shared.domain.twitch_scopes import scope_report
from shared.store.clips_auth import ObservabilityStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

REFRESH_WHEN_EXPIRING_WITHIN = 3600


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenCheck:
    user_id: str
    valid: bool
    refreshed: bool
    info: TokenInfo | None
    error: str | None


class TokenHealth:
    def __init__(
        self,
        db: firestore.Client,
        twitch: HelixClips,
        *,
        client_secret: str,
        worker_id: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._twitch = twitch
        self._secret = client_secret
        self._worker = worker_id
        self._clock = clock
        self._tokens = TwitchTokenStore(db)
        self._config = ControlPlaneStore(db)
        self._health = ObservabilityStore(db)

    def check(self, user_id: str) -> TokenCheck:
        """Validate one stored token; refresh it when invalid or expiring within the hour."""
        token = self._tokens.get(user_id)
        if token is None:
            return TokenCheck(user_id, False, False, None, "no token stored: connect Twitch")
        refreshed = False
        try:
            info: TokenInfo | None = self._twitch.validate_token(token.access_token)
        except ClipError:
            info = None
        if info is None or info.expires_in < REFRESH_WHEN_EXPIRING_WITHIN:
            try:
                token = self._tokens.refresh(
                    user_id,
                    refresher=self._twitch.refresher(self._secret),
                    worker=self._worker,
                    rejected=token.access_token,
                )
                refreshed = True
                info = self._twitch.validate_token(token.access_token)
            except ClipError as error:
                return TokenCheck(
                    user_id, False, refreshed, info, f"{error.code}: {error.operator_message}"
                )
        return TokenCheck(user_id, info is not None, refreshed, info, None)

    def clipping_user(self) -> str | None:
        """Whose token clips: the configured editor, else the channel, else the only token."""
        config = self._config.read(fresh=True)
        if config.clip_editor_user_id:
            return config.clip_editor_user_id
        broadcaster = os.environ.get("TWITCH_BROADCASTER_ID", "").strip()
        if broadcaster:
            return broadcaster
        stored = self._tokens.user_ids()
        return stored[0] if len(stored) == 1 else None

    def run(self) -> tuple[ClipsAuthHealth, list[TokenCheck]]:
        """Check every stored token and publish the clipping token's health."""
        now = self._clock()
        checks = [self.check(user_id) for user_id in self._tokens.user_ids()]
        user = self.clipping_user()
        mine = next((c for c in checks if c.user_id == user), None)
        config = self._config.read()
        if mine is None:
            error = (
                "no clipping token: connect Twitch"
                if user
                else "several tokens and no clip_editor_user_id or TWITCH_BROADCASTER_ID"
            )
            health = ClipsAuthHealth(
                clips_token_valid=False,
                clips_scope_ok=False,
                clips_pipeline_enabled=config.clip_pipeline_enabled,
                user_id=user,
                last_validated_at=now,
                last_error=error,
            )
        else:
            scopes = list(mine.info.scopes) if mine.info else []
            report = scope_report(scopes)
            health = ClipsAuthHealth(
                clips_token_valid=mine.valid,
                clips_scope_ok=mine.valid and report.clipping_ok,
                clips_pipeline_enabled=config.clip_pipeline_enabled,
                scopes=sorted(scopes),
                missing_scopes=list(report.missing),
                expires_in=mine.info.expires_in if mine.info else None,
                login=mine.info.login if mine.info else None,
                user_id=mine.user_id,
                last_validated_at=now,
                last_error=mine.error
                or (f"missing scopes: {', '.join(report.missing)}" if report.missing else None),
            )
        self._health.write_clips_auth(health)
        return health, checks
