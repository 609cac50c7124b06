"""The Connect Twitch flow's core: authorization URL with a checked `state`, code exchange.

The `state` is signed (itsdangerous' HMAC with the client secret) and time-limited instead of
being kept in a session, because the redirect back from Twitch lands in a new Streamlit session
and the product keeps nothing on local disk.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from shared.domain.errors import ByteClipsError
from shared.domain.twitch_models import TokenGrant, TokenInfo
from shared.domain.twitch_scopes import CONNECT_SCOPES, ScopeReport, scope_report

STATE_MAX_AGE_SECONDS = 600


class ConnectError(ByteClipsError):
    """The connect flow cannot finish; the message says what to do."""

    code = "connect_failed"


class _TwitchAuth(Protocol):
    """The part of HelixClips the flow uses."""

    client_id: str
    auth_base: str

    def exchange_code(self, code: str, *, redirect_uri: str, client_secret: str) -> TokenGrant: ...

    def validate_token(self, access_token: str) -> TokenInfo: ...


class _TokenSaver(Protocol):
    def save_grant(
        self, grant: TokenGrant, *, user_id: str, login: str | None, client_id: str
    ) -> object: ...


class _StateSigner(TimestampSigner):
    """itsdangerous' timestamp signer on an injectable clock, so tests need not wait."""

    def __init__(self, secret: str, now: float | None) -> None:
        super().__init__(secret, salt="byteclips.connect.state", digest_method=hashlib.sha256)
        self._now = now

    def get_timestamp(self) -> int:
        return int(time.time() if self._now is None else self._now)


def make_state(secret: str, *, now: float | None = None) -> str:
    """A random, signed, timestamped `state`."""
    return _StateSigner(secret, now).sign(secrets.token_urlsafe(16)).decode()


def check_state(
    state: str, secret: str, *, now: float | None = None, max_age: int = STATE_MAX_AGE_SECONDS
) -> None:
    """Refuse a `state` we did not sign, or one older than `max_age` seconds."""
    try:
        _StateSigner(secret, now).unsign(state, max_age=max_age)
    except SignatureExpired:
        raise ConnectError("the sign-in took longer than 10 minutes; start Connect again") from None
    except BadSignature:
        raise ConnectError(
            "the sign-in answer is not one we started; start Connect again"
        ) from None


def authorization_url(
    auth_base: str,
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    scopes: Iterable[str] = CONNECT_SCOPES,
) -> str:
    """Twitch's authorization-code URL; `force_verify` lets the operator pick the account."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "force_verify": "true",
        }
    )
    return f"{auth_base.rstrip('/')}/authorize?{query}"


@dataclass(frozen=True)
class Connected:
    """Who connected and what their token can do (never the token itself)."""

    user_id: str
    login: str | None
    scopes: tuple[str, ...]
    report: ScopeReport


def complete(
    twitch: _TwitchAuth,
    tokens: _TokenSaver,
    *,
    code: str | None,
    state: str | None,
    error: str | None = None,
    redirect_uri: str,
    client_secret: str,
) -> Connected:
    """Finish the flow from the redirect's query: check state, exchange, validate, store."""
    if error:
        raise ConnectError(f"Twitch says the sign-in was not granted ({error}); try Connect again")
    if not code or not state:
        raise ConnectError("the sign-in answer has no code or state; start Connect again")
    check_state(state, client_secret)
    grant = twitch.exchange_code(code, redirect_uri=redirect_uri, client_secret=client_secret)
    info = twitch.validate_token(grant.access_token)
    if info.client_id != twitch.client_id:
        raise ConnectError("Twitch issued the token to another app; check TWITCH_CLIENT_ID")
    if not info.user_id:
        raise ConnectError("Twitch returned an app token, not a user token; connect again")
    tokens.save_grant(grant, user_id=info.user_id, login=info.login, client_id=info.client_id)
    scopes = tuple(sorted(info.scopes))
    return Connected(info.user_id, info.login, scopes, scope_report(scopes))
