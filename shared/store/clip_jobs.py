"""`clip_jobs/{job_id}`: reads, checked transitions, and the lease that makes one worker own a job.

Exclusivity comes from `commit_led_by_create` (docs/architecture.md §5): claim N is
`clip_jobs/{id}/claims/{N}`, manual retry N is `clip_jobs/{id}/retries/{N}`, the chat bot's
announcement of a ready clip is `clip_jobs/{id}/chat_announcements/ready`. Transactions are
used only for consistent read-check-write.

Two markers per claim guard a clip Twitch may have made (docs/architecture.md §5.1):
`creates/{N}` is created by the worker right before it sends Create Clip, or by the sweeper as
a fence saying claim N will never send one; `created/{N}` is created with the 202's clip id
in the batch that saves it, or by the sweeper as a fence before it takes the job over. Whoever
creates a marker first decides; the loser learns which way it went by reading it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.cloud import firestore
from google.cloud.firestore_v1.aggregation import AggregationQuery
from google.cloud.firestore_v1.base_aggregation import AggregationResult
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.watch import ChangeType, Watch

from shared.domain.clip_job import (
    ClipJob,
    JobStatus,
    check_late_confirmation,
    check_transition,
    manual_retry_fields,
)
from shared.domain.clock import utc_now
from shared.domain.errors import (
    ErrorCode,
    LeaseLost,
    RetryLimitReached,
    TransitionRefused,
)
from shared.domain.language import N_
from shared.store.documents import existing, parse_document, readable
from shared.store.exclusive import MARKER_TTL, commit_led_by_create
from shared.store.live_query import LiveQuery

COLLECTION = "clip_jobs"
CLAIMS = "claims"
RETRIES = "retries"
CREATES = "creates"
CREATED = "created"
ANNOUNCEMENTS = "chat_announcements"
ANNOUNCEMENT_DOC = "ready"
ANNOUNCED_FIELD = "chat_announced_at"
_KEEPS_LEASE = frozenset({JobStatus.CREATING, JobStatus.POLLING})
_LEASE_CLEARED = {"lease_holder": None, "lease_until": None}


@dataclass(frozen=True)
class Claim:
    """Proof that `worker` owns the job until `job.lease_until`."""

    job: ClipJob
    seq: int
    worker: str


@dataclass(frozen=True)
class CreateMark:
    """`creates/{N}`: when claim N's worker sent Create Clip, or that a sweeper fenced the
    claim off (no create was sent under it, and none ever will be)."""

    sent_at: datetime | None
    fenced_by: str | None = None

    @property
    def sent(self) -> bool:
        return self.fenced_by is None and self.sent_at is not None


@dataclass(frozen=True)
class CreatedMark:
    """`created/{N}`: the clip id claim N's create returned, or a sweeper's fence (the
    worker's late 202 then keeps only the ids and leaves the job to the sweeper)."""

    clip_id: str | None
    edit_url: str | None = None
    fenced_by: str | None = None


UNREADABLE_FIX = N_("fix or delete that document in Firestore (approve the moment again if needed)")
logger = logging.getLogger(__name__)

# Saving a clip id retries Firestore's passing failures: this write must not be given up lightly.
_SAVE_RETRY = Retry(
    predicate=if_exception_type(
        gexc.ServiceUnavailable,
        gexc.DeadlineExceeded,
        gexc.InternalServerError,
        gexc.Aborted,
        gexc.ResourceExhausted,
    ),
    initial=0.2,
    maximum=2.0,
    multiplier=2.0,
    timeout=20.0,
)


def read_job(snap: Any) -> ClipJob:
    """A stored job (the document id stands in for a missing `job_id`), or
    StoredDocumentUnreadable naming the document and its refused fields (never their values:
    a foreign document may hold anything)."""
    fields = {"job_id": snap.id} | (snap.to_dict() or {})
    return parse_document(ClipJob, f"{COLLECTION}/{snap.id}", fields, UNREADABLE_FIX)


def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, JobStatus) else v) for k, v in fields.items()}


def _check_lease(job: ClipJob, job_id: str, worker: str | None, now: datetime) -> None:
    """LeaseLost unless `worker` (when one is named) holds the job's lease at `now`."""
    if worker is not None and (job.lease_holder != worker or not job.lease_active(now)):
        raise LeaseLost(job_id, worker)


