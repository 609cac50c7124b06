"""The app's language and the operator's time zone, for this run of a page.

The language is the control plane's `language` (docs/architecture.md §3.3), read through the
tolerant store's short cache (and at most once a second here, as every part of a page asks), so a
change saved on the Control plane page reaches every open page within seconds. Before login nothing
reads Firestore: the login page speaks the language this process last read (English until it has
read one). Times are shown in the operator's time zone, which the browser tells Streamlit
(`st.context.timezone`); UTC when it does not.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from shared.domain.language import DEFAULT_LANGUAGE
from shared.i18n import Translator, translator
from streamlit_app.resources import stores

REREAD_SECONDS = 1.0


@dataclass
class _Seen:
    """The language this process last read, and when (monotonic); shared by its sessions."""

    language: str = DEFAULT_LANGUAGE
    at: float = float("-inf")


_seen = _Seen()


def words(*, read: bool = True) -> Translator:
    """This run's translator: the control plane's language (`read=False`: the last one this
    process read, without touching Firestore)."""
    now = time.monotonic()
    if read and now - _seen.at >= REREAD_SECONDS:
        # An outage is the page's to report; meanwhile it speaks the last language it knew.
        with suppress(Exception):
            _seen.language = stores().control_in_force.read().language
            _seen.at = now
    return translator(_seen.language)


def forget() -> None:
    """Read the language again on the next call, English until then (tests)."""
    _seen.language, _seen.at = DEFAULT_LANGUAGE, float("-inf")


def operator_zone() -> tzinfo:
    """The operator's time zone as their browser reports it, else UTC."""
    try:
        name = st.context.timezone
    except Exception:
        name = None
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
