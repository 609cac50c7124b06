"""Control plane: the flags, tunables and chat bot settings of `control_plane/config`, saved
live, with history.

Saving writes only what this operator changed, under their name, through
ControlPlaneStore.write (chat settings too); the page refreshes every few seconds so a change
made elsewhere shows.
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

import streamlit as st

from shared.domain.clock import utc_now
from shared.domain.control_plane import ControlPlaneConfig, setting_value
from shared.domain.errors import ConfigInvalid, FieldProblem, NotFound
from shared.domain.language import N_
from shared.domain.validation import problem_text
from shared.i18n import Translator
from shared.pipeline.chat_tuning import MIN_MOMENTS, revert_tuning
from shared.store.chat_timeline import ChatTuningLog
from streamlit_app import ui
from streamlit_app.actions import Outcome
from streamlit_app.control_form import (
    FieldSpec,
    all_specs,
    approval_field_specs,
    changed_fields,
    chat_field_specs,
    field_specs,
    history_rows,
    normalise,
    option_label,
    value_text,
    widget_value,
)
from streamlit_app.formatting import ago
from streamlit_app.incidents import contain
from streamlit_app.language import forget, words
from streamlit_app.resources import config_in_force, firestore_guard, stores

REFRESH_SECONDS = 5.0
HISTORY_SHOWN = 50
TUNING_SHOWN = 5
ERRORS = "cp_errors"


def _version(config: ControlPlaneConfig) -> str:
    """Widget keys change with each save, so everyone's form shows the saved values."""
    return config.updated_at.isoformat() if config.updated_at else "defaults"


def _key(name: str, version: str) -> str:
    return f"cp_{name}_{version}"


def _repairs(values: dict[str, Any], refused: tuple[str, ...]) -> dict[str, Any]:
    """The form's values for the settings the stored document got wrong: saving writes them
    even unchanged, which repairs the document."""
    specs = {spec.name: spec for spec in all_specs()}
    return {
        name: normalise(spec, values[name])
        for name, spec in specs.items()
        if any(name == field or name.startswith(f"{field}.") for field in refused)
    }


def _save(shown: ControlPlaneConfig, version: str, refused: tuple[str, ...] = ()) -> None:
    st.session_state.pop(ERRORS, None)
    values = {spec.name: st.session_state[_key(spec.name, version)] for spec in all_specs()}
    changes = _repairs(values, refused) | changed_fields(shown, values)
    if not changes:
        t = words()
        ui.flash("control", Outcome("info", t("Nothing changed, so nothing was saved.")))
        return

    def run() -> Outcome:
        try:
            stores().control_in_force.write(changes, by=ui.operator())
        except ConfigInvalid as error:
            t = words()
            st.session_state[ERRORS] = {p.field: problem_text(p, t) for p in error.problems}
            return Outcome("error", t("Not saved: fix the fields marked below."))
        forget()
        t = words()
        names = ", ".join(changes)
        return Outcome(
            "success",
            t("Saved {names}. Workers pick it up within a few seconds.", names=names),
        )

    ui.act("control", run)


