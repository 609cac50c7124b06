"""The Connect Twitch flow's core: authorization URL with a checked `state`, code exchange.

The `state` is signed (HMAC with the client secret) and time-limited instead of being kept in
a session, because the redirect back from Twitch lands in a new Streamlit session and the
product keeps nothing on local disk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

from shared.domain.errors import ByteClipsError
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES, ScopeReport, scope_report

STATE_MAX_AGE_SECONDS = 600


class ConnectError(ByteClipsError):
    """The connect flow cannot finish; the message says what to do."""

    code = "connect_failed"


class _Validated(Protocol):
    client_id: str
    login: str | None
    user_id: str | None
    scopes: tuple[str, ...]


class _TwitchAuth(Protocol):
    """The part of HelixClips the flow uses."""

    client_id: str
    auth_base: str

    def exchange_code(self, code: str, *, redirect_uri: str, client_secret: str) -> TokenGrant: ...

    def validate_token(self, access_token: str) -> _Validated: ...


class _TokenSaver(Protocol):
    def save_grant(
        self, grant: TokenGrant, *, user_id: str, login: str | None, client_id: str
    ) -> object: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_state(secret: str, *, now: float | None = None) -> str:
    """A random, signed, timestamped `state`."""
    payload = _b64(
        json.dumps({"n": secrets.token_urlsafe(16), "t": int(now or time.time())}).encode()
    )
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def check_state(
    state: str, secret: str, *, now: float | None = None, max_age: int = STATE_MAX_AGE_SECONDS
) -> None:
    """Refuse a `state` we did not sign, or one older than `max_age` seconds."""
    try:
        payload, signature = state.split(".", 1)
        expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
        issued = int(json.loads(_unb64(payload))["t"])
    except (ValueError, KeyError, TypeError):
        raise ConnectError(
            "the sign-in answer is not one we started; start Connect again"
        ) from None
    if not hmac.compare_digest(signature, expected):
        raise ConnectError("the sign-in answer is not one we started; start Connect again")
    if (now or time.time()) - issued > max_age:
        raise ConnectError("the sign-in took longer than 10 minutes; start Connect again")


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
