"""Conditions a retry cannot fix, and how an entry point gives them up (docs/architecture.md §6.4).

An event or a stored document that can never be processed is acknowledged and reported once,
not redelivered for a day; when it belongs to a job we still own, the job fails with the
precise reason instead of waiting in `creating` for the sweeper to guess. Reasons are built
from field names and rules only: nothing a document holds reaches a message. A reason is a
`Phrase`: logged in English, written on the job in the channel's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from shared.domain.clip_job import JobStatus
from shared.domain.errors import (
    OPERATOR_MESSAGES,
    ClipError,
    ErrorCode,
    InvalidInput,
    LeaseLost,
    NotFound,
    StoredDocumentUnreadable,
    StoredTokenUnreadable,
    StoredTokenUnusable,
    TransitionRefused,
)
from shared.domain.language import ENGLISH, N_, Phrase, Translate
from shared.domain.validation import field_problems, problem_lines, problems_phrase
from shared.i18n import translator
from shared.pipeline.token_health import unreadable_token_phrase
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore

logger = logging.getLogger(__name__)

NOT_FIXED_BY_RETRY: tuple[type[BaseException], ...] = (
    StoredDocumentUnreadable,
    StoredTokenUnusable,
    InvalidInput,
    TransitionRefused,
    LeaseLost,
    NotFound,
    ValidationError,
)


def retry_cannot_fix(error: BaseException) -> bool:
    """Whether delivering the same event again would fail the same way."""
    return isinstance(error, NOT_FIXED_BY_RETRY)


def reason_phrase(error: BaseException) -> Phrase:
    """The operator's sentence for an unfixable error; a bare pydantic error is summarised by
    model, fields and rules (its own text may carry the document's values)."""
    if isinstance(error, ValidationError):
        problems = problems_phrase(field_problems(error, default_field="document"))
        return Phrase(
            N_("A stored {model} is unreadable: {problems}"), model=error.title, problems=problems
        )
    if isinstance(error, StoredTokenUnreadable):
        return unreadable_token_phrase(error)
    if isinstance(error, StoredTokenUnusable):
        return error.sentence
    if isinstance(error, ClipError):
        return Phrase(OPERATOR_MESSAGES[error.error_code])
    if isinstance(error, InvalidInput):
        return Phrase(
            N_("invalid {what}: {problems}"),
            what=error.what,
            problems=problem_lines(error.problems),
        )
    return Phrase(str(error))


def reason(error: BaseException) -> str:
    """`reason_phrase` in English, for logs and HTTP answers."""
    return reason_phrase(error).say(ENGLISH)


def _words(config: ControlPlaneStore | None) -> Translate:
    """The channel's language for the job's sentence; English when it cannot be read (the
    error being given up may be Firestore's own)."""
    if config is None:
        return ENGLISH
    try:
        return translator(config.read().language)
    except Exception:
        return ENGLISH


def _code(error: BaseException) -> ErrorCode:
    if isinstance(error, ClipError):
        return error.error_code
    if isinstance(error, InvalidInput):
        return ErrorCode.BAD_REQUEST
    return ErrorCode.UNKNOWN


@dataclass(frozen=True)
class GivenUp:
    """What giving an event up did, for the one log line."""

    job_id: str
    reason: str
    job_failed: bool


def give_up(
    jobs: ClipJobStore,
    job_id: str,
    error: BaseException,
    *,
    worker: str,
    now: datetime,
    config: ControlPlaneStore | None = None,
) -> GivenUp:
    """Report an unfixable error once and fail the job if it is still ours to fail: `queued`,
    or `creating` under our lease (no clip id yet). A job someone else moved on, or one that
    does not parse, is left as it is; the ERROR line says why. The job's sentence is in the
    language `config` names (English without it)."""
    said = reason_phrase(error)
    why = said.say(ENGLISH)
    failed = False
    if not isinstance(error, TransitionRefused | LeaseLost | StoredDocumentUnreadable):
        detail = said.say(_words(config))
        failed = _fail(jobs, job_id, error, detail, worker=worker, now=now)
    logger.error(
        "clip job %s given up: %s",
        job_id,
        why,
        extra={"job_id": job_id, "error_type": type(error).__name__, "job_failed": failed},
    )
    return GivenUp(job_id, why, failed)


def _fail(
    jobs: ClipJobStore,
    job_id: str,
    error: BaseException,
    why: str,
    *,
    worker: str,
    now: datetime,
) -> bool:
    try:
        job = jobs.get(job_id)
    except StoredDocumentUnreadable:
        return False
    if job is None or job.twitch_clip_id:
        return False
    if job.status is JobStatus.CREATING and job.lease_holder == worker:
        holder: str | None = worker
    elif job.status is JobStatus.QUEUED and not job.lease_active(now):
        holder = None
    else:
        return False
    try:
        jobs.fail(job_id, expect=job.status, code=_code(error), detail=why, worker=holder, now=now)
    except (TransitionRefused, LeaseLost):
        return False
    return True


def event_age_seconds(sent: str | datetime | None, now: datetime) -> float | None:
    """How old an event is by its CloudEvent `time` (RFC 3339); None when it has none."""
    if sent is None or sent == "":
        return None
    try:
        at = sent if isinstance(sent, datetime) else datetime.fromisoformat(str(sent))
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return (now - at).total_seconds()
