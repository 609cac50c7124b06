"""The clip worker: a `queued` job becomes a confirmed Twitch clip, or a clear failure.

Thin orchestration around the pure core (state machine, retry policy, moment plan) and
the stores. One process at a time owns a job through its lease; a repeated trigger finds the
job claimed and does nothing, so a moment is never clipped twice by a redelivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import (
    ClipError,
    ErrorCode,
    InvalidInput,
    TransitionRefused,
    operator_message,
)
from shared.domain.job_triggers import became_runnable
from shared.domain.moment_plan import (
    FUTURE_TOLERANCE,
    MomentPlan,
    PlanMode,
    StreamState,
    plan_moment,
)
from shared.domain.retry_policy import RetryLimits
from shared.domain.twitch_models import Clip, CreatedClip
from shared.domain.twitch_scopes import scopes_for
from shared.events.firestore_document import DocumentWritten
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS, ClipConfirmer
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import StoredTokenSource, TokenSources
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

SWITCHED_OFF_RECHECK = timedelta(seconds=60)
# A live clip may wait for its post-roll to air; a longer wait than this hands the job back.
MAX_PLAN_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Outcome:
    """What one run did, for the log line and for tests."""

    job_id: str
    result: str
    detail: str = ""


class ClipWorker:
    """Creates and confirms one job's clip; everything it talks to is handed in."""

    def __init__(
        self,
        *,
        jobs: ClipJobStore,
        config: ControlPlaneStore,
        clips_auth: ClipsAuthStore,
        twitch: HelixClips,
        tokens: TokenSources,
        confirmer: ClipConfirmer,
        worker_id: str,
        lease_seconds: float = 60.0,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs = jobs
        self._config = config
        self._health = clips_auth
        self._twitch = twitch
        self._tokens = tokens
        self._confirmer = confirmer
        self._worker = worker_id
        self._lease = lease_seconds
        self._clock = clock
        self._sleep = sleep

    def on_job_written(self, event: DocumentWritten) -> Outcome:
        """Entry from the Firestore trigger; most writes (our own included) are ignored here."""
        if not became_runnable(event.before, event.after):
            return Outcome(event.document_id, "ignored")
        return self.run(event.document_id)

    def run(self, job_id: str) -> Outcome:
        now = self._clock()
        config = self._config.read(fresh=True)
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.QUEUED:
            return Outcome(job_id, "not queued")
        if not (config.clip_pipeline_enabled and config.clip_api_enabled):
            return self._wait_for_switch(job, config, now)
        claim = self._jobs.claim(
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

    def _wait_for_switch(self, job: ClipJob, config: ControlPlaneConfig, now: datetime) -> Outcome:
        """Switched off: no Helix call; the job says why and the sweeper re-checks it.

        Waiting does not lose a live moment: the plan made once the switch is back clips it
        from the VOD when a live clip can no longer reach it.
        """
        switch = "clip_pipeline_enabled" if not config.clip_pipeline_enabled else "clip_api_enabled"
        detail = (
            f"Waiting: {switch} is off in the control plane, so no clip is made. "
            "Turn it on to continue; the job is re-checked every minute."
        )
        self._jobs.update_fields(
            job.job_id,
            {"next_attempt_at": now + SWITCHED_OFF_RECHECK, "error_detail": detail},
            expect={JobStatus.QUEUED},
            now=now,
        )
        return Outcome(job.job_id, "waiting", detail)

    def _create(self, job: ClipJob, config: ControlPlaneConfig) -> Outcome:
        now = self._clock()
        editor_id = config.clip_editor_user_id or job.broadcaster_id
        health = self._health.read_clips_auth()
        refusal = self._auth_refusal(health, editor_id, None)
        if refusal:
            self._fail(job, JobStatus.CREATING, ErrorCode.UNAUTHORIZED, refusal, now)
            return Outcome(job.job_id, "failed", refusal)
        tokens = self._tokens.for_user(editor_id)
        attempts = job.attempts + 1
        try:
            plan = self._plan(job, config, tokens)
        except ClipError as error:
            lead = "No clip was made: asking Twitch about the stream failed. "
            return self._create_failed(job, config, error, attempts, lead=lead)
        recorded = plan_fields(plan, now) if plan is not None else {}
        if plan is not None and not plan.creates:
            return self._not_created(job, plan, recorded)
        mode = plan.mode.value if plan is not None else job.mode
        refusal = self._auth_refusal(health, editor_id, mode)
        if refusal:
            self._fail(
                job, JobStatus.CREATING, ErrorCode.UNAUTHORIZED, refusal, now, fields=recorded
            )
            return Outcome(job.job_id, "failed", refusal)
        if plan is not None and plan.not_before is not None:
            handed_back = self._wait_until(job, plan.not_before, recorded)
            if handed_back is not None:
                return handed_back
        try:
            created = self._send_create(job, plan, config, tokens, editor_id)
        except InvalidInput as error:
            self._fail(
                job, JobStatus.CREATING, ErrorCode.BAD_REQUEST, str(error), now, attempts, recorded
            )
            return Outcome(job.job_id, "failed", str(error))
        except ClipError as error:
            return self._create_failed(job, config, error, attempts, plan, recorded)
        created_at = self._clock()
        job = self._jobs.transition(
            job.job_id,
            expect=JobStatus.CREATING,
            to=JobStatus.POLLING,
            fields={
                **recorded,
                "twitch_clip_id": created.id,
                "edit_url": created.edit_url,
                "attempts": attempts,
                "clip_created_at": created_at,
                "error_code": None,
                "error_detail": None,
            },
            worker=self._worker,
            now=created_at,
        )
        return self._confirm(job, tokens, created_at)

    def _send_create(
        self,
        job: ClipJob,
        plan: MomentPlan | None,
        config: ControlPlaneConfig,
        tokens: StoredTokenSource,
        editor_id: str,
    ) -> CreatedClip:
        """The one create call: the plan's clip, or the job as approved when it has no plan."""
        duration = (plan.duration if plan else None) or job.requested_duration
        if (plan.mode.value if plan else job.mode) == "live":
            return self._twitch.create_clip(
                tokens,
                broadcaster_id=job.broadcaster_id,
                title=job.requested_title,
                duration=duration,
            )
        return self._twitch.create_clip_from_vod(
            tokens,
            editor_id=editor_id,
            broadcaster_id=job.broadcaster_id,
            vod_id=(plan.vod_id if plan else job.vod_id) or "",
            vod_offset=(plan.vod_offset if plan else job.vod_offset) or 0.0,
            title=job.requested_title or vod_title(job),
            duration=duration,
        )

    def _plan(
        self, job: ClipJob, config: ControlPlaneConfig, tokens: StoredTokenSource
    ) -> MomentPlan | None:
        """Where the moment is clipped, decided now rather than at approval (time has passed).

        None keeps the job as approved: no moment time (older documents) or a VOD clip the
        operator placed. Get Videos is asked only when a live clip cannot hold the moment.
        """
        if job.source_ts is None or job.mode != "live":
            return None
        stream = self._twitch.get_streams(tokens, job.broadcaster_id)

        def plan(state: StreamState) -> MomentPlan:
            return plan_moment(
                job.source_ts or self._clock(),
                now=self._clock(),
                requested_duration=job.requested_duration,
                stream=state,
                pre_roll=config.clip_pre_roll_seconds,
                post_roll=config.clip_post_roll_seconds,
            )

        first = plan(StreamState.from_helix(stream))
        if first.mode is PlanMode.LIVE:
            return first
        videos = self._twitch.get_archive_videos(tokens, job.broadcaster_id)
        return plan(StreamState.from_helix(stream, videos))

    def _not_created(self, job: ClipJob, plan: MomentPlan, recorded: dict[str, Any]) -> Outcome:
        """No clip can hold the moment yet (wait for the archive) or at all (fail, no create)."""
        now = self._clock()
        if plan.mode is PlanMode.WAIT and plan.not_before is not None:
            self._jobs.transition(
                job.job_id,
                expect=JobStatus.CREATING,
                to=JobStatus.QUEUED,
                fields={
                    **recorded,
                    "next_attempt_at": plan.not_before,
                    "error_detail": plan.reason,
                },
                worker=self._worker,
                now=now,
            )
            return Outcome(job.job_id, "waiting", plan.reason)
        code = (
            ErrorCode.BAD_REQUEST if plan.age_seconds < -FUTURE_TOLERANCE else ErrorCode.NOT_FOUND
        )
        detail = f"Not created. {plan.reason}"
        self._fail(job, JobStatus.CREATING, code, detail, now, fields=recorded)
        return Outcome(job.job_id, "failed", detail)

    def _wait_until(
        self, job: ClipJob, not_before: datetime, recorded: dict[str, Any]
    ) -> Outcome | None:
        """Let the post-roll air before a live create; a wait the lease cannot hold hands the
        job back (no Twitch call is made) for the sweeper to re-arm."""
        now = self._clock()
        wait = (not_before - now).total_seconds()
        lease_left = (job.lease_until - now).total_seconds() if job.lease_until else self._lease
        if wait <= 0:
            return None
        if wait <= min(MAX_PLAN_WAIT_SECONDS, lease_left / 2):
            self._sleep(wait)
            return None
        detail = f"Waiting until {not_before:%H:%M:%S} UTC for the moment's post-roll to air."
        self._jobs.transition(
            job.job_id,
            expect=JobStatus.CREATING,
            to=JobStatus.QUEUED,
            fields={**recorded, "next_attempt_at": not_before, "error_detail": detail},
            worker=self._worker,
            now=now,
        )
        return Outcome(job.job_id, "waiting", detail)

    def _create_failed(
        self,
        job: ClipJob,
        config: ControlPlaneConfig,
        error: ClipError,
        attempts: int,
        plan: MomentPlan | None = None,
        recorded: dict[str, Any] | None = None,
        lead: str = "",
    ) -> Outcome:
        """Retry by policy (the retry plans again), else fail; a failed VOD clip never turns
        into a live clip, which could not hold the moment."""
        now = self._clock()
        recorded = recorded or {}
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
            self._jobs.transition(
                job.job_id,
                expect=JobStatus.CREATING,
                to=JobStatus.QUEUED,
                fields={
                    **recorded,
                    "attempts": attempts,
                    "next_attempt_at": error.retry_at,
                    "error_code": error.error_code,
                    "error_detail": detail,
                },
                worker=self._worker,
                now=now,
            )
            return Outcome(job.job_id, "retry scheduled", detail)
        detail = f"{lead}{error.operator_message}{said}"
        if plan is not None and plan.mode is PlanMode.VOD:
            detail += (
                f" No live clip was made instead: it could not hold a moment {plan.label[4:]} "
                f"in VOD {plan.vod_id}; clip it there by hand if Twitch keeps refusing."
            )
        self._fail(job, JobStatus.CREATING, error.error_code, detail, now, attempts, recorded)
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
        self._jobs.transition(
            job.job_id,
            expect=JobStatus.POLLING,
            to=JobStatus.READY,
            fields=ready_fields(clip, now),
            worker=self._worker,
            now=now,
        )
        return Outcome(job.job_id, "ready", clip.url)

    @staticmethod
    def _auth_refusal(health: ClipsAuthHealth | None, user_id: str, mode: str | None) -> str:
        """Refuse fast when the last validation says this token cannot clip (in `mode`; None:
        whether it is valid at all, before any Helix call)."""
        if health is None or (health.user_id and health.user_id != user_id):
            return ""
        checked = f"the token check at {health.last_validated_at:%Y-%m-%d %H:%M} UTC"
        if not health.clips_token_valid:
            return f"Not created: {checked} found the Twitch token invalid. Reconnect Twitch."
        if mode is None:
            return ""
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
        fields: dict[str, Any] | None = None,
    ) -> None:
        worker = self._worker if expect is not JobStatus.QUEUED else None
        try:
            if fields:
                changes = {**fields, "error_code": code, "error_detail": detail}
                if attempts is not None:
                    changes["attempts"] = attempts
                self._jobs.transition(
                    job.job_id,
                    expect=expect,
                    to=JobStatus.FAILED,
                    fields=changes,
                    worker=worker,
                    now=now,
                )
                return
            self._jobs.fail(
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


def plan_fields(plan: MomentPlan, now: datetime) -> dict[str, Any]:
    """The plan as the job records it, so the Jobs page shows what was made and why."""
    fields: dict[str, Any] = {
        "plan_mode": plan.mode.value,
        "plan_label": plan.label,
        "plan_reason": plan.reason,
        "planned_duration": plan.duration,
        "planned_at": now,
    }
    if plan.mode is PlanMode.VOD:
        fields |= {"vod_id": plan.vod_id, "vod_offset": plan.vod_offset}
    return fields


def vod_title(job: ClipJob) -> str:
    """Twitch requires a title on VOD clips; a live candidate may have come without one."""
    moment = job.source_ts or job.created_at
    return f"Moment at {moment:%H:%M} UTC"
