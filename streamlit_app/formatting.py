"""Pure view models and text for the operators' app: no Streamlit, no I/O.

Every page shows times, ages, ids and errors the same way, so the words live here once and
are unit-tested without a running app.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.errors import ErrorCode, operator_message
from shared.store.action_queue import ActionItem

SOURCE_LABELS: dict[str, str] = {
    "chat_spike": "Chat spike",
    "keyword": "Keyword",
    "command": "!clip command",
    "autonomy_goal": "Byte's own idea",
    "vision": "Vision (OBS frame)",
    "manual": "Manual (operator)",
}

STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.QUEUED: "Queued",
    JobStatus.CREATING: "Creating",
    JobStatus.POLLING: "Waiting for Twitch",
    JobStatus.READY: "Ready",
    JobStatus.FAILED: "Failed",
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


def duration_text(seconds: float) -> str:
    """A span people read at a glance: '45 s', '3 min 5 s', '17 min', '2 h 4 min', '3 days'."""
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
    return f"{hours // 24} days"


def ago(then: datetime | None, now: datetime) -> str:
    """'12 s ago', or 'in 5 s' for a time still ahead (clock skew, next attempts)."""
    if then is None:
        return "never"
    delta = (now - as_utc(then)).total_seconds()
    if abs(delta) < 1:
        return "just now"
    if delta < 0:
        return f"in {duration_text(-delta)}"
    return f"{duration_text(delta)} ago"


def utc_text(value: datetime | None) -> str:
    return "-" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def when_text(value: datetime | None, now: datetime) -> str:
    """'2026-11-24 20:00:01 UTC (34 s ago)'."""
    if value is None:
        return "-"
    return f"{utc_text(value)} ({ago(value, now)})"


def seconds_text(value: float) -> str:
    return f"{value:g} s"


def clock_text(seconds: float) -> str:
    """A VOD position: 3723 -> '1:02:03'."""
    total = max(round(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def score_text(score: float) -> str:
    return f"{score * 100:.0f}%"


def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


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


def candidate_view(item: ActionItem, now: datetime) -> CandidateView:
    payload = item.payload
    vod = None
    if payload.mode == "vod":
        vod = f"VOD {payload.vod_id}, clip ends at {clock_text(payload.vod_offset or 0.0)}"
    return CandidateView(
        action_id=item.action_id,
        source=source_label(payload.source),
        score=score_text(payload.score),
        mode=payload.mode,
        moment=utc_text(payload.source_ts),
        age=ago(payload.source_ts, now),
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


def retry_state(job: ClipJob, limit: int) -> RetryState:
    used = job.manual_retries
    if job.status is not JobStatus.FAILED:
        return RetryState(False, used, limit, "")
    if used >= limit:
        note = (
            f"The retry limit is reached ({used} of {limit} manual retries used). "
            "Approve a new candidate for this moment instead (for a past moment, a VOD clip "
            "from the Manual clip page)."
        )
        return RetryState(False, used, limit, note)
    left = limit - used
    return RetryState(True, used, limit, f"{used} of {limit} manual retries used, {left} left.")


@dataclass(frozen=True)
class FailureView:
    code: str
    detail: str
    what_to_do: str


def failure_view(job: ClipJob) -> FailureView | None:
    """The canonical code, Twitch-facing detail and the operator's next step."""
    if job.status is not JobStatus.FAILED:
        return None
    code = job.error_code or ErrorCode.UNKNOWN
    detail = job.error_detail or "No detail was recorded."
    return FailureView(code.value, detail, operator_message(code))


def job_heading(job: ClipJob) -> str:
    title = job.requested_title or "(untitled clip)"
    return f"{title} · {job.mode} · {seconds_text(job.requested_duration)}"


def next_attempt_text(job: ClipJob, now: datetime) -> str | None:
    if job.next_attempt_at is None or job.status not in {JobStatus.QUEUED, JobStatus.CREATING}:
        return None
    return f"Next try {ago(job.next_attempt_at, now)} ({utc_text(job.next_attempt_at)})"


def expires_text(expires_in: int | None, validated_at: datetime, now: datetime) -> str:
    """Token expiry as of now: the validation's `expires_in` counted from when it ran."""
    if expires_in is None:
        return "unknown"
    left = expires_in - (now - as_utc(validated_at)).total_seconds()
    if left <= 0:
        return "expired (a refresh is due)"
    return f"in {duration_text(left)}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile, so p95 of 20 samples is the 19th; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]
