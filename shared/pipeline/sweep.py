"""The per-minute sweeper: nothing waits forever, nothing is clipped twice.

Idempotent and bounded per run: it expires stale candidates, re-arms jobs whose retry time
came, finishes jobs whose worker died (confirming once with a clip id; failing with
`clip_unknown` without one, never creating blind), and runs the links stage
(`shared.pipeline.links`).

With `clip_api_enabled` off (the rollback switch) it makes no Helix call at all: a job waiting
for confirmation says it waits, and the links stage holds (the report says so).
A step that fails on something a retry cannot fix (an unreadable document) is reported once
per sweeper, not counted as an error, so the scheduled call does not answer 500 for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ByteClipsError, ClipError, ErrorCode, operator_message
from shared.domain.twitch_models import Clip
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS
from shared.pipeline.create import ready_fields
from shared.pipeline.links import ClipLinks
from shared.pipeline.unprocessable import reason, retry_cannot_fix
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TokenSources
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

STALE_QUEUED = timedelta(minutes=2)
LOST_WORKER_DETAIL = (
    "The worker stopped while asking Twitch for this clip, so it may or may not exist. "
    "Check the channel's clips on Twitch first; retry only if the clip is missing."
)
SWITCHED_OFF_CONFIRM = (
    "Waiting: clip_api_enabled is off in the control plane, so Twitch is not asked whether "
    "this clip appeared. Turn it on to continue; the sweeper checks it then."
)


@dataclass
class SweepReport:
    expired_actions: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)
    downloads_filled: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    unprocessable: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ClipSweeper:
    """One sweep's steps over the stores it is given; it shares the worker's token recipe but
    never the worker itself."""

    def __init__(
        self,
        *,
        queue: ActionQueue,
        jobs: ClipJobStore,
        config: ControlPlaneStore,
        twitch: HelixClips,
        tokens: TokenSources,
        links: ClipLinks,
        sweeper_id: str,
        limit: int = 100,
        clock: Clock = utc_now,
    ) -> None:
        self._queue = queue
        self._jobs = jobs
        self._config = config
        self._twitch = twitch
        self._tokens = tokens
        self._links = links
        self._id = sweeper_id
        self._limit = limit
        self._clock = clock
        self._reported: set[str] = set()

    def run(self) -> SweepReport:
        report = SweepReport()
        now = self._clock()
        config = self._config.read(fresh=True)
        steps: list[tuple[str, Callable[[], None]]] = [
            (
                "expire",
                lambda: report.expired_actions.extend(
                    self._queue.expire_older_than(
                        timedelta(minutes=config.action_ttl_minutes), now=now, limit=self._limit
                    )
                ),
            ),
            ("requeue", lambda: report.requeued.extend(self._requeue(now))),
            ("leases", lambda: report.finished.update(self._finish_lost(config, now))),
            ("downloads", lambda: self._links_step(config, now, report)),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:  # one failing step must not stop the others
                if retry_cannot_fix(error):
                    report.unprocessable.append(f"{name}: {self._report_once(name, error)}")
                    continue
                logger.exception("sweeper step %s failed", name)
                report.errors.append(f"{name}: {type(error).__name__}: {reason(error)}")
        return report

    def _links_step(self, config: ControlPlaneConfig, now: datetime, report: SweepReport) -> None:
        held = self._links.held(config, now)
        if held:
            report.held.append(held)
            return
        report.downloads_filled.extend(self._links.fill(config, now))

    def _report_once(self, step: str, error: Exception) -> str:
        """The reason, logged as one ERROR line the first time this sweeper meets it."""
        why = reason(error)
        if why not in self._reported:
            self._reported.add(why)
            logger.error("sweeper step %s skipped: %s", step, why)
        return why

    def _requeue(self, now: datetime) -> list[str]:
        """Re-arm due retries, and queued jobs whose trigger never ran (lost event)."""
        requeued = []
        for job in self._jobs.list_by_status(JobStatus.QUEUED, limit=self._limit):
            due = job.next_attempt_at is not None and job.next_attempt_at <= now
            stale = job.next_attempt_at is None and job.updated_at <= now - STALE_QUEUED
            if not (due or stale) or job.lease_active(now):
                continue
            try:
                self._jobs.update_fields(
                    job.job_id,
                    {"next_attempt_at": None, "requeued_at": now},
                    expect={JobStatus.QUEUED},
                    now=now,
                )
            except ByteClipsError:
                continue
            requeued.append(job.job_id)
        return requeued

    def _finish_lost(self, config: ControlPlaneConfig, now: datetime) -> dict[str, str]:
        finished = {}
        for status in (JobStatus.CREATING, JobStatus.POLLING):
            for job in self._jobs.list_by_status(status, limit=self._limit):
                if job.lease_active(now) or self._already_held(job, config):
                    continue
                claim = self._jobs.claim(
                    job.job_id,
                    worker=self._id,
                    lease_seconds=60,
                    expect={status},
                    now=now,
                    current=job,
                )
                if claim is not None:
                    finished[job.job_id] = self._finish(claim.job, config, now)
        return finished

    def _finish(self, job: ClipJob, config: ControlPlaneConfig, now: datetime) -> str:
        if job.status is JobStatus.CREATING or not job.twitch_clip_id:
            self._fail(job, ErrorCode.UNKNOWN, LOST_WORKER_DETAIL, now)
            return "failed: clip_unknown"
        if not config.clip_api_enabled:
            return self._hold(job, now)
        editor = config.clip_editor_user_id or job.broadcaster_id
        try:
            found = self._get_clip(editor, job.twitch_clip_id)
        except ClipError as error:
            found = None
            logger.warning(
                "sweeper could not confirm", extra={"job_id": job.job_id, "e": error.code}
            )
        if found is not None:
            held_note = {"error_detail": None} if job.error_detail == SWITCHED_OFF_CONFIRM else {}
            self._jobs.transition(
                job.job_id,
                expect=JobStatus.POLLING,
                to=JobStatus.READY,
                fields=ready_fields(found, now) | held_note,
                worker=self._id,
                now=now,
            )
            return "ready"
        created = job.clip_created_at or job.updated_at
        if now - created < timedelta(seconds=CONFIRM_DEADLINE_SECONDS):
            self._jobs.release(job.job_id, worker=self._id, now=now)
            return "left for a later sweep"
        self._fail(job, ErrorCode.CREATE_TIMEOUT, operator_message(ErrorCode.CREATE_TIMEOUT), now)
        return "failed: clip_create_timeout"

    @staticmethod
    def _already_held(job: ClipJob, config: ControlPlaneConfig) -> bool:
        """Switch off and the job already says it waits: nothing to claim or write."""
        return not config.clip_api_enabled and job.error_detail == SWITCHED_OFF_CONFIRM

    def _hold(self, job: ClipJob, now: datetime) -> str:
        """Rollback switch off: no Get Clips; the job says it waits, and the lease goes back."""
        if job.error_detail != SWITCHED_OFF_CONFIRM:
            self._jobs.update_fields(
                job.job_id,
                {"error_detail": SWITCHED_OFF_CONFIRM},
                expect={JobStatus.POLLING},
                worker=self._id,
                now=now,
            )
        self._jobs.release(job.job_id, worker=self._id, now=now)
        return "waiting: clip_api_enabled is off"

    def _get_clip(self, editor: str, clip_id: str) -> Clip | None:
        clips = self._twitch.get_clips(self._tokens.for_user(editor), [clip_id])
        return clips[0] if clips else None

    def _fail(self, job: ClipJob, code: ErrorCode, detail: str, now: datetime) -> None:
        self._jobs.fail(
            job.job_id, expect=job.status, code=code, detail=detail, worker=self._id, now=now
        )
