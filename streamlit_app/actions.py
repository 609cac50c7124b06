"""What the operator's buttons do, through the shared stores, with an answer for every case.

No Streamlit here: each action returns an `Outcome` whose message says what happened and
what to do next, so the pages only display it and the tests call these directly too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from shared.domain.clip_job import ApprovalEdits
from shared.domain.clock import utc_now
from shared.domain.errors import (
    ActionAlreadyDecided,
    InvalidInput,
    NotFound,
    RetryLimitReached,
    StoredDocumentUnreadable,
    TransitionRefused,
)
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from streamlit_app.formatting import ago

logger = logging.getLogger("streamlit_app")

Level = Literal["success", "info", "warning", "error"]


@dataclass(frozen=True)
class Outcome:
    """The answer to one click: a level for the colour, words, and errors per form field."""

    level: Level
    message: str
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    job_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.level in ("success", "info")


ARCHIVE_REASON = "unreadable: archived from the Queue page"


def _decided_message(queue: ActionQueue, action_id: str, now: datetime) -> str:
    try:
        item = queue.get(action_id)
    except StoredDocumentUnreadable:
        return f"Candidate {action_id} was already decided by someone else; nothing was changed."
    if item is None:
        return f"Candidate {action_id} no longer exists; nothing was changed."
    who = f" by {item.decided_by}" if item.decided_by else ""
    when = f" {ago(item.decided_at, now)}" if item.decided_at else ""
    return (
        f"Candidate {action_id} was already {item.status.value}{who}{when}; nothing was "
        "changed. The queue shows it no more."
    )


def approve_candidate(
    queue: ActionQueue,
    jobs: ClipJobStore,
    action_id: str,
    *,
    by: str,
    title: str | None,
    duration: float,
    now: datetime | None = None,
) -> Outcome:
    """Approve through `shared.pipeline.approve.approve` (exactly one job). However old the
    moment, the worker's plan picks the clip that holds it (live, longer live, or VOD)."""
    now = now or utc_now()
    try:
        item = queue.get(action_id)
    except StoredDocumentUnreadable as error:
        return Outcome("error", f"Not approved: {error}.")
    if item is None:
        return Outcome("error", f"Candidate {action_id} no longer exists; refresh the queue.")
    duration = round(float(duration), 1)
    edits = ApprovalEdits(title=title, duration=duration)
    try:
        job = approve(queue, jobs, action_id, by=by, edits=edits, now=now)
    except InvalidInput as error:
        errors: dict[str, list[str]] = {}
        for problem in error.problems:
            errors.setdefault(problem.field, []).append(problem.message)
        return Outcome("error", "Not approved: fix the fields marked below.", errors)
    except ActionAlreadyDecided:
        return Outcome("warning", _decided_message(queue, action_id, now))
    except NotFound:
        return Outcome("error", f"Candidate {action_id} no longer exists; refresh the queue.")
    logger.info(
        "candidate approved", extra={"action_id": action_id, "job_id": job.job_id, "by": by}
    )
    message = f"Approved. Job {job.job_id} is queued; follow it on the Jobs page."
    return Outcome("success", message, job_id=job.job_id)


def reject_candidate(
    queue: ActionQueue, action_id: str, *, by: str, now: datetime | None = None
) -> Outcome:
    now = now or utc_now()
    try:
        _reject(queue, action_id, by=by, reason=None, now=now)
    except ActionAlreadyDecided:
        return Outcome("warning", _decided_message(queue, action_id, now))
    except NotFound:
        return Outcome("error", f"Candidate {action_id} no longer exists; refresh the queue.")
    logger.info("candidate rejected", extra={"action_id": action_id, "by": by})
    return Outcome("success", f"Rejected candidate {action_id}. No clip will be made.")


def archive_unreadable(
    queue: ActionQueue, action_id: str, *, by: str, now: datetime | None = None
) -> Outcome:
    """Reject an item the app cannot read, without reading it: it leaves the queue as
    `rejected` through the same decision record as any rejection."""
    now = now or utc_now()
    try:
        queue.reject_unreadable(action_id, by=by, reason=ARCHIVE_REASON, now=now)
    except ActionAlreadyDecided:
        return Outcome(
            "warning", f"Item {action_id} was already decided by someone else; nothing changed."
        )
    except NotFound:
        return Outcome("info", f"Item {action_id} no longer exists; nothing to archive.")
    logger.info("unreadable item archived", extra={"action_id": action_id, "by": by})
    message = f"Archived item {action_id} as rejected: it leaves the queue, nothing is clipped."
    return Outcome("success", message)


def _reject(
    queue: ActionQueue, action_id: str, *, by: str, reason: str | None, now: datetime
) -> None:
    """A rejection needs no payload, so an item that does not parse is rejected as it is."""
    try:
        queue.reject(action_id, by=by, reason=reason, now=now)
    except StoredDocumentUnreadable:
        queue.reject_unreadable(action_id, by=by, reason=reason or ARCHIVE_REASON, now=now)


def reject_many(
    queue: ActionQueue,
    action_ids: Iterable[str],
    *,
    by: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Bulk reject: each item on its own, so one already decided does not stop the rest."""
    now = now or utc_now()
    rejected: list[str] = []
    skipped: list[str] = []
    for action_id in action_ids:
        try:
            _reject(queue, action_id, by=by, reason=reason or None, now=now)
        except (ActionAlreadyDecided, NotFound):
            skipped.append(action_id)
            continue
        rejected.append(action_id)
    logger.info("candidates rejected", extra={"action_ids": rejected, "by": by})
    if not rejected and not skipped:
        return Outcome("info", "Nothing selected: tick the candidates to reject first.")
    message = f"Rejected {len(rejected)} candidate{'s' if len(rejected) != 1 else ''}."
    if skipped:
        message += (
            f" {len(skipped)} had already been decided (or removed) by someone else and "
            "were left as they were."
        )
        return Outcome("warning", message)
    return Outcome("success", message)


def retry_job(
    jobs: ClipJobStore,
    job_id: str,
    *,
    by: str,
    limit: int,
    now: datetime | None = None,
) -> Outcome:
    """The manual retry, within the control plane's `max_manual_retries`."""
    try:
        job = jobs.retry(job_id, by=by, limit=limit, now=now or utc_now())
    except RetryLimitReached:
        return Outcome(
            "warning",
            f"Not retried: job {job_id} already used all {limit} manual retries. Approve a new "
            "candidate for this moment instead (for a past moment, a VOD clip from the Manual "
            "clip page).",
        )
    except TransitionRefused as error:
        return Outcome(
            "warning",
            f"Not retried: job {job_id} is {error.current} now, not failed (someone else may "
            "have retried it). Nothing was changed.",
        )
    except NotFound:
        return Outcome("error", f"Job {job_id} no longer exists; refresh the page.")
    logger.info("job retried", extra={"job_id": job_id, "by": by, "retry": job.manual_retries})
    return Outcome(
        "success",
        f"Job {job_id} is queued again (manual retry {job.manual_retries} of {limit}).",
        job_id=job_id,
    )
