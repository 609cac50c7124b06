"""The per-minute sweeper: nothing waits forever, nothing is clipped twice.

Idempotent and bounded per run: it expires stale candidates, re-arms jobs whose retry time
came, finishes jobs whose worker died (confirming once with a clip id; failing with
`clip_unknown` without one, never creating blind), and fills download links.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from google.cloud import firestore

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ByteClipsError, ClipError, ErrorCode, operator_message
from shared.domain.twitch_models import Clip
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS
from shared.pipeline.create import ClipWorker, ready_fields
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore

logger = logging.getLogger(__name__)

STALE_QUEUED = timedelta(minutes=2)
LOST_WORKER_DETAIL = (
    "The worker stopped while asking Twitch for this clip, so it may or may not exist. "
    "Check the channel's clips on Twitch first; retry only if the clip is missing."
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SweepReport:
    expired_actions: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)
    downloads_filled: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class ClipSweeper:
    def __init__(
        self,
        db: firestore.Client,
        worker: ClipWorker,
        *,
        sweeper_id: str,
        limit: int = 100,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._queue = ActionQueue(db)
        self._jobs = ClipJobStore(db)
        self._worker = worker
        self._id = sweeper_id
        self._limit = limit
        self._clock = clock

    def run(self) -> SweepReport:
        report = SweepReport()
        now = self._clock()
        config = self._worker.config.read(fresh=True)
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
            ("leases", lambda: report.finished.update(self._finish_lost(now))),
            ("downloads", lambda: report.downloads_filled.extend(self._downloads(config, now))),
        ]
        for name, step in steps:
            try:
                step()
            except Exception as error:  # one failing step must not stop the others
                logger.exception("sweeper step %s failed", name)
                report.errors.append(f"{name}: {type(error).__name__}: {error}")
        return report

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

    def _finish_lost(self, now: datetime) -> dict[str, str]:
        finished = {}
        for status in (JobStatus.CREATING, JobStatus.POLLING):
            for job in self._jobs.list_by_status(status, limit=self._limit):
                if job.lease_active(now):
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
                    finished[job.job_id] = self._finish(claim.job, now)
        return finished

    def _finish(self, job: ClipJob, now: datetime) -> str:
        if job.status is JobStatus.CREATING or not job.twitch_clip_id:
            self._fail(job, ErrorCode.UNKNOWN, LOST_WORKER_DETAIL, now)
            return "failed: clip_unknown"
        editor = self._worker.config.read().clip_editor_user_id or job.broadcaster_id
        try:
            found = self._worker_get_clip(editor, job.twitch_clip_id)
        except ClipError as error:
            found = None
            logger.warning(
                "sweeper could not confirm", extra={"job_id": job.job_id, "e": error.code}
            )
        if found is not None:
            self._jobs.transition(
                job.job_id,
                expect=JobStatus.POLLING,
                to=JobStatus.READY,
                fields=ready_fields(found, now),
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

    def _worker_get_clip(self, editor: str, clip_id: str) -> Clip | None:
        clips = self._worker.twitch.get_clips(self._worker.token_source(editor), [clip_id])
        return clips[0] if clips else None

    def _fail(self, job: ClipJob, code: ErrorCode, detail: str, now: datetime) -> None:
        self._jobs.fail(
            job.job_id, expect=job.status, code=code, detail=detail, worker=self._id, now=now
        )

    def _downloads(self, config: ControlPlaneConfig, now: datetime) -> list[str]:
        """Download links for ready clips, batched per channel; null links wait for later."""
        # Recently finished jobs, filtered here: a `== None` filter is not served by every
        # emulator, and links matter for fresh clips (the edit link lasts 24 h).
        recent = self._jobs.list_by_status(JobStatus.READY, limit=self._limit)
        by_channel: dict[tuple[str, str], list[ClipJob]] = {}
        for job in recent:
            if job.landscape_download_url or job.portrait_download_url:
                continue
            if job.twitch_clip_id and job.ready_at and now - job.ready_at < timedelta(hours=24):
                editor = config.clip_editor_user_id or job.broadcaster_id
                by_channel.setdefault((editor, job.broadcaster_id), []).append(job)
        filled = []
        for (editor, broadcaster), jobs in by_channel.items():
            links = self._worker.twitch.get_clip_downloads(
                self._worker.token_source(editor),
                editor_id=editor,
                broadcaster_id=broadcaster,
                clip_ids=[j.twitch_clip_id or "" for j in jobs],
            )
            found = {d.clip_id: d for d in links}
            for job in jobs:
                link = found.get(job.twitch_clip_id or "")
                if link is None or not (link.landscape_download_url or link.portrait_download_url):
                    continue
                self._jobs.update_fields(
                    job.job_id,
                    {
                        "landscape_download_url": link.landscape_download_url,
                        "portrait_download_url": link.portrait_download_url,
                    },
                    expect={JobStatus.READY},
                    now=now,
                )
                filled.append(job.job_id)
        return filled
