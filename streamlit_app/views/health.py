"""Health: can we clip right now? Token and scopes, switches, job counts, and two charts.

Everything here is read-only; each problem says where it is fixed (Connect Twitch, Control
plane). Refreshes itself every few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.control_plane import ControlPlaneConfig
from streamlit_app import charts, ui
from streamlit_app.formatting import (
    STATUS_LABELS,
    STATUS_ORDER,
    ago,
    as_utc,
    expires_text,
    utc_text,
)
from streamlit_app.resources import Stores, firestore_guard, stores

REFRESH_SECONDS = 5.0
STALE_VALIDATION = timedelta(hours=2)
CHART_HOURS = 24


def _auth(health: ClipsAuthHealth | None, now: datetime) -> None:
    st.subheader("Twitch authorization for clipping")
    if health is None:
        st.warning(
            "No token check has run yet. The validate_tokens function checks the clipping "
            "token every hour (and at start-up). Connect Twitch first if you have not.",
            icon=":material/key:",
        )
        return
    cols = st.columns(4)
    cols[0].metric("Token", "valid" if health.clips_token_valid else "INVALID")
    cols[1].metric("Clip scopes", "ok" if health.clips_scope_ok else "MISSING")
    cols[2].metric(
        "Expires", expires_text(health.expires_in, health.last_validated_at, now), border=False
    )
    cols[3].metric("Last check", ago(health.last_validated_at, now))
    who = health.login or "?"
    st.caption(
        f"Account: **{who}** (user id {health.user_id or '?'}) · checked "
        f"{utc_text(health.last_validated_at)} · scopes: "
        f"{', '.join(sorted(health.scopes)) or 'none'}"
    )
    if not health.clips_token_valid:
        st.error(
            "Clips cannot be created: Twitch does not accept the stored token. Reconnect on "
            "the Connect Twitch page.",
            icon=":material/key:",
        )
    if health.missing_scopes:
        st.error(
            f"The token lacks {', '.join(health.missing_scopes)}. Connect Twitch again and "
            "approve every requested permission.",
            icon=":material/key:",
        )
    if health.last_error:
        st.warning(f"Last error: {health.last_error}")
    if now - as_utc(health.last_validated_at) > STALE_VALIDATION:
        st.warning(
            f"The last token check is {ago(health.last_validated_at, now)}: the hourly "
            "validate_tokens schedule may be broken (check Cloud Scheduler).",
        )


def _switches(config: ControlPlaneConfig) -> None:
    st.subheader("Switches")
    cols = st.columns(4)
    cols[0].metric("Clip pipeline", "on" if config.clip_pipeline_enabled else "OFF")
    cols[1].metric("Twitch clip API", "on" if config.clip_api_enabled else "OFF")
    cols[2].metric("Default mode", config.clip_mode_default)
    cols[3].metric("Clip editor", config.clip_editor_user_id or "broadcaster")
    ui.switch_banners(config)


def _counts(store: Stores) -> None:
    st.subheader("Jobs by status")
    counts = store.jobs.count_by_status()
    cols = st.columns(len(STATUS_ORDER))
    for col, status in zip(cols, STATUS_ORDER, strict=True):
        col.metric(STATUS_LABELS[status], counts[status])


def _charts(store: Stores, now: datetime) -> None:
    jobs = store.jobs.created_since(now - timedelta(hours=CHART_HOURS))
    st.subheader(f"Jobs per hour, last {CHART_HOURS} h")
    if jobs:
        st.altair_chart(charts.jobs_per_hour_chart(charts.jobs_per_hour(jobs, now)))
    else:
        st.caption("No jobs approved in this time.")
    st.subheader("Moment → approval → ready")
    frame = charts.timing_frame(jobs)
    if frame.empty:
        st.caption("No ready clips in this time yet.")
        return
    cols = st.columns(len(charts.STAGES))
    for col, summary in zip(cols, charts.timing_summary(frame), strict=True):
        col.metric(
            f"{summary.stage}, median",
            f"{summary.median:.1f} s",
            help=f"p95 {summary.p95:.1f} s over {summary.samples} clips",
        )
    st.altair_chart(charts.timing_chart(frame))
    st.caption(
        "Dashed line: how far back a live clip reaches (about 85 s). A moment → approval bar "
        "longer than the clip's duration means the published clip misses the moment."
    )


@st.fragment(run_every=REFRESH_SECONDS)
def live_health() -> None:
    with firestore_guard("load the health data"):
        store = stores()
        now = datetime.now(UTC)
        _auth(store.observability.read_clips_auth(), now)
        _switches(store.control.read(fresh=True))
        _counts(store)
        _charts(store, now)
        st.caption(f"Updated {now:%H:%M:%S} UTC.")


st.title("Health")
st.caption("Can clips be made right now, and how fast are we?")
live_health()
