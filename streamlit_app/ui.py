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

import re
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import streamlit as st
from google.api_core.exceptions import GoogleAPIError
from streamlit.delta_generator import DeltaGenerator

from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.language import N_
from shared.domain.text import markdown_literal
from shared.domain.validation import problems_text
from streamlit_app.actions import Level, Outcome
from streamlit_app.auth import session_operator
from streamlit_app.data import FirestoreUnavailable
from streamlit_app.incidents import message, report
from streamlit_app.language import words
from streamlit_app.liveness import Drawn, needs_redraw
from streamlit_app.paging import PageWindow, page_window
from streamlit_app.resources import ConfigInForce

_PLAIN_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
FLASH_SECONDS = 8.0

_SHOW: dict[Level, Callable[..., object]] = {
    "success": st.success,
    "info": st.info,
    "warning": st.warning,
    "error": st.error,
}


def literal(value: object) -> str:
    """Markdown that shows `value` exactly as written: no link, image, HTML or formatting."""
    return "" if value is None else markdown_literal(str(value))


def code_id(value: str) -> str:
    """An id in a code span when it is plain (ours are), else as literal text: a backtick in
    a foreign document's id would end the span and let the rest act as Markdown."""
    return f"`{value}`" if _PLAIN_ID.match(value) else literal(value)


def operator() -> str:
    """The logged-in operator, recorded as `by=` on every write."""
    return session_operator() or ""


def show(outcome: Outcome) -> None:
    """Outcome messages quote names, ids and Twitch's answers, so they are shown as text."""
    _SHOW[outcome.level](literal(outcome.message))


@dataclass(frozen=True)
class Flash:
    outcome: Outcome
    at: float


def flash(key: str, outcome: Outcome) -> None:
    """Keep an outcome for the runs of the page or fragment that shows it."""
    st.session_state[f"flash_{key}"] = Flash(outcome, time.monotonic())


def show_flash(key: str) -> None:
    """Show the outcome for FLASH_SECONDS, across redraws: a live page may redraw at once (a
    redraw can even cut the run that first showed it short), and the operator must still
    read what their click did."""
    kept = st.session_state.get(f"flash_{key}")
    if not isinstance(kept, Flash) or time.monotonic() - kept.at > FLASH_SECONDS:
        st.session_state.pop(f"flash_{key}", None)
        return
    show(kept.outcome)


def switch_banners(config: ControlPlaneConfig) -> None:
    """Say loudly when a switch stops clips, and where to turn it back on."""
    t = words()
    if not config.clip_pipeline_enabled:
        st.warning(
            t(
                "The clip pipeline is switched **off**: no new candidates are queued and "
                "approved jobs wait. Turn it on on the Control plane page."
            ),
            icon=":material/pause_circle:",
        )
    if not config.clip_api_enabled:
        st.warning(
            t(
                "The Twitch clip API is switched **off** (rollback switch): no clip is "
                "created; approved jobs wait. Turn it on on the Control plane page."
            ),
            icon=":material/pause_circle:",
        )


def config_problems(in_force: ConfigInForce) -> None:
    """Flag refused control-plane settings: the page runs on, with their last good values."""
    if in_force.problems:
        t = words()
        refused = problems_text(in_force.problems, t)
        st.error(
            t(
                "The stored control plane (control_plane/config) has settings this app cannot "
                "read: {refused}. Until they are fixed, each runs on its last good value or "
                "its default (a switch: off). Save valid values on the Control plane page.",
                refused=literal(refused),
            ),
            icon=":material/report:",
        )


def unreadable(key: str, heading: str, problem: str, what_to_do: str) -> DeltaGenerator:
    """A flagged row for a stored document the app cannot read: which one, why, what to do.
    Returns its container, for the page to add the button that resolves it."""
    box = st.container(border=True, key=key)
    with box:
        st.markdown(f"#### {literal(heading)}")
        st.error(literal(problem), icon=":material/report:")
        t = words()
        st.caption(t("What to do: {what}", what=literal(what_to_do)))
    return box


def pager(key: str, total: int, size: int) -> PageWindow:
    """A page number input when `total` needs more than one page; the window to show."""
    pages = page_window(total, 1, size).pages
    if pages > 1:
        if st.session_state.get(key, 1) > pages:
            st.session_state[key] = pages
        t = words()
        st.number_input(t("Page"), min_value=1, max_value=pages, step=1, key=key, width=160)
    return page_window(total, int(st.session_state.get(key, 1)), size)


def drawn(key: str, marker: Hashable | None) -> None:
    """Record, at the start of a full draw, what the page draws from."""
    st.session_state[key] = Drawn(marker, time.monotonic())


def redraw_when_changed(
    key: str, current: Callable[[], Hashable], *, refresh_after: float | None = None
) -> None:
    """The body of a live page's ticker fragment: costs no read, draws nothing, and reruns
    the page when `needs_redraw` says so."""
    last = st.session_state.get(key)
    if not isinstance(last, Drawn):
        return
    try:
        marker: Hashable | None = current()
    except Exception:
        marker = None
    if needs_redraw(last, marker, time.monotonic(), refresh_after=refresh_after):
        st.rerun()


def act(key: str, action: Callable[[], Outcome]) -> Outcome:
    """Run a button's action for a logged-in operator; an outage becomes a message, and so
    does anything unexpected (with a reference to its logged traceback)."""
    t = words(read=False)
    if not operator():
        outcome = Outcome("error", t("Nothing was changed: your login has ended. Log in again."))
        flash(key, outcome)
        return outcome
    try:
        outcome = action()
    except FirestoreUnavailable as error:
        outcome = Outcome("error", t("Nothing was changed. {error}", error=error))
    except GoogleAPIError as error:
        outcome = Outcome(
            "error",
            t(
                "Nothing was changed: Firestore answered with an error ({kind}). Try again in a "
                "moment; if it keeps failing, check the network and credentials.",
                kind=type(error).__name__,
            ),
        )
    except Exception as error:
        reference = report(error, "run an operator action")
        outcome = Outcome("error", message(N_("do that"), reference, t))
    flash(key, outcome)
    return outcome