class ClipJobStore:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection(COLLECTION)

    def ref(self, job_id: str) -> firestore.DocumentReference:
        return self._col.document(job_id)

    def get(self, job_id: str) -> ClipJob | None:
        snap = self.ref(job_id).get()
        return read_job(snap) if snap.exists else None

    def require(self, job_id: str) -> ClipJob:
        return read_job(existing(self.ref(job_id).get(), "clip job"))

    def list_by_status(self, status: JobStatus, limit: int = 200) -> list[ClipJob]:
        """Jobs in one status, most recently changed first."""
        query = (
            self._col.where(filter=FieldFilter("status", "==", JobStatus(status).value))
            .order_by("updated_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        return readable(query.stream(), read_job)

    def count_by_status(self) -> dict[JobStatus, int]:
        """One aggregation query per status: cheap at any number of jobs."""
        counts = {}
        for status in JobStatus:
            query = self._col.where(filter=FieldFilter("status", "==", status.value))
            # google-cloud-firestore types `count()` as returning the class, not an instance.
            aggregation = cast(AggregationQuery, query.count())
            result = cast("list[list[AggregationResult]]", aggregation.get())
            counts[status] = int(result[0][0].value) if result else 0
        return counts

    def watch_status(self, status: JobStatus, limit: int) -> LiveQuery[ClipJob]:
        """The `limit` most recently changed jobs in one status, kept by a listener (`start()`
        it); an unreadable job is a row with its problem."""
        query = self._col.where(filter=FieldFilter("status", "==", JobStatus(status).value))
        query = query.order_by("updated_at", direction=firestore.Query.DESCENDING)
        return LiveQuery(query, read_job, limit=limit, name=f"{status.value} jobs")

    def created_since(self, since: datetime, limit: int = 1000) -> list[ClipJob]:
        """Jobs created at or after `since`, newest first (single-field ranges, no index).

        A range holds one type, so a job whose `created_at` another tool wrote as an ISO
        string (read as UTC, docs/architecture.md §3) is found by a second range over text."""
        jobs: list[ClipJob] = []
        for bound in (since, since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")):
            query = (
                self._col.where(filter=FieldFilter("created_at", ">=", bound))
                .order_by("created_at", direction=firestore.Query.DESCENDING)
                .limit(limit)
            )
            jobs += [job for job in readable(query.stream(), read_job) if job.created_at >= since]
        return sorted(jobs, key=lambda job: job.created_at, reverse=True)[:limit]

    def transition(
        self,
        job_id: str,
        *,
        expect: JobStatus,
        to: JobStatus,
        fields: Mapping[str, Any] | None = None,
        worker: str | None = None,
        now: datetime | None = None,
    ) -> ClipJob:
        """Move `expect -> to` if the job is still in `expect` (and `worker` holds the lease).

        Leaving creating/polling releases the lease.
        """
        now = now or utc_now()
        check_transition(expect, to, job_id)

        def changes(job: ClipJob) -> dict[str, Any]:
            if job.status is not expect:
                raise TransitionRefused(job_id, job.status.value, to.value, "the job moved on")
            _check_lease(job, job_id, worker, now)
            changed = dict(fields or {}) | {"status": to, "updated_at": now}
            return changed if to in _KEEPS_LEASE else changed | _LEASE_CLEARED

        return self._change(job_id, changes)

    def fail(
        self,
        job_id: str,
        *,
        expect: JobStatus,
        code: ErrorCode,
        detail: str,
        worker: str | None,
        now: datetime,
        attempts: int | None = None,
    ) -> ClipJob:
        """`expect -> failed` with the canonical code and the operator's sentence."""
        fields: dict[str, Any] = {"error_code": code, "error_detail": detail}
        if attempts is not None:
            fields["attempts"] = attempts
        return self.transition(
            job_id, expect=expect, to=JobStatus.FAILED, fields=fields, worker=worker, now=now
        )

    def update_fields(
        self,
        job_id: str,
        fields: Mapping[str, Any],
        *,
        expect: Collection[JobStatus],
        worker: str | None = None,
        now: datetime | None = None,
    ) -> ClipJob:
        """Change fields without changing status (progress, download links)."""
        if "status" in fields:
            raise ValueError("use transition() to change a job's status")
        now = now or utc_now()

        def changes(job: ClipJob) -> dict[str, Any]:
            if job.status not in expect:
                raise TransitionRefused(job_id, job.status.value, job.status.value, "not updatable")
            _check_lease(job, job_id, worker, now)
            return dict(fields) | {"updated_at": now}

        return self._change(job_id, changes)

    def claim(
        self,
        job_id: str,
        *,
        worker: str,
        lease_seconds: float,
        expect: Collection[JobStatus],
        to: JobStatus | None = None,
        now: datetime | None = None,
        current: ClipJob | None = None,
        fields: Mapping[str, Any] | None = None,
        may_create: bool = False,
    ) -> Claim | None:
        """Take the job's lease (moving it to `to` when given), or None if someone else has it.

        Works when the job has no lease or an expired one; two workers racing for the same
        job both try to create claim N+1 and only one create succeeds. `current` is the job
        as the caller just read it (saves a read; a stale copy only loses the race). `fields`
        are written with the claim (the plan); `may_create` records the claim as the one whose
        worker may send Create Clip (`create_seq`; 0 when a claim into `creating` never sends
        one), and clears an earlier one's send time.
        """
        now = now or utc_now()
        job = current if current is not None else self.require(job_id)
        if job.status not in expect or job.lease_active(now):
            return None
        if to is not None:
            check_transition(job.status, to, job_id)
        seq = job.lease_seq + 1
        until = now + timedelta(seconds=lease_seconds)
        update: dict[str, Any] = {
            "lease_seq": seq,
            "lease_holder": worker,
            "lease_until": until,
            "updated_at": now,
        }
        if to is not None:
            update["status"] = to.value
        extra = dict(fields or {})
        if to is JobStatus.CREATING:
            # 0: this claim never sends a create, so a sweeper may queue the job again.
            extra |= {"create_seq": seq if may_create else 0, "create_sent_at": None}
        update |= _encode(extra)
        marker = self._marker(job_id, CLAIMS, seq)
        claim_data = {
            "worker": worker,
            "at": now,
            "lease_until": until,
            "from_status": job.status.value,
            "expires_at": now + MARKER_TTL,
        }
        if not commit_led_by_create(
            self._db, marker, claim_data, lambda batch: batch.update(self.ref(job_id), update)
        ):
            return None
        claimed = job.model_copy(
            update={
                **extra,
                "lease_seq": seq,
                "lease_holder": worker,
                "lease_until": until,
                "updated_at": now,
                "status": to or job.status,
            }
        )
        return Claim(job=claimed, seq=seq, worker=worker)

    def renew_lease(
        self, job_id: str, *, worker: str, seq: int, until: datetime, now: datetime
    ) -> bool:
        """Move claim `seq`'s lease end to `until` while it is still `worker`'s, active and in
        `creating` (the create window's heartbeat, docs/architecture.md §5.1); False when the
        claim is gone (a sweeper took the job over, or it moved on)."""
        ref = self.ref(job_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> bool:
            job = self._read(ref, tx)
            ours = job.lease_holder == worker and job.lease_seq == seq and job.lease_active(now)
            if job.status is not JobStatus.CREATING or not ours:
                return False
            tx.update(ref, {"lease_until": until, "updated_at": now})
            return True

        return bool(run(self._db.transaction()))

    # ------------------------------------------------- a clip Twitch may have made (§5.1)

    def mark_create_sent(self, job_id: str, *, seq: int, worker: str, now: datetime) -> bool:
        """Record that claim `seq` sends Create Clip now; False when a sweeper fenced the claim
        off first, and then nothing may be sent."""
        marker = self._marker(job_id, CREATES, seq)
        try:
            marker.create({"worker": worker, "sent_at": now, "expires_at": now + MARKER_TTL})
        except gexc.AlreadyExists:
            return False
        return True

    def fence_create(self, job_id: str, *, seq: int, by: str, now: datetime) -> CreateMark:
        """The create of claim `seq` as decided now: the worker's mark if it sent one, else a
        fence by `by`, after which that worker never sends."""
        data = self._fence(self._marker(job_id, CREATES, seq), by=by, now=now)
        if data is None:
            return CreateMark(sent_at=None, fenced_by=by)
        fenced = data.get("fenced_by")
        return CreateMark(
            sent_at=data.get("sent_at") if isinstance(data.get("sent_at"), datetime) else None,
            fenced_by=fenced if isinstance(fenced, str) else None,
        )

    def record_created(
        self,
        job_id: str,
        *,
        seq: int,
        clip_id: str,
        edit_url: str,
        worker: str,
        now: datetime,
        fields: Mapping[str, Any],
    ) -> bool:
        """Keep a 202's clip id and edit link whatever happened to the lease; never raises
        `LeaseLost` (docs/architecture.md §5.1).

        The batch led by `created/{seq}` also writes `fields` (the move to `polling`): True, the
        caller still owns the job. If a sweeper fenced the claim off first, only the ids (and
        the record) are written, unconditionally, and the sweeper finishes the job: False.
        """
        ref = self.ref(job_id)
        ids = {"twitch_clip_id": clip_id, "edit_url": edit_url, "clip_created_at": now}
        record = {
            "clip_id": clip_id,
            "edit_url": edit_url,
            "worker": worker,
            "at": now,
            "expires_at": now + MARKER_TTL,
        }
        marker = self._marker(job_id, CREATED, seq)
        if fields.get("status") is not None:
            check_transition(JobStatus.CREATING, fields["status"], job_id)

        def save() -> bool:
            return commit_led_by_create(
                self._db,
                marker,
                record,
                lambda batch: batch.update(ref, _encode({**fields, **ids, "updated_at": now})),
            )

        if _SAVE_RETRY(save)():
            return True
        snap = marker.get()
        if (snap.to_dict() or {}).get("clip_id") == clip_id:
            return True  # an earlier try of this very save went through
        _SAVE_RETRY(ref.update)(_encode({**ids, "updated_at": now}))
        return False

    def fence_created(self, job_id: str, *, seq: int, by: str, now: datetime) -> CreatedMark:
        """Before a sweeper takes over a job whose create was sent: the worker's record of the
        202 if it made one, else a fence so a later 202 only keeps its ids."""
        data = self._fence(self._marker(job_id, CREATED, seq), by=by, now=now)
        if data is None:
            return CreatedMark(clip_id=None, fenced_by=by)
        clip_id, edit_url, fenced = data.get("clip_id"), data.get("edit_url"), data.get("fenced_by")
        return CreatedMark(
            clip_id=clip_id if isinstance(clip_id, str) else None,
            edit_url=edit_url if isinstance(edit_url, str) else None,
            fenced_by=fenced if isinstance(fenced, str) else None,
        )

    def holders_of_clip(self, clip_id: str) -> list[str]:
        """Ids of the jobs that already hold this clip (recovery never gives one clip to two
        jobs)."""
        query = self._col.where(filter=FieldFilter("twitch_clip_id", "==", clip_id)).limit(5)
        return [snap.id for snap in query.stream()]

    def late_checks(self, now: datetime, limit: int = 200) -> list[ClipJob]:
        """Jobs still being looked for (`late_check_until` ahead of `now`), soonest end first
        (a single-field range: no index)."""
        query = (
            self._col.where(filter=FieldFilter("late_check_until", ">", now))
            .order_by("late_check_until")
            .limit(limit)
        )
        return readable(query.stream(), read_job)

    def confirm_late(self, job_id: str, *, fields: Mapping[str, Any], now: datetime) -> ClipJob:
        """`failed -> ready` for a `clip_create_timeout` job whose clip appeared after all
        (docs/architecture.md §3.2's one exception, `check_late_confirmation`);
        `late_confirmed_at` says so."""

        def changes(job: ClipJob) -> dict[str, Any]:
            check_late_confirmation(job)
            return dict(fields) | {
                "status": JobStatus.READY,
                "late_confirmed_at": now,
                "late_check_until": None,
                "error_code": None,
                "error_detail": None,
                "updated_at": now,
            }

        return self._change(job_id, changes)

    def release(self, job_id: str, *, worker: str, now: datetime | None = None) -> None:
        """Give the lease back early (only if still ours)."""
        now = now or utc_now()
        ref = self.ref(job_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> None:
            job = self._read(ref, tx)
            if job.lease_holder == worker:
                tx.update(ref, _LEASE_CLEARED | {"updated_at": now})

        run(self._db.transaction())

    def retry(self, job_id: str, *, by: str, limit: int, now: datetime | None = None) -> ClipJob:
        """The operator's manual retry: failed -> queued, at most `limit` times per job."""
        now = now or utc_now()
        job = self.require(job_id)
        fields = manual_retry_fields(job, limit=limit, now=now)
        marker = self.ref(job_id).collection(RETRIES).document(f"{fields['manual_retries']:03d}")
        retry_data = {
            "by": by,
            "at": now,
            "previous_error_code": job.error_code,
            "previous_clip_id": job.twitch_clip_id,
            "previous_edit_url": job.edit_url,
        }
        if not commit_led_by_create(
            self._db, marker, retry_data, lambda batch: batch.update(self.ref(job_id), fields)
        ):
            current = self.require(job_id)
            if current.manual_retries >= limit:
                raise RetryLimitReached(job_id, limit)
            raise TransitionRefused(
                job_id, current.status.value, JobStatus.QUEUED.value, "retried by someone else"
            )
        return job.model_copy(update=fields | {"status": JobStatus.QUEUED})

    def watch_unannounced_ready(
        self, since: datetime, on_jobs: Callable[[list[ClipJob]], None]
    ) -> Watch:
        """Jobs whose `ready_at` is at or after `since` and that chat has not announced yet,
        as they arrive or change (every snapshot, possibly none); an unreadable document is
        skipped and logged once with its id. Runs on Firestore's listener thread;
        `unsubscribe()` on the result stops it."""

        def deliver(docs: list[Any], changes: list[Any], read_time: Any) -> None:
            jobs = []
            for change in changes:
                data = change.document.to_dict() or {}
                if change.type == ChangeType.REMOVED or data.get(ANNOUNCED_FIELD) is not None:
                    continue
                jobs += readable([change.document], read_job)
            try:
                on_jobs(jobs)
            except Exception:
                # Raising here would end Firestore's listener thread, and the listener with it.
                logger.exception("ready-jobs listener: a snapshot could not be handled")

        return self._col.where(filter=FieldFilter("ready_at", ">=", since)).on_snapshot(deliver)

    def claim_chat_announcement(self, job_id: str, *, by: str, now: datetime) -> bool:
        """Whether `by` won the right to announce this job in chat; of several bot instances
        exactly one does (the marker's create leads the batch that sets `chat_announced_at`)."""
        ref = self.ref(job_id)
        return commit_led_by_create(
            self._db,
            ref.collection(ANNOUNCEMENTS).document(ANNOUNCEMENT_DOC),
            {"by": by, "at": now},
            lambda batch: batch.update(ref, {ANNOUNCED_FIELD: now}),
        )

    def _marker(self, job_id: str, kind: str, seq: int) -> firestore.DocumentReference:
        """`clip_jobs/{job_id}/{kind}/{seq}`: claim `seq`'s marker of that kind."""
        return self.ref(job_id).collection(kind).document(f"{seq:06d}")

    @staticmethod
    def _fence(
        marker: firestore.DocumentReference, *, by: str, now: datetime
    ) -> dict[str, Any] | None:
        """Create `marker` as a fence by `by`: None when this fence decided, else what the
        marker already said (whoever created it first decided)."""
        try:
            marker.create({"fenced_by": by, "at": now, "expires_at": now + MARKER_TTL})
        except gexc.AlreadyExists:
            return marker.get().to_dict() or {}
        return None

    def _change(self, job_id: str, changes: Callable[[ClipJob], dict[str, Any]]) -> ClipJob:
        """In one transaction: read the job, let `changes` check it (raising refuses) and name
        the fields to write, write them; the job as written."""
        ref = self.ref(job_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> ClipJob:
            job = self._read(ref, tx)
            changed = changes(job)
            tx.update(ref, _encode(changed))
            return ClipJob.model_validate(job.model_dump() | changed)

        return run(self._db.transaction())

    def _read(self, ref: firestore.DocumentReference, tx: firestore.Transaction) -> ClipJob:
        return read_job(existing(ref.get(transaction=tx), "clip job"))
