"""Hourly token validation (docs/architecture.md §6.4): validate, refresh what can be, check
clipping scopes, and publish the result in `observability/clips_auth` for the worker and the app.

One refresher per token: a token is refreshed here only when its document names this
process's role as its `refresh_owner` (`refreshes_for`); the others are validated only (the
chat bot's twitchio renews the bot account's token). A stored token that cannot be read is
reported in its check, never raised, so one bad document does not stop the others.

A check's problem is a `Phrase`: `last_error` keeps it in English for logs and older readers,
`last_error_words` keeps it whole, so the Health page says it in the channel's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.clock import Clock, utc_now
from shared.domain.errors import (
    OPERATOR_MESSAGES,
    ClipError,
    StoredTokenUnreadable,
    StoredTokenUnusable,
)
from shared.domain.language import ENGLISH, N_, Phrase
from shared.domain.twitch_models import TokenGrant, TokenInfo
from shared.domain.twitch_scopes import scope_report
from shared.domain.validation import problems_phrase
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

REFRESH_WHEN_EXPIRING_WITHIN = 3600


@dataclass(frozen=True)
class TokenCheck:
    user_id: str
    valid: bool
    refreshed: bool
    info: TokenInfo | None
    problem: Phrase | None

    @property
    def error(self) -> str | None:
        """The problem in English."""
        return None if self.problem is None else self.problem.say(ENGLISH)


def unreadable_token_phrase(error: StoredTokenUnreadable) -> Phrase:
    """`StoredTokenUnreadable`'s sentence: the document, its refused fields and the fix."""
    return Phrase(
        N_("The stored Twitch token for user {user} is unreadable: {problems}; reconnect Twitch"),
        user=error.user_id,
        problems=problems_phrase(error.problems),
    )


def error_phrase(error: ClipError) -> Phrase:
    """`unauthorized: <the operator's sentence>`; a stored token's own sentence, which names
    the document and the fix."""
    if isinstance(error, StoredTokenUnreadable):
        return unreadable_token_phrase(error)
    if isinstance(error, StoredTokenUnusable):
        return error.phrase
    message = Phrase(OPERATOR_MESSAGES[error.error_code])
    return Phrase(N_("{code}: {message}"), code=error.code, message=message)


class TokenHealth:
    """The token check over the stores and client it is given.

    `broadcaster_id` is the channel whose token clips when no editor is configured (the
    deployable reads it from its environment).
    """

    def __init__(
        self,
        *,
        tokens: TwitchTokenStore,
        config: ControlPlaneStore,
        clips_auth: ClipsAuthStore,
        twitch: HelixClips,
        refresher: Callable[[str], TokenGrant],
        worker_id: str,
        broadcaster_id: str | None = None,
        refreshes_for: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """`refreshes_for` is the `refresh_owner` this process renews ("functions"); None
        validates only (the chat bot's start-up check, next to twitchio's own)."""
        self._tokens = tokens
        self._config = config
        self._health = clips_auth
        self._twitch = twitch
        self._refresher = refresher
        self._worker = worker_id
        self._broadcaster = broadcaster_id
        self._refreshes_for = refreshes_for
        self._clock = clock

    def check(self, user_id: str) -> TokenCheck:
        """Validate one stored token; refresh it when invalid or expiring within the hour, if
        this process owns its refresh."""
        try:
            token = self._tokens.get(user_id)
        except StoredTokenUnusable as error:
            return TokenCheck(user_id, False, False, None, error_phrase(error))
        if token is None:
            none = Phrase(N_("no token stored: connect Twitch"))
            return TokenCheck(user_id, False, False, None, none)
        refreshed = False
        try:
            info: TokenInfo | None = self._twitch.validate_token(token.access_token)
        except ClipError:
            info = None
        expiring = info is None or info.expires_in < REFRESH_WHEN_EXPIRING_WITHIN
        if expiring and token.owner != self._refreshes_for:
            why = None
            if info is None:
                why = Phrase(
                    N_("invalid: its refresh owner ({owner}) renews it, or reconnect Twitch"),
                    owner=token.owner,
                )
            return TokenCheck(user_id, info is not None, False, info, why)
        if expiring:
            try:
                token = self._tokens.refresh(
                    user_id,
                    refresher=self._refresher,
                    worker=self._worker,
                    rejected=token.access_token,
                )
                refreshed = True
                info = self._twitch.validate_token(token.access_token)
            except ClipError as error:
                return TokenCheck(user_id, False, refreshed, info, error_phrase(error))
        return TokenCheck(user_id, info is not None, refreshed, info, None)

    def clipping_user(self) -> str | None:
        """Whose token clips: the configured editor, else the channel, else the only token."""
        config = self._config.read(fresh=True)
        if config.clip_editor_user_id:
            return config.clip_editor_user_id
        if self._broadcaster:
            return self._broadcaster
        stored = self._tokens.user_ids()
        return stored[0] if len(stored) == 1 else None

    def run(self) -> tuple[ClipsAuthHealth, list[TokenCheck]]:
        """Check every stored token and publish the clipping token's health."""
        now = self._clock()
        checks = [self.check(user_id) for user_id in self._tokens.user_ids()]
        user = self.clipping_user()
        mine = next((c for c in checks if c.user_id == user), None)
        config = self._config.read()
        problem: Phrase | None
        if mine is None:
            problem = (
                Phrase(N_("no clipping token: connect Twitch"))
                if user
                else Phrase(
                    N_("several tokens and no clip_editor_user_id or TWITCH_BROADCASTER_ID")
                )
            )
            health = ClipsAuthHealth(
                clips_token_valid=False,
                clips_scope_ok=False,
                clips_pipeline_enabled=config.clip_pipeline_enabled,
                user_id=user,
                last_validated_at=now,
            )
        else:
            scopes = list(mine.info.scopes) if mine.info else []
            report = scope_report(scopes)
            problem = mine.problem
            if problem is None and report.missing:
                missing = ", ".join(report.missing)
                problem = Phrase(N_("missing scopes: {scopes}"), scopes=missing)
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
            )
        if problem is not None:
            health = health.model_copy(
                update={
                    "last_error": problem.say(ENGLISH),
                    "last_error_words": problem.to_document(),
                }
            )
        self._health.write_clips_auth(health)
        return health, checks