def _widget(spec: FieldSpec, value: Any, key: str) -> None:
    t = words()
    if spec.kind == "flag":
        st.toggle(spec.label, value=bool(value), help=spec.help, key=key)
    elif spec.kind == "choice":
        st.radio(
            spec.label,
            spec.options,
            index=spec.options.index(value),
            format_func=lambda option: option_label(option, t),
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
        st.multiselect(
            spec.label,
            spec.options,
            default=value,
            format_func=lambda option: option_label(option, t),
            help=spec.help,
            key=key,
        )
    elif spec.kind in ("weights", "rules"):
        st.text_area(spec.label, value=value, height=150, help=spec.help, key=key)
    else:
        unset = t("unset: the default clip duration") if spec.kind == "seconds_or_unset" else None
        st.text_input(spec.label, value=value, placeholder=unset, help=spec.help, key=key)


def _field(
    spec: FieldSpec, config: ControlPlaneConfig, version: str, errors: dict[str, str]
) -> None:
    value = widget_value(spec, setting_value(config, spec.name))
    _widget(spec, value, _key(spec.name, version))
    if spec.name in errors:
        st.error(f"{spec.label}: {ui.literal(errors[spec.name])}")


def _form(config: ControlPlaneConfig, problems: tuple[FieldProblem, ...] = ()) -> None:
    version = _version(config)
    t = words()
    stored = {
        p.field: t(
            "{problem} (stored value refused; saving writes the one shown)",
            problem=problem_text(p, t),
        )
        for p in problems
    }
    errors: dict[str, str] = stored | st.session_state.get(ERRORS, {})
    chat = chat_field_specs(t)
    approval = approval_field_specs(t)
    shown = {spec.name for spec in field_specs(t) + chat + approval}
    with st.form("control_plane", border=True):
        for name, message in errors.items():
            if name not in shown:
                st.error(ui.literal(f"{name}: {message}"))
        flags, tunables = st.columns(2, gap="large")
        for spec in field_specs(t):
            with flags if spec.kind == "flag" else tunables:
                _field(spec, config, version, errors)
        chat_errors = any(spec.name in errors for spec in chat)
        with st.expander(t("Chat bot settings"), expanded=chat_errors, icon=":material/forum:"):
            for group, specs in groupby(chat, key=lambda spec: spec.group):
                st.markdown(f"**{group}**")
                left, right = st.columns(2, gap="large")
                for index, spec in enumerate(specs):
                    with left if index % 2 == 0 else right:
                        _field(spec, config, version, errors)
        approval_errors = any(spec.name in errors for spec in approval)
        with st.expander(
            t("Approval: mods in chat, auto-approval policy, Discord"),
            expanded=approval_errors,
            icon=":material/bolt:",
        ):
            for group, specs in groupby(approval, key=lambda spec: spec.group):
                st.markdown(f"**{group}**")
                for spec in specs:
                    _field(spec, config, version, errors)
        refused = tuple(p.field for p in problems)
        st.form_submit_button(
            t("Save changes"),
            type="primary",
            key="cp_save",
            on_click=_save,
            args=(config, version, refused),
        )


def _revert_tuning(broadcaster_id: str) -> None:
    def run() -> Outcome:
        t = words()
        log, control = ChatTuningLog(stores().db), stores().control
        try:
            revert_tuning(log, control, broadcaster_id, by=ui.operator())
        except NotFound:
            return Outcome("info", t("Nothing to revert: that tuning is no longer in force."))
        return Outcome(
            "success", t("Reverted: the chat detector is back on the values before the tuning.")
        )

    ui.act("control", run)


def _tuning(now: datetime, t: Translator) -> None:
    """The after-stream tuning: what it set, when and from how many viewers' clips, with a
    one-click revert of the run in force."""
    st.subheader(t("Chat tuning from viewers' clips"))
    records = ChatTuningLog(stores().db).recent(limit=TUNING_SHOWN)
    if not records:
        st.caption(
            t(
                "No stream was tuned yet. After a stream, the tuning job fits the chat "
                "detector to the moments its viewers clipped."
            )
        )
        return
    for record in records:
        channel = ui.literal(record.broadcaster_id)
        st.markdown(
            t(
                "**Channel {channel}**: tuned {ago} from {clips} viewers' clips "
                "({moments} moments).",
                channel=channel,
                ago=ago(record.at, now, t),
                clips=record.clips,
                moments=record.moments,
            )
        )
        if not record.changed:
            if record.note:
                st.caption(t(record.note, moments=record.moments, needed=MIN_MOMENTS))
            continue
        weights = record.values.get("chat.signal_weights") or {}
        st.caption(
            t(
                "Weights {weights}, score threshold {threshold} (before: {before_weights}, "
                "{before_threshold}). They catch {after} of the clipped moments, the previous "
                "values {previous}.",
                weights=ui.literal(value_text(weights)),
                threshold=record.values.get("chat.score_threshold"),
                before_weights=ui.literal(value_text(record.before.get("chat.signal_weights"))),
                before_threshold=record.before.get("chat.score_threshold"),
                after=record.caught_after,
                previous=record.caught_before,
            )
        )
        if record.reverted_at is not None:
            st.caption(
                t(
                    "Reverted by {who} {ago}.",
                    who=ui.literal(record.reverted_by or "?"),
                    ago=ago(record.reverted_at, now, t),
                )
            )
        else:
            st.button(
                t("Revert this tuning"),
                key=f"cp_revert_tuning_{record.broadcaster_id}",
                on_click=_revert_tuning,
                args=(record.broadcaster_id,),
            )


@st.fragment(run_every=REFRESH_SECONDS)
def live_control_plane() -> None:
    ui.show_flash("control")
    with (
        contain(N_("show the control plane")),
        firestore_guard(N_("load the control plane")),
    ):
        store = stores().control
        in_force = config_in_force()
        config = in_force.config
        now = utc_now()
        t = words()
        if config.updated_by:
            who = ui.literal(config.updated_by)
            st.caption(
                t("Last changed by **{who}** {ago}.", who=who, ago=ago(config.updated_at, now, t))
            )
        else:
            st.caption(t("Never changed: every setting has its default."))
        ui.config_problems(in_force)
        ui.switch_banners(config)
        for note in store.retired_notes(t):
            st.info(note, icon=":material/info:")
        _form(config, in_force.problems)
        st.subheader(t("Change history"))
        rows = history_rows(store.history(limit=HISTORY_SHOWN), now, t)
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption(t("No changes recorded yet."))
        _tuning(now, t)


t = words()
st.title(t("Control plane"))
st.caption(
    t(
        "Flags, tunables and the chat bot's settings, live: the functions and the chat bot "
        "read them within seconds, no redeploy. Every save is recorded with who made it."
    )
)
live_control_plane()
