"""Who the operator is, before anything else renders.

OIDC (`st.login`) when `.streamlit/secrets.toml` has an `[auth]` section, otherwise the shared
password from `DASHBOARD_PASSWORD` plus the operator's name (so approvals and control-plane
history say who). With neither configured, the app only explains how to configure one.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import os
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import streamlit as st

from shared.domain.language import ENGLISH, Translate
from shared.domain.text import markdown_literal, visible_text
from streamlit_app.language import words

PASSWORD_ENV = "DASHBOARD_PASSWORD"
MAX_NAME_CHARS = 60
WRONG_PASSWORD_DELAY_SECONDS = 1.0
_OPERATOR = "auth_operator"
_TAG = "auth_tag"


class AuthMode(StrEnum):
    OIDC = "oidc"
    PASSWORD = "password"
    UNCONFIGURED = "unconfigured"


def auth_mode(auth_section: Mapping[str, Any] | None, password: str | None) -> AuthMode:
    """OIDC wins when configured; a blank password counts as not configured."""
    if auth_section:
        return AuthMode.OIDC
    if password and password.strip():
        return AuthMode.PASSWORD
    return AuthMode.UNCONFIGURED


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the password cannot be guessed by timing."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def password_tag(password: str) -> str:
    """A fingerprint kept in the session: changing DASHBOARD_PASSWORD logs everyone out."""
    return hashlib.sha256(b"byte-clips-dashboard:" + password.encode("utf-8")).hexdigest()[:16]


def clean_operator_name(name: str, t: Translate = ENGLISH) -> str:
    """The typed name as recorded: no control, bidi or invisible characters to spoof it."""
    name = visible_text(name)
    if not name:
        raise ValueError(t("Enter your name: it is recorded with every approval and change."))
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(t("Your name must be at most {limit} characters.", limit=MAX_NAME_CHARS))
    return name


def oidc_provider(auth_section: Mapping[str, Any]) -> str | None:
    """None for the default provider (`client_id` directly under [auth]), else the first
    named provider ([auth.google] ...)."""
    if "client_id" in auth_section:
        return None
    for name, value in auth_section.items():
        if isinstance(value, Mapping) and "client_id" in value:
            return str(name)
    return None


def operator_from_user(user: Mapping[str, Any]) -> str:
    """The identity recorded as `by=`: email, else name, else the subject id. The provider's
    claims are someone else's text: control, bidi and invisible characters go."""
    for key in ("email", "name", "preferred_username", "sub"):
        value = visible_text(str(user.get(key) or ""))
        if value:
            return value
    return "oidc-user"


# --------------------------------------------------------------------------- Streamlit side


def _auth_section() -> Mapping[str, Any] | None:
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        section = st.secrets.get("auth")
    except FileNotFoundError:
        return None
    return section if isinstance(section, Mapping) and section else None


def _how_to_configure() -> None:
    t = words(read=False)
    st.title(t("Byte Clips operations"))
    st.error(
        t(
            "Login is not configured, so this app shows nothing. Configure one of these, "
            "then reload the page."
        )
    )
    st.markdown(
        t(
            """
**Option 1, a shared password (simplest):** set the environment variable
`{env}` before starting the app, for example

```bash
{env}='a long random phrase' streamlit run streamlit_app/app.py
```

Each operator then logs in with that password and their own name.

**Option 2, single sign-on (OIDC, e.g. Google):** add an `[auth]` section to
`.streamlit/secrets.toml` (never commit that file) with `redirect_uri`
(`http://localhost:8501/oauth2callback` locally), `cookie_secret`, `client_id`,
`client_secret` and `server_metadata_url`, and install the `Authlib` package.
""",
            env=PASSWORD_ENV,
        )
    )


def _password_login(password: str) -> None:
    t = words(read=False)
    st.title(t("Byte Clips operations"))
    st.caption(t("Log in to see the clip queue, jobs and settings."))
    with st.form("login", border=True):
        name = st.text_input(t("Your name"), max_chars=MAX_NAME_CHARS, key="login_name")
        given = st.text_input(t("Password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("Log in"), type="primary")
    if not submitted:
        return
    try:
        operator = clean_operator_name(name, t)
    except ValueError as problem:
        st.error(str(problem))
        return
    if not password_matches(given, password):
        time.sleep(WRONG_PASSWORD_DELAY_SECONDS)
        st.error(
            t(
                "Wrong password. Ask whoever runs this app for the current one "
                "(it is the {env} setting).",
                env=PASSWORD_ENV,
            )
        )
        return
    st.session_state[_OPERATOR] = operator
    st.session_state[_TAG] = password_tag(password)
    st.rerun()


def _oidc_login(section: Mapping[str, Any]) -> None:
    t = words(read=False)
    st.title(t("Byte Clips operations"))
    if importlib.util.find_spec("authlib") is None:
        st.error(
            t(
                "Single sign-on is configured in .streamlit/secrets.toml but the Authlib "
                "package is missing. Install it (pip install Authlib) and restart the app."
            )
        )
        return
    st.caption(t("Log in with your organisation's account to continue."))
    provider = oidc_provider(section)
    if st.button(t("Log in"), type="primary"):
        if provider is None:
            st.login()
        else:
            st.login(provider)


def session_operator() -> str | None:
    """This session's operator while still logged in, else None. Button callbacks run before
    the page's login check, so they ask this too."""
    password = os.environ.get(PASSWORD_ENV, "")
    mode = auth_mode(_auth_section(), password)
    if mode is AuthMode.OIDC:
        return operator_from_user(st.user.to_dict()) if st.user.is_logged_in else None
    if mode is AuthMode.PASSWORD:
        operator = st.session_state.get(_OPERATOR)
        if operator and st.session_state.get(_TAG) == password_tag(password):
            return str(operator)
    return None


def require_operator() -> str:
    """The logged-in operator's name; otherwise render the login (or set-up help) and stop."""
    operator = session_operator()
    if operator:
        return operator
    section = _auth_section()
    password = os.environ.get(PASSWORD_ENV, "")
    mode = auth_mode(section, password)
    if mode is AuthMode.OIDC:
        _oidc_login(section or {})
    elif mode is AuthMode.PASSWORD:
        _password_login(password)
    else:
        _how_to_configure()
    st.stop()
    raise AssertionError("st.stop() returned")


def logout_button(operator: str) -> None:
    """Sidebar: who is logged in, and the way out."""
    t = words(read=False)
    with st.sidebar:
        st.caption(t("Logged in as **{operator}**", operator=markdown_literal(operator)))
        if st.button(t("Log out"), key="logout"):
            if _auth_section():
                st.logout()
            for key in (_OPERATOR, _TAG):
                st.session_state.pop(key, None)
            st.rerun()
