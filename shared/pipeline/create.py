"""The clip worker: a `queued` job becomes a confirmed Twitch clip, or a clear failure.

Thin orchestration around the pure core (state machine, retry policy, timing) and
the stores. One process at a time owns a job through its lease; a repeated trigger finds the
job claimed and does nothing, so a moment is never clipped twice by a redelivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.cloud import firestore

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.clip_timing import live_timing
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import (
    ClipError,
    ErrorCode,
    InvalidInput,
    TransitionRefused,
    operator_message,
)
from shared.domain.job_triggers import became_runnable
from shared.domain.retry_policy import RetryLimits
from shared.domain.twitch_models import Clip
from shared.domain.twitch_scopes import scopes_for
from shared.events.firestore_document import DocumentWritten
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS, ClipConfirmer
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ObservabilityStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import StoredTokenSource, TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

SWITCHED_OFF_RECHECK = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Outcome:
    """What one run did, for the log line and for tests."""

    job_id: str
    result: str
    detail: str = ""


class ClipWorker:
    def __init__(
        self,
        db: firestore.Client,
        twitch: HelixClips,
        *,
        client_secret: str,
        worker_id: str,
        lease_seconds: float = 60.0,
        clock: Callable[[], datetime] = _now,
        config: ControlPlaneStore | None = None,
    ) -> None:
        self.twitch = twitch
        self._secret = client_secret
        self._worker = worker_id
        self._lease = lease_seconds
        self._clock = clock
        self.jobs = ClipJobStore(db)
        self._confirmer = ClipConfirmer(twitch)
        self.config = config or ControlPlaneStore(db)
        self._tokens = TwitchTokenStore(db)
        self._health = ObservabilityStore(db)

    def on_job_written(self, event: DocumentWritten) -> Outcome:
        """Entry from the Firestore trigger; most writes (our own included) are ignored here."""
        if not became_runnable(event.before, event.after):
            return Outcome(event.document_id, "ignored")
        return self.run(event.document_id)

    def run(self, job_id: str) -> Outcome:
        now = self._clock()
        config = self.config.read(fresh=True)
        job = self.jobs.get(job_id)
        if job is None or job.status is not JobStatus.QUEUED:
            return Outcome(job_id, "not queued")
        if not (config.clip_pipeline_enabled and config.clip_api_enabled):
            return self._wait_for_switch(job, config, now)
        claim = self.jobs.claim(
            job_id,
            worker=self._worker,
            lease_seconds=self._lease,
            expect={JobStatus.QUEUED},
            to=JobStatus.CREATING,
            now=now,
            current=job,
        )
        if claim is None:
            return Outcome(job_id, "claimed elsewhere")
        return self._create(claim.job, config)

    def token_source(self, user_id: str) -> StoredTokenSource:
        return StoredTokenSource(
            self._tokens,
            user_id,
            refresher=self.twitch.refresher(self._secret),
            worker=self._worker,
        )

    def _wait_for_switch(self, job: ClipJob, config: ControlPlaneConfig, now: datetime) -> Outcome:
        """Switched off: no Helix call; the job says why and the sweeper re-checks it."""
        switch = "clip_pipeline_enabled" if not config.clip_pipeline_enabled else "clip_api_enabled"
        timing = live_timing(job.source_ts, now, job.requested_duration)
        if job.mode == "live" and not timing.clippable:
            detail = f"Not created: {switch} is off in the control plane. {timing.note}"
            self._fail(job, JobStatus.QUEUED, ErrorCode.BAD_REQUEST, detail, now)
            return Outcome(job.job_id, "failed", detail)
        detail = (
            f"Waiting: {switch} is off in the control plane, so no clip is made. "
            "Turn it on to continue; the job is re-checked every minute."
        )
        self.jobs.update_fields(
            job.job_id,
            {"next_attempt_at": now + SWITCHED_OFF_RECHECK, "error_detail": detail},
            expect={JobStatus.QUEUED},
            now=now,
        )
        return Outcome(job.job_id, "waiting", detail)

    def _create(self, job: ClipJob, config: ControlPlaneConfig) -> Outcome:
        now = self._clock()
        editor_id = config.clip_editor_user_id or job.broadcaster_id
        refusal = self._auth_refusal(editor_id, job.mode)
        if refusal:
            self._fail(job, JobStatus.CREATING, ErrorCode.UNAUTHORIZED, refusal, now)
            return Outcome(job.job_id, "failed", refusal)
        timing = live_timing(job.source_ts, now, job.requested_duration)
        if job.mode == "live" and not timing.clippable:
            self._fail(job, JobStatus.CREATING, ErrorCode.BAD_REQUEST, timing.note, now)
            return Outcome(job.job_id, "failed", timing.note)
        tokens = self.token_source(editor_id)
        attempts = job.attempts + 1
        try:
            if job.mode == "live":
                created = self.twitch.create_clip(
                    tokens,
                    broadcaster_id=job.broadcaster_id,
                    title=job.requested_title,
                    duration=job.requested_duration,
                    has_delay=job.has_delay or config.clip_has_delay,
                )
            else:
                created = self.twitch.create_clip_from_vod(
                    tokens,
                    editor_id=editor_id,
                    broadcaster_id=job.broadcaster_id,
                    vod_id=job.vod_id or "",
                    vod_offset=job.vod_offset or 0.0,
                    title=job.requested_title or "",
                    duration=job.requested_duration,
                )
        except InvalidInput as error:
            self._fail(job, JobStatus.CREATING, ErrorCode.BAD_REQUEST, str(error), now, attempts)
            return Outcome(job.job_id, "failed", str(error))
        except ClipError as error:
            return self._create_failed(job, config, error, attempts)
        created_at = self._clock()
        job = self.jobs.transition(
            job.job_id,
            expect=JobStatus.CREATING,
            to=JobStatus.POLLING,
            fields={
                "twitch_clip_id": created.id,
                "edit_url": created.edit_url,
                "attempts": attempts,
                "clip_created_at": created_at,
                "error_code": None,
                "error_detail": timing.note or None,
            },
            worker=self._worker,
            now=created_at,
        )
        return self._confirm(job, tokens, created_at)

    def _create_failed(
        self, job: ClipJob, config: ControlPlaneConfig, error: ClipError, attempts: int
    ) -> Outcome:
        now = self._clock()
        said = f" (Twitch said: {error.twitch_message})" if error.twitch_message else ""
        limit = (
            config.max_rate_limit_retries
            if error.error_code is ErrorCode.RATE_LIMITED
            else RetryLimits().max_server_error_tries
        )
        if error.retry_at is not None and attempts < limit:
            detail = (
                f"Retrying at {error.retry_at:%H:%M:%S} UTC after {error.code}{said}; "
                f"try {attempts} of {limit}."
            )
            self.jobs.transition(
                job.job_id,
                expect=JobStatus.CREATING,
                to=JobStatus.QUEUED,
                fields={
                    "attempts": attempts,
                    "next_attempt_at": error.retry_at,
                    "error_code": error.error_code,
                    "error_detail": detail,
                },
                worker=self._worker,
                now=now,
            )
            return Outcome(job.job_id, "retry scheduled", detail)
        detail = f"{error.operator_message}{said}"
        self._fail(job, JobStatus.CREATING, error.error_code, detail, now, attempts)
        return Outcome(job.job_id, "failed", detail)

    def _confirm(self, job: ClipJob, tokens: StoredTokenSource, created_at: datetime) -> Outcome:
        """Wait until Get Clips shows the clip, for at most 15 s after the 202 (SPEC 4)."""
        remaining = CONFIRM_DEADLINE_SECONDS - (self._clock() - created_at).total_seconds()
        clip = self._confirmer.wait_visible(
            tokens, job.twitch_clip_id or "", group=tokens.user_id, timeout=max(remaining, 0.0)
        )
        if clip is not None:
            return self._ready(job, clip)
        detail = operator_message(ErrorCode.CREATE_TIMEOUT)
        self._fail(job, JobStatus.POLLING, ErrorCode.CREATE_TIMEOUT, detail, self._clock())
        return Outcome(job.job_id, "failed", detail)

    def _ready(self, job: ClipJob, clip: Clip) -> Outcome:
        now = self._clock()
        self.jobs.transition(
            job.job_id,
            expect=JobStatus.POLLING,
            to=JobStatus.READY,
            fields=ready_fields(clip, now),
            worker=self._worker,
            now=now,
        )
        return Outcome(job.job_id, "ready", clip.url)

    def _auth_refusal(self, user_id: str, mode: str) -> str:
        """Refuse fast when the last validation says this token cannot clip."""
        health = self._health.read_clips_auth()
        if health is None or (health.user_id and health.user_id != user_id):
            return ""
        checked = f"the token check at {health.last_validated_at:%Y-%m-%d %H:%M} UTC"
        if not health.clips_token_valid:
            return f"Not created: {checked} found the Twitch token invalid. Reconnect Twitch."
        needed = scopes_for(mode)
        if not any(scope in health.scopes for scope in needed):
            return (
                f"Not created: {checked} found the token lacks {' or '.join(needed)}. "
                "Reconnect Twitch and approve that permission."
            )
        return ""

    def _fail(
        self,
        job: ClipJob,
        expect: JobStatus,
        code: ErrorCode,
        detail: str,
        now: datetime,
        attempts: int | None = None,
    ) -> None:
        worker = self._worker if expect is not JobStatus.QUEUED else None
        try:
            self.jobs.fail(
                job.job_id,
                expect=expect,
                code=code,
                detail=detail,
                worker=worker,
                now=now,
                attempts=attempts,
            )
        except TransitionRefused:
            logger.warning("job moved on before it could be failed", extra={"job_id": job.job_id})


def ready_fields(clip: Clip, now: datetime) -> dict[str, Any]:
    return {
        "clip_url": clip.url,
        "thumbnail_url": clip.thumbnail_url or None,
        "ready_at": now,
        "error_code": None,
    }
