"""Health: can we clip right now? Token and scopes, switches, job counts, and two charts.

Everything here is read-only; each problem says where it is fixed (Connect Twitch, Control
plane). Refreshes itself every few seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import streamlit as st

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.decision_speed import PathSpeed
from shared.domain.errors import StoredDocumentUnreadable
from shared.domain.language import N_, Phrase
from shared.domain.vision import VisionStats, hour_window
from shared.store.discord_posts import DiscordPostStore
from shared.store.queue_feed import QueueFeed
from shared.store.scene_context import SceneContextStore
from shared.store.vision_stats import VisionStatsStore
from streamlit_app import charts, ui
from streamlit_app.approval_view import discord_rows, speed_text, speeds
from streamlit_app.formatting import (
    STATUS_LABELS,
    STATUS_ORDER,
    ago,
    as_utc,
    expires_text,
    mode_label,
    utc_text,
)
from streamlit_app.incidents import contain
from streamlit_app.language import operator_zone, words
from streamlit_app.resources import Stores, config_in_force, firestore_guard, stores

REFRESH_SECONDS = 5.0
STALE_VALIDATION = timedelta(hours=2)
CHART_HOURS = 24


def _auth(health: ClipsAuthHealth | None, now: datetime) -> None:
    t, zone = words(), operator_zone()
    st.subheader(t("Twitch authorization for clipping"))
    if health is None:
        st.warning(
            t(
                "No token check has run yet. The validate_tokens function checks the clipping "
                "token every hour (and at start-up). Connect Twitch first if you have not."
            ),
            icon=":material/key:",
        )
        return
    cols = st.columns(4)
    cols[0].metric(t("Token"), t("valid") if health.clips_token_valid else t("INVALID"))
    cols[1].metric(t("Clip scopes"), t("ok") if health.clips_scope_ok else t("MISSING"))
    cols[2].metric(
        t("Expires"),
        expires_text(health.expires_in, health.last_validated_at, now, t),
        border=False,
    )
    cols[3].metric(t("Last check"), ago(health.last_validated_at, now, t))
    who = ui.literal(health.login or "?")
    scopes = ui.literal(", ".join(sorted(health.scopes)) or t("none"))
    st.caption(
        t(
            "Account: **{who}** (user id {id}) · checked {when} · scopes: {scopes}",
            who=who,
            id=ui.literal(health.user_id or "?"),
            when=utc_text(health.last_validated_at, t, zone),
            scopes=scopes,
        )
    )
    if not health.clips_token_valid:
        st.error(
            t(
                "Clips cannot be created: Twitch does not accept the stored token. Reconnect "
                "on the Connect Twitch page."
            ),
            icon=":material/key:",
        )
    if health.missing_scopes:
        st.error(
            t(
                "The token lacks {scopes}. Connect Twitch again and approve every requested "
                "permission.",
                scopes=", ".join(health.missing_scopes),
            ),
            icon=":material/key:",
        )
    problem = Phrase.from_document(health.last_error_words)
    last_error = problem.say(t) if problem is not None else health.last_error
    if last_error:
        st.warning(t("Last error: {error}", error=ui.literal(last_error)))
    if now - as_utc(health.last_validated_at) > STALE_VALIDATION:
        st.warning(
            t(
                "The last token check is {ago}: the hourly validate_tokens schedule may be "
                "broken (check Cloud Scheduler).",
                ago=ago(health.last_validated_at, now, t),
            ),
        )


def _switches(config: ControlPlaneConfig) -> None:
    t = words()
    st.subheader(t("Switches"))
    cols = st.columns(4)
    cols[0].metric(t("Clip pipeline"), t("on") if config.clip_pipeline_enabled else t("OFF"))
    cols[1].metric(t("Twitch clip API"), t("on") if config.clip_api_enabled else t("OFF"))
    cols[2].metric(t("Default mode"), mode_label(config.clip_mode_default, t))
    cols[3].metric(t("Clip editor"), config.clip_editor_user_id or t("broadcaster"))
    ui.switch_banners(config)


def _counts(store: Stores) -> None:
    t = words()
    st.subheader(t("Jobs by status"))
    counts = store.jobs.count_by_status()
    cols = st.columns(len(STATUS_ORDER))
    for col, status in zip(cols, STATUS_ORDER, strict=True):
        col.metric(t(STATUS_LABELS[status]), counts[status])


def _charts(store: Stores, now: datetime) -> None:
    t = words()
    jobs = store.jobs.created_since(now - timedelta(hours=CHART_HOURS))
    st.subheader(t("Jobs per hour, last {hours} h", hours=CHART_HOURS))
    if jobs:
        st.altair_chart(charts.jobs_per_hour_chart(charts.jobs_per_hour(jobs, now), t))
    else:
        st.caption(t("No jobs approved in this time."))
    st.subheader(t("Moment → approval → ready"))
    frame = charts.timing_frame(jobs)
    if frame.empty:
        st.caption(t("No ready clips in this time yet."))
        return
    cols = st.columns(len(charts.STAGES))
    for col, summary in zip(cols, charts.timing_summary(frame), strict=True):
        col.metric(
            t("{stage}, median", stage=t(summary.stage)),
            f"{t.fixed(summary.median)} s",
            help=t.plural(
                "p95 {p95} s over {count} clip",
                "p95 {p95} s over {count} clips",
                summary.samples,
                p95=t.fixed(summary.p95),
            ),
        )
    st.altair_chart(charts.timing_chart(frame, t))
    st.caption(
        t(
            "Dashed line: how far back a live clip reaches (about 85 s). A moment → approval "
            "bar longer than the clip's duration means the published clip misses the moment."
        )
    )


def _latency(stats: VisionStats | None) -> str:
    p50 = stats.latency_quantile_ms(0.5) if stats else None
    p95 = stats.latency_quantile_ms(0.95) if stats else None
    if p50 is None or p95 is None:
        return "-"
    return " / ".join("over 20 s" if q == float("inf") else f"≤ {q / 1000:g} s" for q in (p50, p95))


def _vision(store: Stores, config: ControlPlaneConfig, now: datetime) -> None:
    """Calls, drops, latency, cost and the last scene. Scene text comes from the model and is
    untrusted: it is shown with st.text (plain), never as Markdown."""
    t = words()
    st.subheader(t("Vision (OBS frames)"))
    settings = config.vision
    hours = {h.hour: h for h in VisionStatsStore(store.db).recent(2)}
    this_hour = hours.get(hour_window(now).key)
    last_hour = hours.get(hour_window(now - timedelta(hours=1)).key)
    scenes = SceneContextStore(store.db).latest(1)
    if not hours and not scenes:
        st.caption(
            t("No frame has reached vision_ingest yet: set up the OBS script (obs/README.md).")
        )
        return
    cols = st.columns(4)
    calls = this_hour.model_calls if this_hour else 0
    cols[0].metric(
        t("Model calls this hour"),
        calls,
        help=t("Cap: {cap} per hour, all channels.", cap=settings.max_model_calls_per_hour),
    )
    cols[1].metric(t("Model latency p50 / p95"), _latency(this_hour or last_hour))
    cols[2].metric(
        t("Est. cost this hour"),
        f"{this_hour.cost_usd if this_hour else 0.0:.3f} USD",
        help=t(
            "At {price} USD per call ({model}); last hour {last} USD; at most {cap} USD per "
            "hour at the cap.",
            price=f"{settings.price_per_call_usd:g}",
            model=settings.model,
            last=f"{last_hour.cost_usd if last_hour else 0.0:.3f}",
            cap=f"{settings.max_cost_per_hour_usd:.2f}",
        ),
    )
    cols[3].metric(t("Candidates this hour"), this_hour.triggered if this_hour else 0)
    drops = this_hour.drops if this_hour else {}
    listed = ", ".join(f"{reason} {count}" for reason, count in sorted(drops.items()))
    st.caption(
        t(
            "Drops this hour: {drops} · refused requests (token, size, type, id) are logged, "
            "not counted here.",
            drops=listed or t("none"),
        )
    )
    if scenes:
        scene = scenes[0]
        st.caption(
            t(
                "Last scene, channel {channel}, captured {ago} ({classifier}, {model}):",
                channel=scene.broadcaster_id,
                ago=ago(scene.at, now, t),
                classifier=scene.classifier or "?",
                model=scene.model or "?",
            )
        )
        st.text(
            f"{scene.game or '?'} · {scene.scene or '?'} · {scene.event} "
            f"({scene.confidence:.2f})\n{scene.summary}"
        )


@st.cache_data(ttl=60.0, show_spinner=False)
def _decision_speeds(hours: int) -> list[PathSpeed]:
    """Read at most once a minute: up to 500 decided items is too many reads every 5 s."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    return speeds(QueueFeed(stores().db).decided_since(since))


