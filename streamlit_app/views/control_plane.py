"""Control plane: the flags and tunables of `control_plane/config`, saved live, with history.

Saving writes only what this operator changed, under their name, through
ControlPlaneStore.write; the page refreshes every few seconds so a change made elsewhere shows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ConfigInvalid
from streamlit_app import ui
from streamlit_app.actions import Outcome
from streamlit_app.control_form import FieldSpec, changed_fields, field_specs, history_rows
from streamlit_app.formatting import ago
from streamlit_app.resources import firestore_guard, stores

REFRESH_SECONDS = 5.0
HISTORY_SHOWN = 50
ERRORS = "cp_errors"


def _version(config: ControlPlaneConfig) -> str:
    """Widget keys change with each save, so everyone's form shows the saved values."""
    return config.updated_at.isoformat() if config.updated_at else "defaults"


def _key(name: str, version: str) -> str:
    return f"cp_{name}_{version}"


def _save(shown: ControlPlaneConfig, version: str) -> None:
    st.session_state.pop(ERRORS, None)
    values = {spec.name: st.session_state[_key(spec.name, version)] for spec in field_specs()}
    changes = changed_fields(shown, values)
    if not changes:
        ui.flash("control", Outcome("info", "Nothing changed, so nothing was saved."))
        return

    def run() -> Outcome:
        try:
            stores().control.write(changes, by=ui.operator())
        except ConfigInvalid as error:
            st.session_state[ERRORS] = {p.field: p.message for p in error.problems}
            return Outcome("error", "Not saved: fix the fields marked below.")
        names = ", ".join(changes)
        return Outcome("success", f"Saved {names}. Workers pick it up within a few seconds.")

    ui.act("control", run)


def _widget(spec: FieldSpec, value: Any, key: str) -> None:
    if spec.kind == "flag":
        st.toggle(spec.label, value=bool(value), help=spec.help, key=key)
    elif spec.kind == "choice":
        st.radio(
            spec.label,
            spec.options,
            index=spec.options.index(value),
            horizontal=True,
            help=spec.help,
            key=key,
        )
    elif spec.kind == "int":
        st.number_input(
            spec.label,
            min_value=int(spec.minimum) if spec.minimum is not None else None,
            max_value=int(spec.maximum) if spec.maximum is not None else None,
            value=int(value),
            step=1,
            help=spec.help,
            key=key,
        )
    elif spec.kind == "seconds":
        st.number_input(
            spec.label,
            min_value=spec.minimum,
            max_value=spec.maximum,
            value=float(value),
            step=0.1,
            format="%.1f",
            help=spec.help,
            key=key,
        )
    else:
        st.text_input(spec.label, value=value or "", help=spec.help, key=key)


def _form(config: ControlPlaneConfig) -> None:
    version = _version(config)
    current = config.model_dump()
    errors: dict[str, str] = st.session_state.get(ERRORS, {})
    specs = field_specs()
    with st.form("control_plane", border=True):
        flags, tunables = st.columns(2, gap="large")
        for spec in specs:
            with flags if spec.kind == "flag" else tunables:
                _widget(spec, current[spec.name], _key(spec.name, version))
                if spec.name in errors:
                    st.error(f"{spec.label}: {errors[spec.name]}")
        st.form_submit_button(
            "Save changes", type="primary", key="cp_save", on_click=_save, args=(config, version)
        )


@st.fragment(run_every=REFRESH_SECONDS)
def live_control_plane() -> None:
    ui.show_flash("control")
    with firestore_guard("load the control plane"):
        store = stores().control
        config = store.read(fresh=True)
        now = datetime.now(UTC)
        if config.updated_by:
            st.caption(f"Last changed by **{config.updated_by}** {ago(config.updated_at, now)}.")
        else:
            st.caption("Never changed: every setting has its default.")
        ui.switch_banners(config)
        _form(config)
        st.subheader("Change history")
        rows = history_rows(store.history(limit=HISTORY_SHOWN), now)
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No changes recorded yet.")


st.title("Control plane")
st.caption(
    "Flags and tunables, live: the functions and the chat bot read them within seconds, "
    "no redeploy. Every save is recorded with who made it."
)
live_control_plane()
