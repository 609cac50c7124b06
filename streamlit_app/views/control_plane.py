"""Control plane: the flags, tunables and chat bot settings of `control_plane/config`, saved
live, with history.

Saving writes only what this operator changed, under their name, through
ControlPlaneStore.write (chat settings too); the page refreshes every few seconds so a change
made elsewhere shows.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import streamlit as st

from shared.domain.clock import utc_now
from shared.domain.control_plane import ControlPlaneConfig, setting_value
from shared.domain.errors import ConfigInvalid
from streamlit_app import ui
from streamlit_app.actions import Outcome
from streamlit_app.control_form import (
    FieldSpec,
    all_specs,
    changed_fields,
    chat_field_specs,
    field_specs,
    history_rows,
    widget_value,
)
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
    values = {spec.name: st.session_state[_key(spec.name, version)] for spec in all_specs()}
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
    elif spec.kind in ("seconds", "number"):
        st.number_input(
            spec.label,
            min_value=spec.minimum,
            max_value=spec.maximum,
            value=float(value),
            step=0.1,
            format="%.1f" if spec.kind == "seconds" else "%g",
            help=spec.help,
            key=key,
        )
    elif spec.kind == "multi":
        st.multiselect(spec.label, spec.options, default=value, help=spec.help, key=key)
    elif spec.kind == "weights":
        st.text_area(spec.label, value=value, height=150, help=spec.help, key=key)
    else:
        unset = "unset: the default clip duration" if spec.kind == "seconds_or_unset" else None
        st.text_input(spec.label, value=value, placeholder=unset, help=spec.help, key=key)


def _field(
    spec: FieldSpec, config: ControlPlaneConfig, version: str, errors: dict[str, str]
) -> None:
    value = widget_value(spec, setting_value(config, spec.name))
    _widget(spec, value, _key(spec.name, version))
    if spec.name in errors:
        st.error(f"{spec.label}: {ui.literal(errors[spec.name])}")


def _form(config: ControlPlaneConfig) -> None:
    version = _version(config)
    errors: dict[str, str] = st.session_state.get(ERRORS, {})
    chat = chat_field_specs()
    shown = {spec.name for spec in field_specs() + chat}
    with st.form("control_plane", border=True):
        for name, message in errors.items():
            if name not in shown:
                st.error(ui.literal(f"{name}: {message}"))
        flags, tunables = st.columns(2, gap="large")
        for spec in field_specs():
            with flags if spec.kind == "flag" else tunables:
                _field(spec, config, version, errors)
        chat_errors = any(spec.name in errors for spec in chat)
        with st.expander("Chat bot settings", expanded=chat_errors, icon=":material/forum:"):
            for group, specs in groupby(chat, key=lambda spec: spec.group):
                st.markdown(f"**{group}**")
                left, right = st.columns(2, gap="large")
                for index, spec in enumerate(specs):
                    with left if index % 2 == 0 else right:
                        _field(spec, config, version, errors)
        st.form_submit_button(
            "Save changes", type="primary", key="cp_save", on_click=_save, args=(config, version)
        )


@st.fragment(run_every=REFRESH_SECONDS)
def live_control_plane() -> None:
    ui.show_flash("control")
    with firestore_guard("load the control plane"):
        store = stores().control
        config = store.read(fresh=True)
        now = utc_now()
        if config.updated_by:
            who = ui.literal(config.updated_by)
            st.caption(f"Last changed by **{who}** {ago(config.updated_at, now)}.")
        else:
            st.caption("Never changed: every setting has its default.")
        ui.switch_banners(config)
        for note in store.retired_notes():
            st.info(note, icon=":material/info:")
        _form(config)
        st.subheader("Change history")
        rows = history_rows(store.history(limit=HISTORY_SHOWN), now)
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No changes recorded yet.")


st.title("Control plane")
st.caption(
    "Flags, tunables and the chat bot's settings, live: the functions and the chat bot read "
    "them within seconds, no redeploy. Every save is recorded with who made it."
)
live_control_plane()
