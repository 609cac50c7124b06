"""Manual clip: the operator's own candidate, live or from a VOD, into the same queue.

It goes through ActionQueue.submit (source `manual`), so it is validated like every other
candidate: each refused field is shown under its widget, and nothing is written.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import streamlit as st

from shared.domain.clip_candidate import (
    MAX_DURATION,
    MAX_EXCERPT_CHARS,
    MAX_TITLE_CHARS,
    MIN_DURATION,
)
from shared.domain.errors import CandidateInvalid
from shared.domain.language import N_
from streamlit_app import ui
from streamlit_app.actions import Outcome
from streamlit_app.language import words
from streamlit_app.manual_form import (
    GENERAL,
    WIDGET_LABELS,
    ManualInput,
    candidate_fields,
    errors_by_widget,
    zone,
)
from streamlit_app.resources import config_in_force, firestore_guard, stores

ERRORS = "manual_errors"
MOMENT_CHOICES = {
    "now": N_("Just now"),
    "seconds_ago": N_("Seconds ago"),
    "at": N_("At a date and time"),
}


def _form_input() -> ManualInput:
    state = st.session_state
    return ManualInput(
        broadcaster_id=state.get("manual_broadcaster_id", ""),
        mode=state.get("manual_mode", "live"),
        title=state.get("manual_title", ""),
        duration=state.get("manual_duration"),
        moment=state.get("manual_moment", "now"),
        seconds_ago=state.get("manual_seconds_ago"),
        at_date=state.get("manual_at_date"),
        at_time=state.get("manual_at_time"),
        time_zone=st.context.timezone,
        note=state.get("manual_note", ""),
        vod_id=state.get("manual_vod_id", ""),
        vod_offset=state.get("manual_vod_offset", ""),
    )


def _submit() -> None:
    st.session_state.pop(ERRORS, None)

    def run() -> Outcome:
        store = stores()
        config = config_in_force().config
        t = words()
        if not config.clip_pipeline_enabled:
            return Outcome(
                "warning",
                t(
                    "Not queued: the clip pipeline is switched off. Turn it on on the Control "
                    "plane page, then queue the clip again."
                ),
            )
        fields, problems = candidate_fields(_form_input(), datetime.now(UTC))
        if not problems:
            try:
                result = store.queue.submit(
                    fields, dedupe_window_seconds=config.dedupe_window_seconds
                )
            except CandidateInvalid as error:
                problems = error.problems
            else:
                if result.duplicate:
                    return Outcome(
                        "info",
                        t(
                            "Already in the queue as {id} (same moment and title); nothing new "
                            "was added.",
                            id=result.action_id,
                        ),
                    )
                return Outcome(
                    "success",
                    t("Queued as {id}. Approve it on the Queue page.", id=result.action_id),
                )
        st.session_state[ERRORS] = errors_by_widget(problems, t)
        return Outcome("error", t("Not queued: fix the fields marked below. Nothing was saved."))

    ui.act("manual", run)


def _errors(widget: str) -> None:
    for message in st.session_state.get(ERRORS, {}).get(widget, []):
        shown = ui.literal(message)
        t = words()
        st.error(shown if widget == GENERAL else f"{t(WIDGET_LABELS[widget])} {shown}")


def _moment_inputs(moment: str) -> None:
    t = words()
    if moment == "seconds_ago":
        st.number_input(
            t("How many seconds ago?"),
            min_value=0,
            max_value=7 * 86400,
            value=10,
            step=1,
            key="manual_seconds_ago",
        )
    elif moment == "at":
        tz = zone(st.context.timezone)
        local_now = datetime.now(tz) - timedelta(minutes=1)
        day, clock = st.columns(2)
        day.date_input(
            t("Date ({zone})", zone=tz.key), value=local_now.date(), key="manual_at_date"
        )
        clock.time_input(
            t("Time ({zone})", zone=tz.key),
            value=local_now.time().replace(microsecond=0),
            step=timedelta(seconds=1),
            key="manual_at_time",
        )
    _errors("moment")


def _form(mode: str, moment: str, default_duration: float) -> None:
    t = words()
    with st.form("manual_clip", border=True):
        _errors(GENERAL)
        st.text_input(
            t("Channel (numeric broadcaster id)"),
            value=os.environ.get("TWITCH_BROADCASTER_ID", ""),
            key="manual_broadcaster_id",
            help=t("The channel's numeric Twitch user id, e.g. 12345 (not the login name)."),
        )
        _errors("broadcaster_id")
        st.text_input(
            t("Title"),
            max_chars=MAX_TITLE_CHARS,
            key="manual_title",
            help=t("Shown on Twitch. A VOD clip needs one before it can be approved."),
        )
        _errors("title")
        st.number_input(
            t("Duration (s)"),
            min_value=MIN_DURATION,
            max_value=MAX_DURATION,
            value=default_duration,
            step=0.1,
            format="%.1f",
            key="manual_duration",
        )
        _errors("duration")
        if mode == "vod":
            vod_col, offset_col = st.columns(2)
            with vod_col:
                st.text_input(
                    t("VOD id"), key="manual_vod_id", help=t("The number in the VOD's URL.")
                )
                _errors("vod_id")
            with offset_col:
                st.text_input(
                    t("Clip ends at (position in the VOD)"),
                    key="manual_vod_offset",
                    placeholder="1:02:03",
                    help=t(
                        "Where the clip ends, as 1:02:03, 1h2m3s or seconds. It must be at "
                        "least the duration: the clip is the seconds before this point."
                    ),
                )
                _errors("vod_offset")
        _moment_inputs(moment)
        st.text_area(
            t("Note (optional)"),
            max_chars=MAX_EXCERPT_CHARS,
            key="manual_note",
            help=t("What happened; shown in the queue next to the candidate."),
        )
        _errors("note")
        st.form_submit_button(
            t("Queue clip"), type="primary", key="manual_submit", on_click=_submit
        )


t = words()
st.title(t("Manual clip"))
st.caption(
    t(
        "Queue a clip yourself. Live: the last seconds of the stream, right now (a live clip "
        "reaches about 85 s back). VOD: any past moment of a recorded stream."
    )
)
ui.show_flash("manual")
with firestore_guard(N_("load the settings")):
    in_force = config_in_force()
    settings = in_force.config
    ui.config_problems(in_force)
    ui.switch_banners(settings)
    left, right = st.columns(2)
    with left:
        mode = st.radio(
            t("Kind of clip"),
            ["live", "vod"],
            index=["live", "vod"].index(settings.clip_mode_default),
            format_func=lambda m: t("Live (now)") if m == "live" else t("From a VOD"),
            horizontal=True,
            key="manual_mode",
        )
    with right:
        moment = st.radio(
            t("When did the moment happen?"),
            list(MOMENT_CHOICES),
            format_func=lambda choice: t(MOMENT_CHOICES[choice]),
            horizontal=True,
            key="manual_moment",
        )
    _form(mode, moment, settings.clip_default_duration)
