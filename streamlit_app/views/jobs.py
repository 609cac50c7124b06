"""Jobs: every clip job by status, with its links, its failure in plain words, and a retry.

One Firestore listener per status (`resources.job_lists`, shared by the process) keeps the
most recently changed jobs; a ticker fragment asks them twice a second whether anything
changed (no read) and redraws the page only then, so a job moving from queued to ready shows
within a second. Ages and next-try times redraw every REFRESH_SECONDS. Each job shows its job
id and the approved action's id apart; a document that cannot be read is a flagged row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.language import N_
from shared.pipeline.links import links_held_note, wants_links
from shared.store.live_query import Row
from streamlit_app import actions, ui
from streamlit_app.formatting import (
    STATUS_COLORS,
    STATUS_LABELS,
    STATUS_ORDER,
    failure_view,
    job_heading,
    next_attempt_text,
    plan_text,
    retry_state,
    source_label,
    still_checking_text,
    utc_text,
    when_text,
)
from streamlit_app.incidents import contain
from streamlit_app.language import operator_zone, words
from streamlit_app.resources import (
    JOBS_PER_STATUS,
    config_changes,
    config_in_force,
    firestore_guard,
    job_lists,
    stores,
)

TICK_SECONDS = 0.5
REFRESH_SECONDS = 15.0
PER_STATUS = JOBS_PER_STATUS
PAGE_SIZE = 20
ALL = "all"
DRAWN = "jobs_drawn"
PAGE = "jobs_page"


def _retry(job_id: str, limit: int) -> None:
    ui.act(
        "jobs",
        lambda: actions.retry_job(stores().jobs, job_id, by=ui.operator(), limit=limit, t=words()),
    )


def _clip_link(job: ClipJob) -> None:
    if job.clip_url:
        t = words()
        st.caption(t("Clip link (copy button on the right)"))
        st.code(job.clip_url, language=None)


def _buttons(job: ClipJob) -> None:
    t = words()
    if job.edit_url:
        st.link_button(
            t("Open edit page"),
            job.edit_url,
            icon=":material/edit:",
            help=t("Twitch's editor: pick title and segment. Works for 24 h or until published."),
            width="stretch",
        )
    downloads = [
        (t("Download landscape"), job.landscape_download_url),
        (t("Download portrait"), job.portrait_download_url),
    ]
    for label, url in downloads:
        if url:
            st.link_button(label, url, icon=":material/download:", width="stretch")
    if job.status is JobStatus.READY and not any(url for _, url in downloads):
        st.caption(
            t(
                "Download links are not ready yet: Twitch renders them after the clip; "
                "they appear here by themselves."
            )
        )


def _failure(job: ClipJob, limit: int) -> None:
    t = words()
    failure = failure_view(job, t)
    if failure is None:
        return
    st.error(f"**{failure.code}**: {ui.literal(failure.detail)}")
    st.info(t("**What to do:** {what}", what=failure.what_to_do))
    retry = retry_state(job, limit, t)
    if retry.allowed:
        st.caption(retry.note)
        st.button(
            t("Retry"),
            key=f"retry_{job.job_id}",
            icon=":material/refresh:",
            on_click=_retry,
            args=(job.job_id, limit),
        )
    else:
        st.warning(retry.note)


def _card(job: ClipJob, limit: int, now: datetime) -> None:
    t, zone = words(), operator_zone()
    with st.container(border=True, key=f"job_{job.job_id}"):
        text, side = st.columns([0.68, 0.32])
        with text:
            color = STATUS_COLORS[job.status]
            st.markdown(f"#### {ui.literal(job_heading(job, t))}")
            channel = t("channel {id}", id=job.broadcaster_id)
            st.markdown(
                f":{color}-badge[{t(STATUS_LABELS[job.status])}] "
                f":gray-badge[{source_label(job.candidate_source, t)}] "
                f":gray-badge[{channel}]"
            )
            st.markdown(
                t("Job id: {job}", job=ui.code_id(job.job_id))
                + "  \n"
                + t("Action id: {id}", id=ui.code_id(job.action_id))
            )
            lines = [t("Moment: {when}", when=when_text(job.source_ts, now, t, zone))]
            approved = t("Approved: {when}", when=when_text(job.approved_at, now, t, zone))
            by = t(" by {who}", who=ui.literal(job.approved_by)) if job.approved_by else ""
            lines.append(approved + by)
            if job.ready_at:
                lines.append(t("Ready: {when}", when=utc_text(job.ready_at, t, zone)))
            if job.mode == "vod":
                lines.append(
                    t(
                        "VOD {vod} ending at {offset} s",
                        vod=job.vod_id,
                        offset=t.number(job.vod_offset or 0.0),
                    )
                )
            plan_label, plan_reason = plan_text(job, t)
            if plan_label:
                lines.append(t("Plan used: **{plan}**", plan=ui.literal(plan_label)))
            lines.append(
                t(
                    "Attempts: {attempts} · manual retries: {retries}",
                    attempts=job.attempts,
                    retries=job.manual_retries,
                )
            )
            st.caption("  \n".join(lines))
            if plan_reason and plan_reason not in (job.error_detail or ""):
                st.caption(ui.literal(plan_reason))
            attempt = next_attempt_text(job, now, t, zone)
            if attempt:
                st.caption(attempt)
            checking = still_checking_text(job, now, t)
            if checking:
                st.caption(checking)
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
    t = words()
    if option == ALL:
        return t("All ({count})", count=_count(sum(counts.values())))
    return f"{t(STATUS_LABELS[JobStatus(option)])} ({_count(counts[option])})"


def _flagged(row: Row[ClipJob]) -> None:
    t = words()
    ui.unreadable(
        f"job_{row.doc_id}",
        t("Unreadable clip job"),
        row.problem.phrase.say(t) if row.problem else "",
        t(
            "the pipeline skips this document. Fix or delete it in Firestore; if its moment "
            "still matters, approve it again (a VOD clip from the Manual clip page for a past "
            "one)."
        ),
    )


def _jobs(rows: tuple[Row[ClipJob], ...]) -> list[Row[ClipJob]]:
    """Most recently changed first; unreadable ones by their own update time."""

    def changed(row: Row[ClipJob]) -> str:
        return row.value.updated_at.isoformat() if row.value is not None else row.version

    return sorted(rows, key=changed, reverse=True)


def _page() -> None:
    ui.drawn(DRAWN, None)
    ui.show_flash("jobs")
    t = words()
    with firestore_guard(N_("load the clip jobs")):
        board = job_lists()
        ui.drawn(DRAWN, (board.version(), config_changes().version))
        in_force = config_in_force()
        ui.config_problems(in_force)
        config = in_force.config
        limit = config.max_manual_retries
        lists = {status: board.by_status[status].current() for status in STATUS_ORDER}
        by_status = {status: _jobs(live.rows) for status, live in lists.items()}
        ready = [row.value for row in by_status[JobStatus.READY] if row.value is not None]
        held = [job for job in ready if wants_links(job, datetime.now(UTC))]
        if held and not config.clip_api_enabled:
            st.warning(links_held_note(len(held), t), icon=":material/pause_circle:")
        counts = {status.value: len(rows) for status, rows in by_status.items()}
        failed = counts[JobStatus.FAILED.value]
        if failed:
            st.error(
                t(
                    "Failed jobs: {count}. Each says what went wrong and what to do.",
                    count=_count(failed),
                )
            )
        flagged = sum(1 for rows in by_status.values() for row in rows if row.problem)
        if flagged:
            st.warning(
                t(
                    "{count} job document(s) cannot be read; each is flagged below with what to "
                    "do. The other jobs are shown as usual.",
                    count=flagged,
                ),
                icon=":material/report:",
            )
        choice = st.segmented_control(
            t("Status"),
            [ALL, *(status.value for status in STATUS_ORDER)],
            default=ALL,
            format_func=lambda option: _label(option, counts),
            key="jobs_status",
            label_visibility="collapsed",
        )
        now = datetime.now(UTC)
        shown = [s for s in STATUS_ORDER if choice in (None, ALL, s.value)]
        entries = [(status, row) for status in shown for row in by_status[status]]
        if not entries:
            st.info(t("No jobs here yet. Approving a candidate on the Queue page creates one."))
        window = ui.pager(PAGE, len(entries), PAGE_SIZE)
        heading = None
        for status, row in entries[window.start : window.stop]:
            if len(shown) > 1 and status is not heading:
                heading = status
                st.subheader(f"{t(STATUS_LABELS[status])} ({_count(counts[status.value])})")
            if row.value is None:
                _flagged(row)
            else:
                _card(row.value, limit, now)
        paging = f" {window.text(t('jobs'), t).capitalize()}." if window.pages > 1 else ""
        st.caption(
            t(
                "Live: changes show within a second; last drawn {time} UTC. At most {limit} "
                "jobs per status, the most recently changed.",
                time=f"{now:%H:%M:%S}",
                limit=PER_STATUS,
            )
            + paging
        )


@st.fragment(run_every=TICK_SECONDS)
def _ticker() -> None:
    with contain(N_("check the clip jobs for changes")):
        ui.redraw_when_changed(
            DRAWN,
            lambda: (job_lists().version(), config_changes().version),
            refresh_after=REFRESH_SECONDS,
        )


t = words()
st.title(t("Jobs"))
st.caption(
    t(
        "Every clip job by status, most recently changed first. Links appear as soon as Twitch "
        "gives them."
    )
)
_page()
_ticker()
