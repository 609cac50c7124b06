"""The Streamlit app under `AppTest`, as the page tests open it: the app file, the elements
whose text a person reads, and an operator logging in with the dashboard password."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
# Without the Twitch settings, so a test's page never reaches a real Twitch.
TWITCH_ENV = (
    "TWITCH_CLIENT_ID",
    "TWITCH_CLIENT_SECRET",
    "TWITCH_BROADCASTER_ID",
    "TWITCH_REDIRECT_URI",
    "TWITCH_AUTH_BASE",
    "TWITCH_API_BASE",
)
HEADINGS = ("title", "header", "subheader")
MESSAGES = ("markdown", "caption", "error", "warning", "info", "success")
# Elements whose value Streamlit renders as Markdown text.
TEXT_ELEMENTS = (*HEADINGS, *MESSAGES)


def fresh_app(monkeypatch: pytest.MonkeyPatch, password: str) -> None:
    """The next AppTest starts with this dashboard password, no Twitch settings and no cached
    resources (the caller clears `st.cache_resource` again afterwards)."""
    monkeypatch.setenv("DASHBOARD_PASSWORD", password)
    for name in TWITCH_ENV:
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()


def log_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()
