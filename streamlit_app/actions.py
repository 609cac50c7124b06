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

from shared.domain.candidate_status import status_word
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
from shared.domain.language import N_
from shared.domain.validation import problem_text
from shared.i18n import Translator
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from streamlit_app.formatting import EN, ago

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


def _decided_message(queue: ActionQueue, action_id: str, now: datetime, t: Translator = EN) -> str:
    try:
        item = queue.get(action_id)
    except StoredDocumentUnreadable:
        return t(
            "Candidate {id} was already decided by someone else; nothing was changed.",
            id=action_id,
        )
    if item is None:
        return t("Candidate {id} no longer exists; nothing was changed.", id=action_id)
    status = item.status.value
    who = t(" by {who}", who=item.decided_by) if item.decided_by else ""
    when = f" {ago(item.decided_at, now, t)}" if item.decided_at else ""
    return t(
        "Candidate {id} was already {status}{who}{when}; nothing was changed. The queue shows "
        "it no more.",
        id=action_id,
        status=status_word(status, t),
        who=who,
        when=when,
    )


def _not_decided(
    error: ActionAlreadyDecided | NotFound,
    queue: ActionQueue,
    action_id: str,
    now: datetime,
    t: Translator,
) -> Outcome:
    """Someone else decided first, or the candidate is gone: the same answer for any decision."""
    if isinstance(error, ActionAlreadyDecided):
        return Outcome("warning", _decided_message(queue, action_id, now, t))
    return Outcome("error", t(GONE, id=action_id))


def approve_candidate(
    queue: ActionQueue,
    jobs: ClipJobStore,
    action_id: str,
    *,
    by: str,
    title: str | None,
    duration: float,
    now: datetime | None = None,
    t: Translator = EN,
) -> Outcome:
    """Approve through `shared.pipeline.approve.approve` (exactly one job). However old the
    moment, the worker's plan picks the clip that holds it (live, longer live, or VOD)."""
    now = now or utc_now()
    try:
        item = queue.get(action_id)
    except StoredDocumentUnreadable as error:
        return Outcome("error", t("Not approved: {error}.", error=error.phrase.say(t)))
    if item is None:
        return Outcome("error", t(GONE, id=action_id))
    duration = round(float(duration), 1)
    edits = ApprovalEdits(title=title, duration=duration)
    try:
        job = approve(queue, jobs, action_id, by=by, edits=edits, now=now)
    except InvalidInput as error:
        errors: dict[str, list[str]] = {}
        for problem in error.problems:
            errors.setdefault(problem.field, []).append(problem_text(problem, t))
        return Outcome("error", t("Not approved: fix the fields marked below."), errors)
    except (ActionAlreadyDecided, NotFound) as error:
        return _not_decided(error, queue, action_id, now, t)
    logger.info(
        "candidate approved", extra={"action_id": action_id, "job_id": job.job_id, "by": by}
    )
    message = t("Approved. Job {job} is queued; follow it on the Jobs page.", job=job.job_id)
    return Outcome("success", message, job_id=job.job_id)


GONE = N_("Candidate {id} no longer exists; refresh the queue.")


def reject_candidate(
    queue: ActionQueue,
    action_id: str,
    *,
    by: str,
    now: datetime | None = None,
    t: Translator = EN,
) -> Outcome:
    now = now or utc_now()
    try:
        _reject(queue, action_id, by=by, reason=None, now=now)
    except (ActionAlreadyDecided, NotFound) as error:
        return _not_decided(error, queue, action_id, now, t)
    logger.info("candidate rejected", extra={"action_id": action_id, "by": by})
    return Outcome("success", t("Rejected candidate {id}. No clip will be made.", id=action_id))


def archive_unreadable(
    queue: ActionQueue,
    action_id: str,
    *,
    by: str,
    now: datetime | None = None,
    t: Translator = EN,
) -> Outcome:
    """Reject an item the app cannot read, without reading it: it leaves the queue as
    `rejected` through the same decision record as any rejection."""
    now = now or utc_now()
    try:
        queue.reject_unreadable(action_id, by=by, reason=ARCHIVE_REASON, now=now)
    except ActionAlreadyDecided:
        return Outcome(
            "warning",
            t("Item {id} was already decided by someone else; nothing changed.", id=action_id),
        )
    except NotFound:
        return Outcome("info", t("Item {id} no longer exists; nothing to archive.", id=action_id))
    logger.info("unreadable item archived", extra={"action_id": action_id, "by": by})
    message = t(
        "Archived item {id} as rejected: it leaves the queue, nothing is clipped.", id=action_id
    )
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
    t: Translator = EN,
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
        return Outcome("info", t("Nothing selected: tick the candidates to reject first."))
    message = t.plural("Rejected {count} candidate.", "Rejected {count} candidates.", len(rejected))
    if skipped:
        message += " " + t(
            "{count} had already been decided (or removed) by someone else and were left as "
            "they were.",
            count=len(skipped),
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
    t: Translator = EN,
) -> Outcome:
    """The manual retry, within the control plane's `max_manual_retries`."""
    try:
        job = jobs.retry(job_id, by=by, limit=limit, now=now or utc_now())
    except RetryLimitReached:
        return Outcome(
            "warning",
            t(
                "Not retried: job {job} already used all {limit} manual retries. Approve a new "
                "candidate for this moment instead (for a past moment, a VOD clip from the "
                "Manual clip page).",
                job=job_id,
                limit=limit,
            ),
        )
    except TransitionRefused as error:
        return Outcome(
            "warning",
            t(
                "Not retried: job {job} is {status} now, not failed (someone else may have "
                "retried it). Nothing was changed.",
                job=job_id,
                status=error.current,
            ),
        )
    except NotFound:
        return Outcome("error", t("Job {job} no longer exists; refresh the page.", job=job_id))
    logger.info("job retried", extra={"job_id": job_id, "by": by, "retry": job.manual_retries})
    return Outcome(
        "success",
        t(
            "Job {job} is queued again (manual retry {retry} of {limit}).",
            job=job_id,
            retry=job.manual_retries,
            limit=limit,
        ),
        job_id=job_id,
    )
