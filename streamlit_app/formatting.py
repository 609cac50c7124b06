"""Pure view models and text for the operators' app: no Streamlit, no I/O.

Every page shows times, ages, ids and errors the same way, so the words live here once and
are unit-tested without a running app. Each takes the page's translator (`t`, English when
none is given) and times take the operator's time zone (`zone`, UTC when none is given).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.errors import ErrorCode, operator_message
from shared.domain.language import N_, say_all
from shared.domain.moment_plan import words_from_document
from shared.i18n import Translator, translator
from shared.store.action_queue import ActionItem

EN = translator("en")

SOURCE_LABELS: dict[str, str] = {
    "chat_spike": N_("Chat spike"),
    "keyword": N_("Keyword"),
    "command": N_("!clip command"),
    "autonomy_goal": N_("Byte's own idea"),
    "vision": N_("Vision (OBS frame)"),
    "manual": N_("Manual (operator)"),
}

MODE_LABELS: dict[str, str] = {"live": N_("live"), "vod": "VOD"}

# Catalog messages: a page says `t(STATUS_LABELS[status])`.
STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.QUEUED: N_("Queued"),
    JobStatus.CREATING: N_("Creating"),
    JobStatus.POLLING: N_("Waiting for Twitch"),
    JobStatus.READY: N_("Ready"),
    JobStatus.FAILED: N_("Failed"),
}

STATUS_COLORS: dict[JobStatus, str] = {
    JobStatus.QUEUED: "gray",
    JobStatus.CREATING: "blue",
    JobStatus.POLLING: "violet",
    JobStatus.READY: "green",
    JobStatus.FAILED: "red",
}

STATUS_ORDER: tuple[JobStatus, ...] = (
    JobStatus.QUEUED,
    JobStatus.CREATING,
    JobStatus.POLLING,
    JobStatus.READY,
    JobStatus.FAILED,
)


def as_utc(value: datetime) -> datetime:
    """Firestore returns aware datetimes; naive ones are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def duration_text(seconds: float, t: Translator = EN) -> str:
    """A span people read at a glance: '45 s', '3 min 5 s', '17 min', '2 h 4 min', '3 days'
    (the units are the same in Portuguese)."""
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 10 and secs:
        return f"{minutes} min {secs} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return t.plural("{count} day", "{count} days", days)


def ago(then: datetime | None, now: datetime, t: Translator = EN) -> str:
    """'12 s ago', or 'in 5 s' for a time still ahead (clock skew, next attempts)."""
    if then is None:
        return t("never")
    delta = (now - as_utc(then)).total_seconds()
    if abs(delta) < 1:
        return t("just now")
    if delta < 0:
        return t("in {span}", span=duration_text(-delta, t))
    return t("{span} ago", span=duration_text(delta, t))


def utc_text(value: datetime | None, t: Translator = EN, zone: tzinfo = UTC) -> str:
    """'2026-11-24 20:00:01 UTC' / '24 de nov. de 2026 17:00:01 BRT' (Babel, in `zone`)."""
    return "-" if value is None else t.when(as_utc(value), zone)


def when_text(value: datetime | None, now: datetime, t: Translator = EN, zone: tzinfo = UTC) -> str:
    """'2026-11-24 20:00:01 UTC (34 s ago)'."""
    if value is None:
        return "-"
    return f"{utc_text(value, t, zone)} ({ago(value, now, t)})"


def seconds_text(value: float, t: Translator = EN) -> str:
    return f"{t.number(value)} s"


