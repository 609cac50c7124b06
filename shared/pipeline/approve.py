"""Approval: the action becomes `approved` and its job is created `queued`, atomically.

The action queue's decision batch (one atomic commit) also creates the job under
`job_id_for(action_id)` with `create()`. Two approvals racing cannot both commit, because their
creates collide (docs/architecture.md §5), and a reject racing an approval collides on the decision
document.
"""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore

from shared.domain.clip_job import ApprovalEdits, ClipJob, new_job
from shared.domain.clock import utc_now
from shared.store.action_queue import ActionItem, ActionQueue, ActionStatus
from shared.store.clip_jobs import ClipJobStore


def approve(
    queue: ActionQueue,
    jobs: ClipJobStore,
    action_id: str,
    *,
    by: str,
    edits: ApprovalEdits | None = None,
    now: datetime | None = None,
    via: str = "app",
) -> ClipJob:
    """Approve a pending candidate and return its new `queued` job.

    `via` names the path (`app`, `chat`, `policy`) for the approval-speed figures; `by` is
    who decided (an operator, a chatter's login, `policy <rule>`). Raises
    ActionAlreadyDecided if it was approved, rejected or expired before (or concurrently; it
    says who decided first), InvalidInput for bad edits, NotFound for an unknown action.
    """
    now = now or utc_now()
    created: list[ClipJob] = []

    def create_job(batch: firestore.WriteBatch, item: ActionItem) -> str:
        job = new_job(
            action_id, item.payload, edits=edits or ApprovalEdits(), approved_by=by, now=now
        )
        batch.create(jobs.ref(job.job_id), job.to_firestore())
        created[:] = [job]
        return job.job_id

    queue.decide(action_id, ActionStatus.APPROVED, by=by, now=now, also=create_job, via=via)
    return created[0]
