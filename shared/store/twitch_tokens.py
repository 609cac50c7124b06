"""`twitch_tokens/{user_id}`: OAuth tokens, server-side only, and their race-safe refresh.

Twitch rotates the refresh token on every refresh, so two processes refreshing at once could
lose the newer one. A refresh therefore takes a lease first (`refresh_leases/{N}` created by
`commit_led_by_create`); whoever does not hold it waits for the holder's result. A holder that
dies lets its lease expire and the next caller takes lease N+1.

One refresher per token: `refresh_owner` says which process renews a token ahead of time
("functions" for the clipping tokens, "chatbot" for the bot account's, which twitchio renews);
the others only validate it. Every refresh, whoever makes it, goes through `refresh()`.

Documents are read tolerantly (docs/architecture.md §3): only `access_token` is needed to call
Twitch; what another tool or a hand fix left out is optional, and a document that still does not
parse raises `StoredTokenUnreadable`, whose message names the document and the fix, never a value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from google.cloud import firestore
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.clock import Clock, utc_now
from shared.domain.errors import (
    ClipUnauthorized,
    StoredTokenUnreadable,
    TokenNotRefreshable,
)
from shared.domain.language import N_, Phrase
from shared.domain.twitch_models import TokenGrant
from shared.domain.validation import field_problems
from shared.store.exclusive import MARKER_TTL, commit_led_by_create

COLLECTION = "twitch_tokens"
LEASES = "refresh_leases"
# Who renews a token ahead of time; a document without `refresh_owner` is the functions'.
FUNCTIONS = "functions"
CHATBOT = "chatbot"
NO_REFRESH_TOKEN = Phrase(N_("the document has no refresh_token"))


class StoredToken(BaseModel):
    """A `twitch_tokens` document. Never shown, never logged: tokens are out of repr and out of
    validation errors. Building one registers nothing: the Helix client registers a token for
    redaction when it sends it, and a model has no business changing process-wide state.
    """

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)

    user_id: str
    login: str | None = None
    client_id: str | None = None
    access_token: str = Field(repr=False, min_length=1)
    refresh_token: str | None = Field(None, repr=False)
    scopes: list[str] = []
    expires_at: datetime | None = None
    obtained_at: datetime | None = None
    refresh_owner: str | None = None
    refresh_lease_seq: int = 0
    refresh_holder: str | None = None
    refresh_until: datetime | None = None

    @field_validator("scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        """Twitch's own `scope` string (space-separated) is a list of scopes too."""
        if value is None:
            return []
        return value.split() if isinstance(value, str) else value

    @field_validator("refresh_token", mode="before")
    @classmethod
    def _refresh(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def owner(self) -> str:
        """Which process renews this token ahead of time."""
        return self.refresh_owner or FUNCTIONS


def read_token(user_id: str, data: dict[str, Any]) -> StoredToken:
    """A stored document as a StoredToken: the document id stands in for a missing `user_id`;
    anything else that does not parse is StoredTokenUnreadable (fields and rules, no values)."""
    try:
        return StoredToken.model_validate({"user_id": user_id} | data)
    except ValidationError as error:
        raise StoredTokenUnreadable(user_id, field_problems(error)) from None


class TokenRefreshBusy(ClipUnauthorized):
    """Another process held the refresh lease for longer than we could wait."""


class TwitchTokenStore:
    def __init__(
        self,
        db: firestore.Client,
        *,
        lease_seconds: float = 30.0,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utc_now,
    ) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)
        self._lease = timedelta(seconds=lease_seconds)
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._sleep = sleep
        self._clock = clock

    def ref(self, user_id: str) -> firestore.DocumentReference:
        return self._col.document(user_id)

    def get(self, user_id: str) -> StoredToken | None:
        """The stored token, None when there is none; StoredTokenUnreadable when it does not
        parse."""
        snap = self.ref(user_id).get()
        return read_token(user_id, snap.to_dict() or {}) if snap.exists else None

    def user_ids(self) -> list[str]:
        return [snap.id for snap in self._col.select([]).stream()]

    def save_grant(
        self,
        grant: TokenGrant,
        *,
        user_id: str,
        login: str | None,
        client_id: str,
        now: datetime | None = None,
        refresh_owner: str | None = None,
    ) -> StoredToken:
        """Store a newly granted token pair (connect flow), replacing any earlier one.

        The refresh owner stays what it was unless given (a reconnect does not move it); a new
        document is the functions' to refresh. An unreadable earlier document is replaced.
        """
        now = now or self._clock()
        snap = self.ref(user_id).get()
        earlier = (snap.to_dict() or {}) if snap.exists else {}
        seq = earlier.get("refresh_lease_seq")
        kept_owner = earlier.get("refresh_owner")
        token = StoredToken(
            user_id=user_id,
            login=login,
            client_id=client_id,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            scopes=sorted(grant.scopes),
            expires_at=now + timedelta(seconds=grant.expires_in),
            obtained_at=now,
            refresh_owner=refresh_owner
            or (kept_owner if isinstance(kept_owner, str) else None)
            or FUNCTIONS,
            refresh_lease_seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else 0,
        )
        self.ref(user_id).set(token.model_dump())
        return token

    def claim_refresh(self, user_id: str, owner: str) -> None:
        """Make `owner` the process that renews this token ahead of time (the chat bot claims
        the bot account's token at start-up, as twitchio renews it)."""
        self.ref(user_id).update({"refresh_owner": owner})

    def delete(self, user_id: str) -> None:
        """Disconnect: forget the tokens (lease history stays, so sequence numbers never reuse)."""
        self.ref(user_id).delete()

    def refresh(
        self,
        user_id: str,
        *,
        refresher: Callable[[str], TokenGrant],
        worker: str,
        rejected: str | None = None,
        spent_refresh: str | None = None,
    ) -> StoredToken:
        """Refresh once across all processes and return the newest token.

        With `rejected` (an access token Twitch refused) or `spent_refresh` (the refresh token
        the caller would use), a pair someone else already replaced is returned without any
        call to Twitch. A token without a refresh token raises TokenNotRefreshable. Errors from
        `refresher` release the lease and propagate.
        """
        deadline = time.monotonic() + self._wait
        while True:
            token = self.get(user_id)
            if token is None:
                raise ClipUnauthorized(detail=f"no Twitch token is stored for user {user_id}")
            if rejected is not None and token.access_token != rejected:
                return token
            if token.refresh_token is None:
                raise TokenNotRefreshable(user_id, NO_REFRESH_TOKEN)
            if spent_refresh is not None and token.refresh_token != spent_refresh:
                return token
            now = self._clock()
            if not (token.refresh_holder and token.refresh_until and token.refresh_until > now):
                won = self._take_lease(token, worker, now)
                if won is not None:
                    return self._refresh_holding(won, refresher, worker)
            if time.monotonic() >= deadline:
                raise TokenRefreshBusy(
                    detail=f"another process is refreshing the token of user {user_id}; try again"
                )
            self._sleep(self._poll)
            rejected = rejected if rejected is not None else token.access_token

    def _take_lease(self, token: StoredToken, worker: str, now: datetime) -> StoredToken | None:
        seq = token.refresh_lease_seq + 1
        until = now + self._lease
        lease = {"refresh_lease_seq": seq, "refresh_holder": worker, "refresh_until": until}
        marker = self.ref(token.user_id).collection(LEASES).document(f"{seq:06d}")
        if not commit_led_by_create(
            self._db,
            marker,
            {"worker": worker, "at": now, "until": until, "expires_at": now + MARKER_TTL},
            lambda batch: batch.update(self.ref(token.user_id), lease),
        ):
            return None
        return token.model_copy(update=lease)

    def _refresh_holding(
        self, token: StoredToken, refresher: Callable[[str], TokenGrant], worker: str
    ) -> StoredToken:
        released = {"refresh_holder": None, "refresh_until": None}
        try:
            grant = refresher(token.refresh_token or "")
        except BaseException:
            self.ref(token.user_id).update(released)
            raise
        now = self._clock()
        fields = {
            "access_token": grant.access_token,
            "refresh_token": grant.refresh_token,
            "scopes": sorted(grant.scopes),
            "expires_at": now + timedelta(seconds=grant.expires_in),
            "obtained_at": now,
        } | released
        self.ref(token.user_id).update(fields)
        return token.model_copy(update=fields)