def clock_text(seconds: float) -> str:
    """A VOD position: 3723 -> '1:02:03'."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def score_text(score: float, t: Translator = EN) -> str:
    return t.percent(score)


def mode_label(mode: str, t: Translator = EN) -> str:
    """`live` / `ao vivo`, `VOD`."""
    return t(MODE_LABELS[mode]) if mode in MODE_LABELS else mode


def source_label(source: str, t: Translator = EN) -> str:
    return t(SOURCE_LABELS[source]) if source in SOURCE_LABELS else source


def short_text(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class CandidateView:
    """One pending candidate as the queue shows it."""

    action_id: str
    source: str
    score: str
    mode: str
    moment: str
    age: str
    excerpt: str
    title: str
    duration: float
    vod: str | None

    @property
    def heading(self) -> str:
        return self.title or "(no title yet)"


def candidate_view(
    item: ActionItem, now: datetime, t: Translator = EN, zone: tzinfo = UTC
) -> CandidateView:
    payload = item.payload
    vod = None
    if payload.mode == "vod":
        vod = t(
            "VOD {vod}, clip ends at {position}",
            vod=payload.vod_id,
            position=clock_text(payload.vod_offset or 0.0),
        )
    return CandidateView(
        action_id=item.action_id,
        source=source_label(payload.source, t),
        score=score_text(payload.score, t),
        mode=mode_label(payload.mode, t),
        moment=utc_text(payload.source_ts, t, zone),
        age=ago(payload.source_ts, now, t),
        excerpt=short_text(payload.context_excerpt) if payload.context_excerpt else "",
        title=payload.suggested_title or "",
        duration=payload.suggested_duration,
        vod=vod,
    )


@dataclass(frozen=True)
class RetryState:
    """Whether the operator may still retry a failed job, and the words that say so."""

    allowed: bool
    used: int
    limit: int
    note: str


def retry_state(job: ClipJob, limit: int, t: Translator = EN) -> RetryState:
    used = job.manual_retries
    if job.status is not JobStatus.FAILED:
        return RetryState(False, used, limit, "")
    if used >= limit:
        note = t(
            "The retry limit is reached ({used} of {limit} manual retries used). Approve a new "
            "candidate for this moment instead (for a past moment, a VOD clip from the Manual "
            "clip page).",
            used=used,
            limit=limit,
        )
        return RetryState(False, used, limit, note)
    left = limit - used
    note = t(
        "{used} of {limit} manual retries used, {left} left.", used=used, limit=limit, left=left
    )
    return RetryState(True, used, limit, note)


@dataclass(frozen=True)
class FailureView:
    code: str
    detail: str
    what_to_do: str


def failure_view(job: ClipJob, t: Translator = EN) -> FailureView | None:
    """The canonical code, Twitch-facing detail and the operator's next step."""
    if job.status is not JobStatus.FAILED:
        return None
    code = job.error_code or ErrorCode.UNKNOWN
    detail = job.error_detail or t("No detail was recorded.")
    return FailureView(code.value, detail, operator_message(code, t))


def plan_text(job: ClipJob, t: Translator = EN) -> tuple[str | None, str | None]:
    """The plan the worker applied, label and reason, in the page's language: said from the
    job's `plan_words`, or its stored English `plan_label` / `plan_reason` when a job written
    before them has none."""
    words = words_from_document(job.plan_words)
    if words is None:
        return job.plan_label, job.plan_reason
    label, reason = words
    return label.say(t), say_all(reason, t)


def job_heading(job: ClipJob, t: Translator = EN) -> str:
    title = job.requested_title or t("(untitled clip)")
    return f"{title} · {mode_label(job.mode, t)} · {seconds_text(job.requested_duration, t)}"


def next_attempt_text(
    job: ClipJob, now: datetime, t: Translator = EN, zone: tzinfo = UTC
) -> str | None:
    if job.next_attempt_at is None or job.status not in {JobStatus.QUEUED, JobStatus.CREATING}:
        return None
    return t(
        "Next try {when} ({at})",
        when=ago(job.next_attempt_at, now, t),
        at=utc_text(job.next_attempt_at, t, zone),
    )


def still_checking_text(job: ClipJob, now: datetime, t: Translator = EN) -> str | None:
    """Whether Twitch is still asked for this job's clip (late confirmation of a clip not seen
    in 15 s, or the search for a create whose answer was lost), and until when."""
    if job.status is JobStatus.READY and job.late_confirmed_at is not None:
        return t(
            "Confirmed late at {time} UTC: Twitch showed the clip after the 15 s check.",
            time=f"{as_utc(job.late_confirmed_at):%H:%M}",
        )
    if job.late_check_until is None or job.status not in {JobStatus.FAILED, JobStatus.CREATING}:
        return None
    until = as_utc(job.late_check_until)
    if until <= now:
        return t("Checked until {time} UTC; Twitch never showed the clip.", time=f"{until:%H:%M}")
    return t(
        "Still checking until {time} UTC: the job turns ready by itself if Twitch shows the clip.",
        time=f"{until:%H:%M}",
    )


def expires_text(
    expires_in: int | None, validated_at: datetime, now: datetime, t: Translator = EN
) -> str:
    """Token expiry as of now: the validation's `expires_in` counted from when it ran."""
    if expires_in is None:
        return t("unknown")
    left = expires_in - (now - as_utc(validated_at)).total_seconds()
    if left <= 0:
        return t("expired (a refresh is due)")
    return t("in {span}", span=duration_text(left, t))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, so p95 of 20 samples is the 19th; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]
