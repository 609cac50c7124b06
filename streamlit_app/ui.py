"""Small Streamlit pieces every page uses: untrusted text shown as text, outcome messages
that survive a rerun, banners.

Streamlit renders the body of `st.markdown`, `st.caption`, `st.error` and friends (and many
widget labels) as Markdown. Titles and excerpts come from chat, the LLM and vision; error
details from Twitch; names from an OIDC provider. Any of them can hold `![t](http://x/p.png)`,
which would make the operator's browser fetch it, or a link that looks like ours. So every
text we did not write goes through `literal` before it meets Markdown; `unsafe_allow_html`
stays off everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from google.api_core.exceptions import GoogleAPIError

from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.text import markdown_literal
from streamlit_app.actions import Level, Outcome
from streamlit_app.auth import session_operator
from streamlit_app.data import FirestoreUnavailable

_SHOW: dict[Level, Callable[..., object]] = {
    "success": st.success,
    "info": st.info,
    "warning": st.warning,
    "error": st.error,
}


def literal(value: object) -> str:
    """Markdown that shows `value` exactly as written: no link, image, HTML or formatting."""
    return "" if value is None else markdown_literal(str(value))


def operator() -> str:
    """The logged-in operator, recorded as `by=` on every write."""
    return session_operator() or ""


def show(outcome: Outcome) -> None:
    """Outcome messages quote names, ids and Twitch's answers, so they are shown as text."""
    _SHOW[outcome.level](literal(outcome.message))


def flash(key: str, outcome: Outcome) -> None:
    """Keep an outcome for the next run of the page or fragment that shows it."""
    st.session_state[f"flash_{key}"] = outcome


def show_flash(key: str) -> None:
    outcome = st.session_state.pop(f"flash_{key}", None)
    if isinstance(outcome, Outcome):
        show(outcome)


def switch_banners(config: ControlPlaneConfig) -> None:
    """Say loudly when a switch stops clips, and where to turn it back on."""
    if not config.clip_pipeline_enabled:
        st.warning(
            "The clip pipeline is switched **off**: no new candidates are queued and approved "
            "jobs wait. Turn it on on the Control plane page.",
            icon=":material/pause_circle:",
        )
    if not config.clip_api_enabled:
        st.warning(
            "The Twitch clip API is switched **off** (rollback switch): no clip is created; "
            "approved jobs wait. Turn it on on the Control plane page.",
            icon=":material/pause_circle:",
        )


def act(key: str, action: Callable[[], Outcome]) -> Outcome:
    """Run a button's action for a logged-in operator; an outage becomes a message."""
    if not operator():
        outcome = Outcome("error", "Nothing was changed: your login has ended. Log in again.")
        flash(key, outcome)
        return outcome
    try:
        outcome = action()
    except FirestoreUnavailable as error:
        outcome = Outcome("error", f"Nothing was changed. {error}")
    except GoogleAPIError as error:
        outcome = Outcome(
            "error",
            f"Nothing was changed: Firestore answered with an error ({type(error).__name__}). "
            "Try again in a moment; if it keeps failing, check the network and credentials.",
        )
    flash(key, outcome)
    return outcome
