"""Chart data for the Health page: shaped from clip jobs, pure (no Streamlit, no I/O).

Two questions an operator asks: "how many clips worked this past day?" (jobs per hour by
outcome) and "are we fast enough for the moment to be in the clip?" (moment -> approval ->
ready). The frames are built here and tested directly; the page only draws them, in the
operator's language: axis, legend and tooltip titles and the outcome and stage names are
catalog messages, and numbers follow the language's separators (Vega-Lite's `locale`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import altair as alt
import pandas as pd

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.language import N_
from shared.domain.moment_plan import live_reach
from shared.i18n import Translator
from streamlit_app.formatting import EN, as_utc, percentile

# Catalog messages: a chart says `t(outcome)`.
OUTCOMES: tuple[str, ...] = (N_("ready"), N_("failed"), N_("in progress"))
OUTCOME_COLORS: tuple[str, ...] = ("#21a366", "#e0453a", "#9aa0a6")
# Catalog messages too: the Health page says `t(stage)`.
STAGES: tuple[str, ...] = (N_("moment → approval"), N_("approval → ready"))
STAGE_COLORS: tuple[str, ...] = ("#f2a93b", "#4c78a8")


def outcome_of(job: ClipJob) -> str:
    if job.status is JobStatus.READY:
        return "ready"
    if job.status is JobStatus.FAILED:
        return "failed"
    return "in progress"


def jobs_per_hour(jobs: Iterable[ClipJob], now: datetime, hours: int = 24) -> pd.DataFrame:
    """One row per (hour, outcome) over the last `hours`, zeros included, by approval hour."""
    end = as_utc(now).replace(minute=0, second=0, microsecond=0)
    slots = [end - timedelta(hours=h) for h in reversed(range(hours))]
    counts = {(slot, outcome): 0 for slot in slots for outcome in OUTCOMES}
    for job in jobs:
        approved = as_utc(job.approved_at or job.created_at)
        slot = approved.replace(minute=0, second=0, microsecond=0)
        key = (slot, outcome_of(job))
        if key in counts:
            counts[key] += 1
    rows = [
        {"hour": slot, "label": f"{slot:%H}:00", "outcome": outcome, "jobs": n}
        for (slot, outcome), n in counts.items()
    ]
    frame = pd.DataFrame(rows, columns=["hour", "label", "outcome", "jobs"])
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame


def timing_frame(jobs: Iterable[ClipJob], limit: int = 30) -> pd.DataFrame:
    """The last `limit` ready jobs with both spans: moment -> approval, approval -> ready."""
    ready = [
        (job, as_utc(job.source_ts), as_utc(job.approved_at), as_utc(job.ready_at))
        for job in jobs
        if job.status is JobStatus.READY and job.source_ts and job.approved_at and job.ready_at
    ]
    ready.sort(key=lambda entry: entry[2])
    rows = []
    for job, moment, approved, done in ready[-limit:]:
        label = f"{approved:%H:%M:%S} {job.requested_title or job.job_id}"[:48]
        to_approval = max((approved - moment).total_seconds(), 0.0)
        to_ready = max((done - approved).total_seconds(), 0.0)
        rows.append(
            {
                "job": label,
                "job_id": job.job_id,
                "stage": STAGES[0],
                "seconds": to_approval,
                "start": 0.0,
                "order": 0,
            }
        )
        rows.append(
            {
                "job": label,
                "job_id": job.job_id,
                "stage": STAGES[1],
                "seconds": to_ready,
                "start": to_approval,
                "order": 1,
            }
        )
    return pd.DataFrame(rows, columns=["job", "job_id", "stage", "seconds", "start", "order"])


@dataclass(frozen=True)
class StageSummary:
    stage: str
    median: float
    p95: float
    samples: int


def timing_summary(frame: pd.DataFrame) -> list[StageSummary]:
    summaries = []
    for stage in STAGES:
        values = [float(v) for v in frame.loc[frame["stage"] == stage, "seconds"]]
        summaries.append(
            StageSummary(stage, percentile(values, 0.5), percentile(values, 0.95), len(values))
        )
    return summaries


def number_locale(t: Translator = EN) -> alt.NumberLocale:
    """Vega-Lite's number format in the language: `2.5` / `2,5`, `1,000` / `1.000`."""
    symbols = t.locale.number_symbols["latn"]
    return alt.NumberLocale(
        decimal=symbols["decimal"], thousands=symbols["group"], grouping=[3], currency=["", ""]
    )


def _said(frame: pd.DataFrame, column: str, t: Translator) -> pd.DataFrame:
    """The frame with `column`'s catalog messages said in `t` (the frame itself keeps them)."""
    return frame.assign(**{column: frame[column].map(lambda message: t(str(message)))})


def jobs_per_hour_chart(frame: pd.DataFrame, t: Translator = EN) -> alt.Chart:
    return (
        alt.Chart(_said(frame, "outcome", t))
        .mark_bar()
        .encode(
            x=alt.X(
                "label:O",
                sort=list(dict.fromkeys(frame["label"])),
                title=t("hour approved (UTC)"),
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("sum(jobs):Q", title=t("jobs"), axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(domain=[t(o) for o in OUTCOMES], range=list(OUTCOME_COLORS)),
                title=t("outcome"),
            ),
            order=alt.Order("outcome:N"),
            tooltip=[
                alt.Tooltip("hour:T", format="%Y-%m-%d %H:00", title=t("hour (UTC)")),
                alt.Tooltip("outcome:N", title=t("outcome")),
                alt.Tooltip("jobs:Q", title=t("jobs")),
            ],
        )
        .configure(locale=alt.Locale(number=number_locale(t)))
    )


def timing_chart(frame: pd.DataFrame, t: Translator = EN) -> alt.LayerChart:
    """One bar per ready job: moment -> approval then approval -> ready, with the live limit."""
    bars = (
        alt.Chart(_said(frame, "stage", t))
        .mark_bar()
        .encode(
            y=alt.Y("job:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("start:Q", title=t("seconds since the moment")),
            x2="end:Q",
            color=alt.Color(
                "stage:N",
                scale=alt.Scale(domain=[t(s) for s in STAGES], range=list(STAGE_COLORS)),
                title=t("stage"),
            ),
            tooltip=[
                alt.Tooltip("job_id:N", title=t("job id")),
                alt.Tooltip("stage:N", title=t("stage")),
                alt.Tooltip("seconds:Q", format=".1f", title=t("seconds")),
            ],
        )
        .transform_calculate(end="datum.start + datum.seconds")
    )
    limit = (
        alt.Chart(pd.DataFrame({"x": [live_reach()]}))
        .mark_rule(strokeDash=[4, 4], color="#e0453a")
        .encode(x="x:Q", tooltip=[alt.Tooltip("x:Q", title=t("live clip reach (s)"))])
    )
    # LayerChart itself, not alt.layer(): nothing here is faceted, so no FacetChart comes back.
    return alt.LayerChart(layer=[bars, limit]).configure(locale=alt.Locale(number=number_locale(t)))
