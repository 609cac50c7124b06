"""Jobs: every clip job by status, with its links, its failure in plain words, and a retry.

A fragment reruns every two seconds, so a job moving from queued to ready changes on screen
by itself; each job shows its job id and the approved action's id apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from shared.domain.clip_job import ClipJob, JobStatus
from shared.pipeline.links import links_held_note, wants_links
from streamlit_app import actions, ui
from streamlit_app.formatting import (
    STATUS_COLORS,
    STATUS_LABELS,
    STATUS_ORDER,
    failure_view,
    job_heading,
    next_attempt_text,
    retry_state,
    source_label,
    utc_text,
    when_text,
)
from streamlit_app.resources import firestore_guard, stores

REFRESH_SECONDS = 2.0
PER_STATUS = 50
ALL = "all"


def _retry(job_id: str, limit: int) -> None:
    ui.act("jobs", lambda: actions.retry_job(stores().jobs, job_id, by=ui.operator(), limit=limit))


def _clip_link(job: ClipJob) -> None:
    if job.clip_url:
        st.caption("Clip link (copy button on the right)")
        st.code(job.clip_url, language=None)


def _buttons(job: ClipJob) -> None:
    if job.edit_url:
        st.link_button(
            "Open edit page",
            job.edit_url,
            icon=":material/edit:",
            help="Twitch's editor: pick title and segment. Works for 24 h or until published.",
            width="stretch",
        )
    downloads = [
        ("Download landscape", job.landscape_download_url),
        ("Download portrait", job.portrait_download_url),
    ]
    for label, url in downloads:
        if url:
            st.link_button(label, url, icon=":material/download:", width="stretch")
    if job.status is JobStatus.READY and not any(url for _, url in downloads):
        st.caption(
            "Download links are not ready yet: Twitch renders them after the clip; "
            "they appear here by themselves."
        )


def _failure(job: ClipJob, limit: int) -> None:
    failure = failure_view(job)
    if failure is None:
        return
    st.error(f"**{failure.code}**: {ui.literal(failure.detail)}")
    st.info(f"**What to do:** {failure.what_to_do}")
    retry = retry_state(job, limit)
    if retry.allowed:
        st.caption(retry.note)
        st.button(
            "Retry",
            key=f"retry_{job.job_id}",
            icon=":material/refresh:",
            on_click=_retry,
            args=(job.job_id, limit),
        )
    else:
        st.warning(retry.note)


def _card(job: ClipJob, limit: int, now: datetime) -> None:
    with st.container(border=True, key=f"job_{job.job_id}"):
        text, side = st.columns([0.68, 0.32])
        with text:
            color = STATUS_COLORS[job.status]
            st.markdown(f"#### {ui.literal(job_heading(job))}")
            st.markdown(
                f":{color}-badge[{STATUS_LABELS[job.status]}] "
                f":gray-badge[{source_label(job.candidate_source)}] "
                f":gray-badge[channel {job.broadcaster_id}]"
            )
            st.markdown(f"Job id: `{job.job_id}`  \nAction id: `{job.action_id}`")
            lines = [f"Moment: {when_text(job.source_ts, now)}"]
            approved = f"Approved: {when_text(job.approved_at, now)}"
            by = f" by {ui.literal(job.approved_by)}" if job.approved_by else ""
            lines.append(approved + by)
            if job.ready_at:
                lines.append(f"Ready: {utc_text(job.ready_at)}")
            if job.mode == "vod":
                lines.append(f"VOD {job.vod_id} ending at {job.vod_offset:g} s")
            if job.plan_label:
                lines.append(f"Plan used: **{ui.literal(job.plan_label)}**")
            lines.append(f"Attempts: {job.attempts} · manual retries: {job.manual_retries}")
            st.caption("  \n".join(lines))
            if job.plan_reason and job.plan_reason not in (job.error_detail or ""):
                st.caption(ui.literal(job.plan_reason))
            attempt = next_attempt_text(job, now)
            if attempt:
                st.caption(attempt)
            if job.status is not JobStatus.FAILED and job.error_detail:
                st.info(ui.literal(job.error_detail))
            _clip_link(job)
        with side:
            if job.thumbnail_url:
                st.image(job.thumbnail_url, width="stretch")
            _buttons(job)
        _failure(job, limit)


def _count(n: int) -> str:
    return f"{n}+" if n >= PER_STATUS else str(n)


def _label(option: str, counts: dict[str, int]) -> str:
    if option == ALL:
        return f"All ({_count(sum(counts.values()))})"
    return f"{STATUS_LABELS[JobStatus(option)]} ({_count(counts[option])})"


@st.fragment(run_every=REFRESH_SECONDS)
def live_jobs() -> None:
    ui.show_flash("jobs")
    with firestore_guard("load the clip jobs"):
        store = stores()
        config = store.control.read(fresh=True)
        limit = config.max_manual_retries
        by_status = {
            status: store.jobs.list_by_status(status, PER_STATUS) for status in STATUS_ORDER
        }
        held = [job for job in by_status[JobStatus.READY] if wants_links(job, datetime.now(UTC))]
        if held and not config.clip_api_enabled:
            st.warning(links_held_note(len(held)), icon=":material/pause_circle:")
        counts = {status.value: len(jobs) for status, jobs in by_status.items()}
        failed = counts[JobStatus.FAILED.value]
        if failed:
            st.error(f"Failed jobs: {failed}. Each says what went wrong and what to do.")
        choice = st.segmented_control(
            "Status",
            [ALL, *(status.value for status in STATUS_ORDER)],
            default=ALL,
            format_func=lambda option: _label(option, counts),
            key="jobs_status",
            label_visibility="collapsed",
        )
        now = datetime.now(UTC)
        shown = [s for s in STATUS_ORDER if choice in (None, ALL, s.value)]
        if not any(by_status[s] for s in shown):
            st.info("No jobs here yet. Approving a candidate on the Queue page creates one.")
        for status in shown:
            jobs = by_status[status]
            if not jobs:
                continue
            if len(shown) > 1:
                st.subheader(f"{STATUS_LABELS[status]} ({_count(len(jobs))})")
            for job in jobs:
                _card(job, limit, now)
        st.caption(f"Updated {now:%H:%M:%S} UTC; at most {PER_STATUS} jobs per status.")


st.title("Jobs")
st.caption(
    "Every clip job by status, most recently changed first. Links appear as soon as Twitch "
    "gives them."
)
live_jobs()