def _approval_speed() -> None:
    """Moment to decision by path: the app alone, mods in chat, the auto-approval policy."""
    t = words()
    st.subheader(t("Moment → decision, last {hours} h", hours=CHART_HOURS))
    cols = st.columns(3)
    for col, speed in zip(cols, _decision_speeds(CHART_HOURS), strict=True):
        col.metric(
            t("{path}: p50 / p95", path=t(speed.label)),
            speed_text(speed, t),
            help=t(
                "{count} decisions (approved or rejected; expiries left out).",
                count=speed.count,
            ),
        )
    st.caption(
        t(
            "A live clip reaches about a minute back: decisions slower than that are clipped "
            "from the VOD, or not at all."
        )
    )


def _discord(store: Stores, now: datetime) -> None:
    """What the chat bot posted to Discord (it posts with DISCORD_WEBHOOK_URL set)."""
    t = words()
    st.subheader(t("Discord posts"))
    rows = discord_rows(DiscordPostStore(store.db).recent(10), now, t)
    if not rows:
        st.caption(
            t(
                "Nothing posted yet. The chat bot posts ready clips when DISCORD_WEBHOOK_URL is "
                "set (its /healthz says whether it is); which ones: Control plane → Approval."
            )
        )
        return
    st.dataframe(rows, hide_index=True, width="stretch")


def _stored_auth(store: Stores, now: datetime) -> None:
    """The token check's findings, or a flag when its document cannot be read."""
    try:
        health = store.observability.read_clips_auth()
    except StoredDocumentUnreadable as error:
        t = words()
        st.subheader(t("Twitch authorization for clipping"))
        ui.unreadable(
            "clips_auth_unreadable",
            t("Unreadable token check"),
            error.phrase.say(t),
            t(
                "the next token check rewrites it; to have one now, reconnect on the Connect "
                "Twitch page (the worker checks the token itself before every clip)."
            ),
        )
        return
    _auth(health, now)


@st.fragment(run_every=REFRESH_SECONDS)
def live_health() -> None:
    with contain(N_("show the health data")), firestore_guard(N_("load the health data")):
        store = stores()
        now = datetime.now(UTC)
        _stored_auth(store, now)
        in_force = config_in_force()
        ui.config_problems(in_force)
        config = in_force.config
        _switches(config)
        _counts(store)
        _charts(store, now)
        _approval_speed()
        _vision(store, config, now)
        _discord(store, now)
        t = words()
        st.caption(t("Updated {time} UTC.", time=f"{now:%H:%M:%S}"))


t = words()
st.title(t("Health"))
st.caption(t("Can clips be made right now, and how fast are we?"))
live_health()
