"""Connect Twitch, app side: settings from the environment, the redirect's handler, and what
the page shows about stored tokens. No Streamlit here and never a token in any return value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import requests

from shared.connect.flow import Connected, complete
from shared.domain.errors import ByteClipsError
from shared.domain.language import ENGLISH, Translate
from shared.domain.twitch_scopes import ScopeReport, scope_report
from shared.store.twitch_tokens import StoredToken, TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

DEFAULT_REDIRECT_URI = "http://localhost:8501/"
CALLBACK_KEYS = ("code", "state", "error", "error_description", "scope")


@dataclass(frozen=True)
class ConnectSettings:
    """What the flow needs from the environment; `missing` names what is not set."""

    client_id: str
    client_secret: str
    redirect_uri: str
    broadcaster_id: str

    @property
    def missing(self) -> list[str]:
        wanted = {"TWITCH_CLIENT_ID": self.client_id, "TWITCH_CLIENT_SECRET": self.client_secret}
        return [name for name, value in wanted.items() if not value]


def connect_settings(env: Mapping[str, str] = os.environ) -> ConnectSettings:
    return ConnectSettings(
        client_id=env.get("TWITCH_CLIENT_ID", "").strip(),
        client_secret=env.get("TWITCH_CLIENT_SECRET", "").strip(),
        redirect_uri=env.get("TWITCH_REDIRECT_URI", "").strip() or DEFAULT_REDIRECT_URI,
        broadcaster_id=env.get("TWITCH_BROADCASTER_ID", "").strip(),
    )


@dataclass(frozen=True)
class Callback:
    """The query Twitch's redirect brought back."""

    code: str | None
    state: str | None
    error: str | None
    error_description: str | None


def callback_from_query(query: Mapping[str, str | list[str]]) -> Callback | None:
    """None unless this page load is Twitch's redirect (it always carries state or error)."""

    def one(key: str) -> str | None:
        value = query.get(key)
        if isinstance(value, list):
            value = value[-1] if value else None
        return value or None

    if one("state") is None and one("error") is None:
        return None
    return Callback(one("code"), one("state"), one("error"), one("error_description"))


@dataclass(frozen=True)
class ConnectResult:
    """How the redirect ended: `connected` on success, else `message` says what to do."""

    connected: Connected | None
    message: str

    @property
    def ok(self) -> bool:
        return self.connected is not None


def finish_connect(
    callback: Callback,
    *,
    twitch: HelixClips,
    tokens: TwitchTokenStore,
    settings: ConnectSettings,
    t: Translate = ENGLISH,
) -> ConnectResult:
    """Check state, exchange the code, validate and store the tokens; never raises."""
    try:
        connected = complete(
            twitch,
            tokens,
            code=callback.code,
            state=callback.state,
            error=callback.error,
            redirect_uri=settings.redirect_uri,
            client_secret=settings.client_secret,
        )
    except requests.RequestException:
        return ConnectResult(
            None,
            t(
                "Twitch could not be reached to finish the sign-in. Check the network, then "
                "start Connect again."
            ),
        )
    except ByteClipsError as error:
        return ConnectResult(None, t("Not connected: {error}. Start Connect again.", error=error))
    who = connected.login or connected.user_id
    if connected.report.missing:
        message = t(
            "Connected {who}, but the token lacks {scopes}: clipping will fail until you "
            "connect again and approve every requested permission.",
            who=who,
            scopes=", ".join(connected.report.missing),
        )
    else:
        message = t("Connected {who}: live clips, VOD clips and downloads are allowed.", who=who)
    return ConnectResult(connected, message)


@dataclass(frozen=True)
class AccountView:
    """A stored connection as the page shows it: identity, scopes, expiry, never tokens."""

    user_id: str
    login: str
    scopes: tuple[str, ...]
    report: ScopeReport
    expires_at: datetime | None
    obtained_at: datetime | None
    role: str


def account_view(
    token: StoredToken, *, broadcaster_id: str, editor_id: str | None, t: Translate = ENGLISH
) -> AccountView:
    roles = []
    if token.user_id == broadcaster_id:
        roles.append(t("broadcaster"))
    if editor_id and token.user_id == editor_id:
        roles.append(t("clip editor (creates the clips)"))
    elif not editor_id and token.user_id == broadcaster_id:
        roles.append(t("creates the clips"))
    return AccountView(
        user_id=token.user_id,
        login=token.login or t("(unknown login)"),
        scopes=tuple(token.scopes),
        report=scope_report(token.scopes),
        expires_at=token.expires_at,
        obtained_at=token.obtained_at,
        role=", ".join(roles) or t("not used for clipping"),
    )
