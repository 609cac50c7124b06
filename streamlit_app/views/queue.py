"""Queue: pending clip candidates, newest first; edit title and duration, approve or reject.

The pending items come from this process's Firestore listener (`resources.pending_items`), so
the page never re-reads the queue. A ticker fragment asks the listener several times a second
whether anything changed (no read, nothing drawn) and redraws the page only then, so a new
candidate is on screen within a second however long the queue is. Between changes no card
re-runs its widgets: every card's moment age and what approving it now would make (live, a
longer live clip, the VOD, or nothing) are redrawn in place each second by one fragment that
writes into a slot of each card, and each card's form is a fragment of its own, so a refused
approval reruns that card alone. Long queues come in pages; a document that cannot be read
is a flagged row that can be archived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from shared.domain.clip_candidate import MAX_DURATION, MAX_TITLE_CHARS, MIN_DURATION
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.language import N_
from shared.store.action_queue import ActionItem
from shared.store.live_query import Row
from shared.store.queue_feed import QueueFeed
from streamlit_app import actions, ui
from streamlit_app.approval_view import decision_line, queue_codes
from streamlit_app.formatting import as_utc, candidate_view
from streamlit_app.incidents import contain
from streamlit_app.language import operator_zone, words
from streamlit_app.moment_preview import PlanPreview, plan_preview, stream_lookup
from streamlit_app.resources import (
    config_changes,
    config_in_force,
    firestore_guard,
    pending_items,
    stores,
)

TICK_SECONDS = 0.15
AGE_SECONDS = 1.0
PAGE_SIZE = 20
RECENT = timedelta(minutes=10)
RECENT_SHOWN = 10
DRAWN = "queue_drawn"
DECIDED = "queue_decided"
PAGE = "queue_page"
_GONE: tuple[str, ...] = ("success", "warning")


def _decided() -> set[str]:
    """Items this session decided: hidden at once, before the listener reports them gone."""
    decided: set[str] = st.session_state.setdefault(DECIDED, set())
    return decided


def _leave(action_id: str, outcome: actions.Outcome) -> None:
    """After a decision the whole page redraws: the card goes, the outcome shows on top."""
    if outcome.level in _GONE:
        _decided().add(action_id)
    st.rerun()


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
            t=words(),
        )

    outcome = ui.act("queue", run)
    if outcome.field_errors:
        # Shown in the card itself, which reruns alone.
        state.pop("flash_queue", None)
        state[f"errors_{action_id}"] = outcome.field_errors
        return
    _leave(action_id, outcome)


def _reject(action_id: str) -> None:
    outcome = ui.act(
        "queue",
        lambda: actions.reject_candidate(stores().queue, action_id, by=ui.operator(), t=words()),
    )
    _leave(action_id, outcome)


def _archive(action_id: str) -> None:
    outcome = ui.act(
        "queue",
        lambda: actions.archive_unreadable(stores().queue, action_id, by=ui.operator(), t=words()),
    )
    if outcome.level in (*_GONE, "info"):
        _decided().add(action_id)


def _reject_selected(action_ids: list[str]) -> None:
    picked = [a for a in action_ids if st.session_state.get(f"pick_{a}")]
    reason = st.session_state.get("bulk_reason", "")
    outcome = ui.act(
        "queue",
        lambda: actions.reject_many(
            stores().queue, picked, by=ui.operator(), reason=reason, t=words()
        ),
    )
    if outcome.level in _GONE:
        _decided().update(picked)


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
        lookup=stream_lookup(payload.broadcaster_id, editor, words().language),
        config=config,
        t=words(),
    )


def _plan(preview: PlanPreview | None) -> None:
    if preview is None:
        return
    show = {"ok": st.success, "changed": st.info, "impossible": st.error, "unknown": st.warning}
    t = words()
    show[preview.level](
        t("Approving now makes: **{label}**", label=ui.literal(preview.label))
        + f"  \n{ui.literal(preview.reason)}",
        icon=":material/timer:",
    )


def _moment(item: ActionItem, config: ControlPlaneConfig, now: datetime) -> None:
    """What changes with the clock alone: the moment's age and the plan for approving now."""
    t = words()
    view = candidate_view(item, now, t, operator_zone())
    st.markdown(t("Moment: {moment} · **{age}**", moment=view.moment, age=view.age))
    _plan(_preview(item, config, now))