class StoredTokenSource:
    """The Helix client's TokenSource backed by `twitch_tokens/{user_id}`.

    The token is read once and kept until Twitch refuses it, so a job's create call and its
    confirmation polls do not each re-read Firestore.
    """

    def __init__(
        self,
        store: TwitchTokenStore,
        user_id: str,
        *,
        refresher: Callable[[str], TokenGrant],
        worker: str,
    ) -> None:
        self._store = store
        self.user_id = user_id
        self._refresher = refresher
        self._worker = worker
        self._current: str | None = None

    def access_token(self) -> str:
        if self._current is None:
            token = self._store.get(self.user_id)
            if token is None:
                raise ClipUnauthorized(
                    detail=f"no Twitch token is stored for user {self.user_id}: "
                    "connect Twitch first"
                )
            self._current = token.access_token
        return self._current

    def refreshed_access_token(self, rejected: str) -> str:
        token = self._store.refresh(
            self.user_id, refresher=self._refresher, worker=self._worker, rejected=rejected
        )
        self._current = token.access_token
        return self._current


class TokenSources:
    """Each user's `StoredTokenSource`, all refreshing with one refresher under one lease-holder
    name, so the services that call Twitch (worker, sweeper, links) share a single recipe."""

    def __init__(
        self, store: TwitchTokenStore, *, refresher: Callable[[str], TokenGrant], worker: str
    ) -> None:
        self._store = store
        self._refresher = refresher
        self._worker = worker

    def for_user(self, user_id: str) -> StoredTokenSource:
        return StoredTokenSource(
            self._store, user_id, refresher=self._refresher, worker=self._worker
        )
