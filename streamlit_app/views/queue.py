"""Queue: pending clip candidates, newest first; edit title and duration, approve or reject.

The list is a fragment that reruns every second, so a new candidate shows up without a full
page rerun, and each candidate's moment age and what approving it now would make (live, a
longer live clip, the VOD, or nothing) stay current while the operator reads.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from shared.domain.clip_candidate import MAX_DURATION, MAX_TITLE_CHARS, MIN_DURATION
from shared.domain.control_plane import ControlPlaneConfig
from shared.store.action_queue import ActionItem
from streamlit_app import actions, ui
from streamlit_app.formatting import CandidateView, candidate_view
from streamlit_app.moment_preview import PlanPreview, plan_preview, stream_lookup
from streamlit_app.resources import firestore_guard, stores

REFRESH_SECONDS = 1.0
MAX_SHOWN = 50


def _approve(action_id: str) -> None:
    state = st.session_state
    state.pop(f"errors_{action_id}", None)

    def run() -> actions.Outcome:
        return actions.approve_candidate(
            stores().queue,
            stores().jobs,
            action_id,
            by=ui.operator(),
            title=state.get(f"title_{action_id}"),
            duration=state.get(f"duration_{action_id}", MIN_DURATION),
        )

    outcome = ui.act("queue", run)
    if outcome.field_errors:
        state[f"errors_{action_id}"] = outcome.field_errors


def _reject(action_id: str) -> None:
    ui.act("queue", lambda: actions.reject_candidate(stores().queue, action_id, by=ui.operator()))


def _reject_selected(action_ids: list[str]) -> None:
    picked = [a for a in action_ids if st.session_state.get(f"pick_{a}")]
    reason = st.session_state.get("bulk_reason", "")
    ui.act(
        "queue",
        lambda: actions.reject_many(stores().queue, picked, by=ui.operator(), reason=reason),
    )


def _select(action_ids: list[str], value: bool) -> None:
    for action_id in action_ids:
        st.session_state[f"pick_{action_id}"] = value


def _preview(item: ActionItem, config: ControlPlaneConfig, now: datetime) -> PlanPreview | None:
    """The plan for approving now, with the duration as the operator has set it."""
    payload = item.payload
    if payload.mode != "live":
        return None
    editor = config.clip_editor_user_id or payload.broadcaster_id
    duration = st.session_state.get(f"duration_{item.action_id}", payload.suggested_duration)
    return plan_preview(
        payload,
        duration=round(float(duration), 1),
        now=now,
        lookup=stream_lookup(payload.broadcaster_id, editor),
        config=config,
    )


def _plan(preview: PlanPreview | None) -> None:
    if preview is None:
        return
    show = {"ok": st.success, "changed": st.info, "impossible": st.error, "unknown": st.warning}
    show[preview.level](
        f"Approving now makes: **{ui.literal(preview.label)}**  \n{ui.literal(preview.reason)}",
        icon=":material/timer:",
    )


def _card(view: CandidateView, preview: PlanPreview | None) -> None:
    action_id = view.action_id
    errors: dict[str, list[str]] = st.session_state.get(f"errors_{action_id}", {})
    with st.container(border=True, key=f"card_{action_id}"):
        head, pick = st.columns([0.85, 0.15], vertical_alignment="center")
        head.markdown(f"#### {ui.literal(view.heading)}")
        pick.checkbox("Select", key=f"pick_{action_id}")
        st.markdown(
            f":blue-badge[{view.source}] :violet-badge[score {view.score}] :gray-badge[{view.mode}]"
        )
        st.markdown(f"Moment: {view.moment} · **{view.age}**")
        if view.vod:
            st.markdown(view.vod)
        if view.excerpt:
            st.markdown(f"> {ui.literal(view.excerpt)}")
        st.caption(f"Action id: `{action_id}`")
        _plan(preview)
        with st.form(f"decide_{action_id}", border=False):
            title_col, duration_col = st.columns([0.75, 0.25])
            with title_col:
                st.text_input(
                    "Title",
                    value=view.title,
                    max_chars=MAX_TITLE_CHARS,
                    key=f"title_{action_id}",
                    help="Shown on Twitch. Required for a VOD clip.",
                )
                for message in errors.get("title", []):
                    st.error(f"Title {ui.literal(message)}")
            with duration_col:
                st.number_input(
                    "Duration (s)",
                    min_value=MIN_DURATION,
                    max_value=MAX_DURATION,
                    value=view.duration,
                    step=0.1,
                    format="%.1f",
                    key=f"duration_{action_id}",
                )
                for message in errors.get("duration", []):
                    st.error(f"Duration {ui.literal(message)}")
            approve_col, reject_col, _ = st.columns([0.2, 0.2, 0.6])
            with approve_col:
                st.form_submit_button(
                    "Approve",
                    type="primary",
                    key=f"approve_{action_id}",
                    on_click=_approve,
                    args=(action_id,),
                )
            with reject_col:
                st.form_submit_button(
                    "Reject", key=f"reject_{action_id}", on_click=_reject, args=(action_id,)
                )


def _bulk_bar(action_ids: list[str]) -> None:
    picked = sum(1 for a in action_ids if st.session_state.get(f"pick_{a}"))
    with st.container(border=True):
        cols = st.columns([0.2, 0.2, 0.35, 0.25], vertical_alignment="bottom")
        cols[0].button("Select all", on_click=_select, args=(action_ids, True), key="select_all")
        cols[1].button("Clear selection", on_click=_select, args=(action_ids, False), key="clear")
        cols[2].text_input("Reason (optional)", key="bulk_reason")
        cols[3].button(
            f"Reject selected ({picked})",
            disabled=picked == 0,
            on_click=_reject_selected,
            args=(action_ids,),
            key="reject_selected",
        )


def _render(items: list[ActionItem], config: ControlPlaneConfig, now: datetime) -> None:
    ui.switch_banners(config)
    shown = items[:MAX_SHOWN]
    if not shown:
        st.info(
            "Nothing is waiting for approval. New candidates appear here within a second; "
            "to clip something yourself, use the Manual clip page.",
            icon=":material/inbox:",
        )
        return
    more = " (showing the newest 50)" if len(items) > MAX_SHOWN else ""
    st.markdown(f"**{len(shown)} pending**{more} · updated {now:%H:%M:%S} UTC")
    action_ids = [item.action_id for item in shown]
    _bulk_bar(action_ids)
    for item in shown:
        _card(candidate_view(item, now), _preview(item, config, now))


@st.fragment(run_every=REFRESH_SECONDS)
def live_queue() -> None:
    ui.show_flash("queue")
    with firestore_guard("load the queue"):
        store = stores()
        config = store.control.read()
        items = store.queue.list_pending(limit=MAX_SHOWN + 1)
        _render(items, config, datetime.now(UTC))


st.title("Queue")
st.caption(
    "Clip candidates waiting for a decision, newest first. Each shows its moment's age and "
    "what approving now makes: a live clip, a longer live clip, a VOD clip, or nothing."
)
live_queue()
