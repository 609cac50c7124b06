"""`twitch_tokens/{user_id}`: OAuth tokens, server-side only, and their race-safe refresh.

Twitch rotates the refresh token on every refresh, so two processes refreshing at once could
lose the newer one. A refresh therefore takes a lease first (`refresh_leases/{N}` created by
`commit_led_by_create`); whoever does not hold it waits for the holder's result. A holder that
dies lets its lease expire and the next caller takes lease N+1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud import firestore
from pydantic import BaseModel, ConfigDict, Field

from shared.domain.errors import ClipUnauthorized
from shared.domain.twitch_models import TokenGrant
from shared.logs import register_secret
from shared.store.exclusive import commit_led_by_create

COLLECTION = "twitch_tokens"
LEASES = "refresh_leases"


class StoredToken(BaseModel):
    """A `twitch_tokens` document. Never shown, never logged: tokens are out of repr."""

    model_config = ConfigDict(extra="ignore")

    user_id: str
    login: str | None = None
    client_id: str | None = None
    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    scopes: list[str] = []
    expires_at: datetime | None = None
    obtained_at: datetime
    refresh_lease_seq: int = 0
    refresh_holder: str | None = None
    refresh_until: datetime | None = None

    def model_post_init(self, context: Any) -> None:
        register_secret(self.access_token)
        register_secret(self.refresh_token)


class TokenRefreshBusy(ClipUnauthorized):
    """Another process held the refresh lease for longer than we could wait."""


def _now() -> datetime:
    return datetime.now(UTC)


class TwitchTokenStore:
    def __init__(
        self,
        db: firestore.Client,
        *,
        lease_seconds: float = 30.0,
        wait_seconds: float = 20.0,
        poll_seconds: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _now,
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
        snap = self.ref(user_id).get()
        return StoredToken.model_validate(snap.to_dict()) if snap.exists else None

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
    ) -> StoredToken:
        """Store a newly granted token pair (connect flow), replacing any earlier one."""
        now = now or self._clock()
        token = StoredToken(
            user_id=user_id,
            login=login,
            client_id=client_id,
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            scopes=sorted(grant.scopes),
            expires_at=now + timedelta(seconds=grant.expires_in),
            obtained_at=now,
        )
        existing = self.get(user_id)
        seq = existing.refresh_lease_seq if existing else 0
        self.ref(user_id).set(token.model_dump() | {"refresh_lease_seq": seq})
        return token.model_copy(update={"refresh_lease_seq": seq})

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
    ) -> StoredToken:
        """Refresh once across all processes and return the newest token.

        With `rejected`, a token already replaced by someone else is returned without any
        call to Twitch. Errors from `refresher` release the lease and propagate.
        """
        deadline = time.monotonic() + self._wait
        while True:
            token = self.get(user_id)
            if token is None:
                raise ClipUnauthorized(detail=f"no Twitch token is stored for user {user_id}")
            if rejected is not None and token.access_token != rejected:
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
            {"worker": worker, "at": now, "until": until},
            lambda batch: batch.update(self.ref(token.user_id), lease),
        ):
            return None
        return token.model_copy(update=lease)

    def _refresh_holding(
        self, token: StoredToken, refresher: Callable[[str], TokenGrant], worker: str
    ) -> StoredToken:
        released = {"refresh_holder": None, "refresh_until": None}
        try:
            grant = refresher(token.refresh_token)
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