@st.fragment(run_every=AGE_SECONDS)
def _clocks(slots: list[tuple[DeltaGenerator, ActionItem]], config: ControlPlaneConfig) -> None:
    """Every card's clock lines, redrawn in place each second by this one fragment: one
    short run per second for the whole page, whatever the number of cards."""
    now = datetime.now(UTC)
    for slot, item in slots:
        with slot, contain(N_("update this candidate's moment")):
            _moment(item, config, now)


def _sync_widgets(item: ActionItem) -> None:
    """The form starts from the stored title and duration. When the stored value changes in
    Firestore the field takes it; an edit of a value that did not change stays."""
    state = st.session_state
    action_id = item.action_id
    stored = {
        f"title_{action_id}": item.payload.suggested_title or "",
        f"duration_{action_id}": item.payload.suggested_duration,
    }
    seen = state.get(f"stored_{action_id}", {})
    for key, value in stored.items():
        if key not in state or seen.get(key) != value:
            state[key] = value
    state[f"stored_{action_id}"] = stored


@st.fragment
def _decision(item: ActionItem) -> None:
    """The card's form: submitting it reruns this card only (a decision redraws the page)."""
    with contain(N_("show this candidate's form")):
        t = words()
        action_id = item.action_id
        _sync_widgets(item)
        errors: dict[str, list[str]] = st.session_state.get(f"errors_{action_id}", {})
        with st.form(f"decide_{action_id}", border=False):
            if errors:
                st.error(t("Not approved: fix the fields marked below."))
            # Horizontal containers, not columns: a card is redrawn with every change of the
            # queue, and each column is one more element for the browser to draw.
            with st.container(horizontal=True):
                st.text_input(
                    t("Title"),
                    max_chars=MAX_TITLE_CHARS,
                    key=f"title_{action_id}",
                    help=t("Shown on Twitch. Required for a VOD clip."),
                )
                st.number_input(
                    t("Duration (s)"),
                    min_value=MIN_DURATION,
                    max_value=MAX_DURATION,
                    step=0.1,
                    format="%.1f",
                    key=f"duration_{action_id}",
                    width=150,
                )
            for message in errors.get("title", []):
                st.error(t("Title {problem}", problem=ui.literal(message)))
            for message in errors.get("duration", []):
                st.error(t("Duration {problem}", problem=ui.literal(message)))
            with st.container(horizontal=True):
                st.form_submit_button(
                    t("Approve"),
                    type="primary",
                    key=f"approve_{action_id}",
                    on_click=_approve,
                    args=(action_id,),
                )
                st.form_submit_button(
                    t("Reject"), key=f"reject_{action_id}", on_click=_reject, args=(action_id,)
                )


def _card(item: ActionItem, now: datetime, code: str = "") -> DeltaGenerator:
    """The card; returns the slot where `_clocks` draws its moment age and plan."""
    t = words()
    view = candidate_view(item, now, t, operator_zone())
    action_id = view.action_id
    with st.container(border=True, key=f"card_{action_id}"):
        with st.container(
            horizontal=True, horizontal_alignment="distribute", vertical_alignment="center"
        ):
            st.markdown(f"#### {ui.literal(view.title or t('(no title yet)'))}")
            st.checkbox(t("Select"), key=f"pick_{action_id}", width="content")
        chat_code = " :orange-badge[" + t("chat code {code}", code=code) + "]" if code else ""
        score = t("score {score}", score=view.score)
        st.markdown(
            f":blue-badge[{view.source}] :violet-badge[{score}] :gray-badge[{view.mode}]"
            + chat_code
        )
        slot = st.container()
        if view.vod:
            st.markdown(view.vod)
        if view.excerpt:
            st.markdown(f"> {ui.literal(view.excerpt)}")
        st.caption(t("Action id: {id}", id=ui.code_id(action_id)))
        _decision(item)
    return slot


def _flagged(row: Row[ActionItem]) -> None:
    t = words()
    box = ui.unreadable(
        f"card_{row.doc_id}",
        t("Unreadable queue item"),
        row.problem.phrase.say(t) if row.problem else "",
        t(
            "archive it with the button below: it is rejected as it is and nothing is clipped. "
            "If it should have been a candidate, fix the document (or whatever wrote it) "
            "instead."
        ),
    )
    box.button(
        t("Reject (archive)"),
        key=f"archive_{row.doc_id}",
        on_click=_archive,
        args=(row.doc_id,),
    )


