"""The clip job (docs/architecture.md §3.2): its document model, its state machine and how one is
born.

Pure: no I/O. The allowed transitions are listed once here; every writer asks this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.clip_candidate import ClipCandidate, check_duration, clean_title
from shared.domain.errors import (
    ErrorCode,
    FieldProblem,
    InvalidInput,
    RetryLimitReached,
    TransitionRefused,
)
from shared.domain.moment_plan import PlanMode


class JobStatus(StrEnum):
    QUEUED = "queued"
    CREATING = "creating"
    POLLING = "polling"
    READY = "ready"
    FAILED = "failed"


TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.READY, JobStatus.FAILED})
IN_FLIGHT: frozenset[JobStatus] = frozenset(
    {JobStatus.QUEUED, JobStatus.CREATING, JobStatus.POLLING}
)

# Every allowed move; everything else is refused.
#   creating -> queued: a 429/5xx answer scheduled a retry (next_attempt_at) before any clip id.
#   queued -> failed:   refused before any Helix call (token bad, API switched off too long).
#   failed -> queued:   only by the operator's limited manual retry (see manual_retry_fields).
# Not in the table: failed -> ready, allowed only by late confirmation (`check_late_confirmation`,
# docs/architecture.md §3.2), so nothing else can take that path by asking for the pair of statuses.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.CREATING, JobStatus.FAILED}),
    JobStatus.CREATING: frozenset({JobStatus.POLLING, JobStatus.QUEUED, JobStatus.FAILED}),
    JobStatus.POLLING: frozenset({JobStatus.READY, JobStatus.FAILED}),
    JobStatus.READY: frozenset(),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED}),
}


def can_transition(current: JobStatus | str, target: JobStatus | str) -> bool:
    try:
        return JobStatus(target) in TRANSITIONS[JobStatus(current)]
    except ValueError:
        return False


def check_transition(current: JobStatus | str, target: JobStatus | str, job_id: str | None = None):
    """Raise TransitionRefused unless docs/architecture.md §3.2 allows `current -> target`."""
    if not can_transition(current, target):
        raise TransitionRefused(job_id, str(current), str(target), "not an allowed transition")


def job_id_for(action_id: str) -> str:
    """One job per approved action: a deterministic id makes a second approval collide."""
    return f"job_{action_id}"


class ClipJob(BaseModel):
    """A `clip_jobs/{job_id}` document."""

    model_config = ConfigDict(extra="ignore")

    job_id: str
    action_id: str
    candidate_source: str
    broadcaster_id: str
    mode: Literal["live", "vod"]
    requested_duration: float
    requested_title: str | None = None
    source_ts: datetime | None = None
    status: JobStatus
    twitch_clip_id: str | None = None
    edit_url: str | None = None
    clip_url: str | None = None
    thumbnail_url: str | None = None
    landscape_download_url: str | None = None
    portrait_download_url: str | None = None
    vod_id: str | None = None
    vod_offset: float | None = None
    # The moment plan the worker applied when it created the clip (shared.domain.moment_plan).
    plan_mode: PlanMode | None = None
    plan_label: str | None = None
    plan_reason: str | None = None
    # The same two as phrases (`MomentPlan.words_document`), said in the language in force.
    plan_words: dict[str, Any] | None = None
    planned_duration: float | None = None
    planned_at: datetime | None = None
    error_code: ErrorCode | None = None
    error_detail: str | None = None
    attempts: int = 0
    manual_retries: int = 0
    next_attempt_at: datetime | None = None
    requeued_at: datetime | None = None
    clip_created_at: datetime | None = None
    # The claim whose worker may send Create Clip (`claims/{N}`; its call is `creates/{N}`), and
    # when that call went out: the window lost-clip recovery searches (docs/architecture.md §6.4).
    create_seq: int | None = None
    create_sent_at: datetime | None = None
    # Until when the sweeper still looks for this job's clip: late confirmation of a
    # `clip_create_timeout`, or recovery of a create whose answer was lost.
    late_check_until: datetime | None = None
    late_confirmed_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    lease_seq: int = 0
    lease_holder: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
    ready_at: datetime | None = None

    def to_firestore(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    def lease_active(self, now: datetime) -> bool:
        return (
            self.lease_holder is not None
            and self.lease_until is not None
            and (self.lease_until > now)
        )


# docs/architecture.md §6.4: a clip not seen within 15 s keeps being checked this long after the
# verdict; a lost create is looked for on the channel as long (counted from the create call).
LATE_CHECK = timedelta(minutes=10)


def check_late_confirmation(job: ClipJob) -> None:
    """Raise TransitionRefused unless `failed -> ready` is a late confirmation: the job failed
    with `clip_create_timeout` and kept its clip id (docs/architecture.md §3.2)."""
    if job.status is not JobStatus.FAILED:
        raise TransitionRefused(
            job.job_id,
            job.status.value,
            JobStatus.READY.value,
            "only a failed job is confirmed late",
        )
    if job.error_code is not ErrorCode.CREATE_TIMEOUT or not job.twitch_clip_id:
        raise TransitionRefused(
            job.job_id,
            job.status.value,
            JobStatus.READY.value,
            "only a clip_create_timeout job with a clip id may be confirmed late",
        )


@dataclass(frozen=True)
class ApprovalEdits:
    """What the operator may change while approving (docs/architecture.md §3.1 rules still
    apply)."""

    title: str | None = None
    duration: float | None = None


def new_job(
    action_id: str,
    candidate: ClipCandidate,
    *,
    edits: ApprovalEdits = ApprovalEdits(),
    approved_by: str,
    now: datetime,
) -> ClipJob:
    """The `queued` job an approval creates; VOD clips need a title (Twitch requires one)."""
    problems: list[FieldProblem] = []
    title = candidate.suggested_title
    duration = candidate.suggested_duration
    if edits.title is not None:
        try:
            title = clean_title(edits.title)
        except ValueError as error:
            problems.append(FieldProblem("title", str(error)))
    if edits.duration is not None:
        try:
            duration = check_duration(edits.duration)
        except ValueError as error:
            problems.append(FieldProblem("duration", str(error)))
    if not problems and candidate.mode == "vod":
        if not title:
            problems.append(FieldProblem("title", "is required for a VOD clip"))
        if candidate.vod_offset is not None and candidate.vod_offset < duration:
            problems.append(
                FieldProblem(
                    "duration",
                    f"must not exceed the VOD offset ({candidate.vod_offset:g} s): "
                    "the offset is where the clip ends",
                )
            )
    if problems:
        raise InvalidInput("approval", problems)
    return ClipJob(
        job_id=job_id_for(action_id),
        action_id=action_id,
        candidate_source=candidate.source,
        broadcaster_id=candidate.broadcaster_id,
        mode=candidate.mode,
        requested_duration=duration,
        requested_title=title,
        source_ts=candidate.source_ts,
        status=JobStatus.QUEUED,
        vod_id=candidate.vod_id,
        vod_offset=candidate.vod_offset,
        approved_by=approved_by,
        approved_at=now,
        created_at=now,
        updated_at=now,
    )


def manual_retry_fields(job: ClipJob, *, limit: int, now: datetime) -> dict[str, Any]:
    """The update that sends a failed job back to `queued`, within the retry limit."""
    check_transition(job.status, JobStatus.QUEUED, job.job_id)
    if job.manual_retries >= limit:
        raise RetryLimitReached(job.job_id, limit)
    return {
        "status": JobStatus.QUEUED.value,
        "manual_retries": job.manual_retries + 1,
        "attempts": 0,
        "error_code": None,
        "error_detail": None,
        "next_attempt_at": None,
        "lease_holder": None,
        "lease_until": None,
        # A new episode: the earlier clip's id goes to the retry's record, not to the new create.
        "twitch_clip_id": None,
        "edit_url": None,
        "clip_created_at": None,
        "create_seq": None,
        "create_sent_at": None,
        "late_check_until": None,
        "updated_at": now,
    }