def _bulk_bar(action_ids: list[str]) -> None:
    picked = sum(1 for a in action_ids if st.session_state.get(f"pick_{a}"))
    t = words()
    with st.container(border=True):
        cols = st.columns([0.2, 0.2, 0.35, 0.25], vertical_alignment="bottom")
        cols[0].button(t("Select all"), on_click=_select, args=(action_ids, True), key="select_all")
        cols[1].button(
            t("Clear selection"), on_click=_select, args=(action_ids, False), key="clear"
        )
        cols[2].text_input(t("Reason (optional)"), key="bulk_reason")
        cols[3].button(
            t("Reject selected ({count})", count=picked),
            disabled=picked == 0,
            on_click=_reject_selected,
            args=(action_ids,),
            key="reject_selected",
        )


def _newest(row: Row[ActionItem]) -> tuple[datetime, str]:
    item = row.value
    created = item.created_at if item is not None and item.created_at else row.created
    return as_utc(created), row.doc_id


def _pending(rows: tuple[Row[ActionItem], ...]) -> list[Row[ActionItem]]:
    """Newest first, without what this session just decided (forgotten once gone)."""
    decided = _decided()
    decided &= {row.doc_id for row in rows}
    return sorted((r for r in rows if r.doc_id not in decided), key=_newest, reverse=True)


def _render(
    rows: list[Row[ActionItem]], full: bool, config: ControlPlaneConfig, now: datetime
) -> None:
    t = words()
    if not rows:
        st.info(
            t(
                "Nothing is waiting for approval. New candidates appear here within a second; "
                "to clip something yourself, use the Manual clip page."
            ),
            icon=":material/inbox:",
        )
        return
    summary, paging = st.columns([0.8, 0.2], vertical_alignment="bottom")
    with paging:
        window = ui.pager(PAGE, len(rows), PAGE_SIZE)
    flagged = sum(1 for row in rows if row.problem is not None)
    pending = t("**{count} pending**", count=len(rows))
    parts = [pending + (t(" ({count} unreadable)", count=flagged) if flagged else "")]
    if window.pages > 1:
        parts.append(window.text(t("items, newest first"), t))
    if full:
        parts.append(t("the queue holds more than these: decide or reject some to see the rest"))
    parts.append(t("live, last change {time} UTC", time=f"{now:%H:%M:%S}"))
    summary.markdown(" · ".join(parts))
    shown = rows[window.start : window.stop]
    action_ids = [row.doc_id for row in shown if row.value is not None]
    if action_ids:
        _bulk_bar(action_ids)
    codes = queue_codes(row.value for row in rows if row.value is not None)
    slots = []
    for row in shown:
        if row.value is None:
            _flagged(row)
        else:
            slots.append((_card(row.value, now, codes.get(row.doc_id, "")), row.value))
    _clocks(slots, config)


def _recent(now: datetime) -> None:
    """Decisions of the last minutes and who made them: a mod in chat, the policy, the app."""
    items = [
        item
        for item in QueueFeed(stores().db).decided_since(now - RECENT, limit=RECENT_SHOWN)
        if item.status.value != "expired"
    ]
    if not items:
        return
    t = words()
    label = t(
        "Decided in the last {minutes} min ({count})",
        minutes=RECENT.seconds // 60,
        count=len(items),
    )
    with st.expander(label):
        for item in items:
            st.markdown(f"- {ui.literal(decision_line(item, now, t))}")


def _page() -> None:
    ui.drawn(DRAWN, None)
    ui.show_flash("queue")
    with firestore_guard(N_("load the queue")):
        live = pending_items().current()
        ui.drawn(DRAWN, (live.version, config_changes().version))
        in_force = config_in_force()
        ui.config_problems(in_force)
        ui.switch_banners(in_force.config)
        if not live.synced:
            t = words()
            st.info(t("Waiting for Firestore's first answer; the queue fills in by itself."))
        now = datetime.now(UTC)
        _render(_pending(live.rows), live.full, in_force.config, now)
        _recent(now)


@st.fragment(run_every=TICK_SECONDS)
def _ticker() -> None:
    with contain(N_("check the queue for changes")):
        ui.redraw_when_changed(DRAWN, lambda: (pending_items().version, config_changes().version))


t = words()
st.title(t("Queue"))
st.caption(
    t(
        "Clip candidates waiting for a decision, newest first. Each shows its moment's age and "
        "what approving now makes: a live clip, a longer live clip, a VOD clip, or nothing."
    )
)
_page()
_ticker()
