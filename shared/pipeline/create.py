"""The clip worker: a `queued` job becomes a confirmed Twitch clip, or a clear failure.

Thin orchestration around the pure core (state machine, retry policy, moment plan) and
the stores. One process at a time owns a job through its lease; a repeated trigger finds the
job claimed and does nothing, so a moment is never clipped twice by a redelivery.

Deadlines (docs/architecture.md §5.1): every Twitch call made under a claim, with its
waits and retries, ends by the claim's bound (its time plus the lease) minus a margin, or the
job is handed back (`next_attempt_at`) before Create Clip is sent. The lease written is the
short create window, renewed by a heartbeat (`CreateWindow`), so a dead holder is noticed in
seconds. The create goes out once its claim is marked
(`creates/{N}`); its 202 is saved by a write that cannot lose the clip id, lease or not; a
create that got no answer is never sent again: the sweeper looks for its clip instead.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.domain.clip_job import LATE_CHECK, ClipJob, JobStatus
from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import (
    ClipError,
    ErrorCode,
    InvalidInput,
    LeaseLost,
    StoredTokenUnusable,
    TransitionRefused,
    operator_message,
)
from shared.domain.job_triggers import became_runnable
from shared.domain.language import ENGLISH, N_, Translate
from shared.domain.moment_plan import (
    CREATE_MARGIN,
    FUTURE_TOLERANCE,
    MomentPlan,
    PlanMode,
    StreamState,
    plan_moment,
)
from shared.domain.retry_policy import RetryLimits, backoff
from shared.domain.twitch_models import Clip, CreatedClip, Stream
from shared.domain.twitch_scopes import scopes_for
from shared.events.firestore_document import DocumentWritten
from shared.i18n import translator
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS, ClipConfirmer
from shared.store.clip_jobs import Claim, ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import StoredTokenSource, TokenSources
from shared.twitch.helix_clips import (
    MIN_TRY_SECONDS,
    CreateUnanswered,
    DeadlineReached,
    HelixClips,
)

logger = logging.getLogger(__name__)

SWITCHED_OFF_RECHECK = timedelta(seconds=60)
# A live clip may wait for its post-roll to air; a longer wait than this hands the job back.
MAX_PLAN_WAIT_SECONDS = 15.0
# The lease's last seconds are never used for Twitch calls (clock skew, the saving write).
LEASE_MARGIN_SECONDS = 5.0
# Between sending a live create and Twitch receiving it; the plan's margin covers the rest.
SEND_LATENCY_SECONDS = 0.5
# Tries of one claim's create loop (re-plans and inline retries included), a safety bound.
MAX_SEND_ROUNDS = 8
# The create window's written lease, renewed by a heartbeat every third of it (§5.1): a holder
# that dies between its claim and its saved 202 is taken over seconds later, not at the bound.
CREATE_WINDOW_SECONDS = 10.0
# A live stream's Get Streams answer is reused this long by the process's jobs, and this long
# when asking again fails (docs/architecture.md §6.4): its id and start do not change while it
# is live, and Create Clip itself answers 404 once it has ended.
STREAM_FRESH_SECONDS = 5.0
STREAM_STALE_SECONDS = 30.0
# With such an answer to fall back on, asking again gets this long before the fallback is used.
STREAM_REFRESH_SECONDS = 1.5
CRASH_ENV = "BYTECLIPS_BENCH_CRASH_POINTS"


@dataclass(frozen=True)
class Outcome:
    """What one run did, for the log line and for tests. `stages`: when (Unix seconds) the run
    reached each step (`started`, `read`, `planned`, `claimed`, `marked`, `answered`, `saved`,
    then `visible` or `verdict`, `settled`), so a log line shows where a slow job's time went."""

    job_id: str
    result: str
    detail: str = ""
    stages: dict[str, float] = field(default_factory=dict)


# The current run's stage times (one run per thread; see `Outcome.stages`).
_STAGES: ContextVar[dict[str, float] | None] = ContextVar("clip_worker_stages", default=None)


def stage(name: str) -> None:
    """Note that the current run reached `name` now (nothing outside a run)."""
    stages = _STAGES.get()
    if stages is not None:
        stages.setdefault(name, time.time())


class _Fenced(Exception):
    """A sweeper fenced this claim's create off before it was marked sent: nothing goes out."""


@dataclass
class _Planned:
    """The plan in force and what re-planning it needs (no further Twitch call)."""

    plan: MomentPlan | None
    state: StreamState | None
    at: datetime


def no_checkpoint(point: str) -> None:
    """The worker's named points (`before_create`, `after_create`, `after_save`) do nothing
    unless the fault benchmark asks them to crash the process."""


def crash_checkpoint(spec: str) -> Callable[[str], None]:
    """For `bench/clip_faults.py` only (`BYTECLIPS_BENCH_CRASH_POINTS`, e.g.
    `after_create=0.05,before_create=0.02`): at each named point, end the process at once
    with that probability, as a crash or a killed instance would. Empty: no crash ever."""
    odds: dict[str, float] = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() and value.strip():
            odds[name.strip()] = float(value)
    if not odds:
        return no_checkpoint

    def checkpoint(point: str) -> None:
        if random.random() < odds.get(point, 0.0):
            logger.error("bench crash point %s: the process ends now", point)
            os._exit(75)

    return checkpoint


class LiveStreams:
    """Get Streams per broadcaster, shared by the jobs of one process for a few seconds.

    Only a live answer is kept (an offline channel may go live any second; asking again is
    cheap). Within `fresh` seconds no call is made; after that the jobs ask again, and a call
    that fails while a live answer under `stale` seconds old is known uses that answer instead
    of waiting out a retry, so one fault does not stall every job being planned.
    """

    def __init__(
        self,
        twitch: HelixClips,
        *,
        fresh: float = STREAM_FRESH_SECONDS,
        stale: float = STREAM_STALE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._twitch = twitch
        self._fresh = fresh
        self._stale = stale
        self._clock = clock
        self._seen: dict[str, tuple[float, Stream]] = {}
        self._lock = threading.Lock()

    def get(self, tokens: StoredTokenSource, broadcaster_id: str, deadline: float) -> Stream | None:
        now = self._clock()
        with self._lock:
            seen = self._seen.get(broadcaster_id)
        age = now - seen[0] if seen is not None else math.inf
        if seen is not None and age < self._fresh:
            return seen[1]
        fallback = seen[1] if seen is not None and age < self._stale else None
        if fallback is not None:
            deadline = min(deadline, self._twitch.now() + STREAM_REFRESH_SECONDS)
        try:
            stream = self._twitch.get_streams(
                tokens, broadcaster_id, deadline=deadline, retry=fallback is None
            )
        except ClipError as error:
            if fallback is None or isinstance(error, StoredTokenUnusable):
                raise
            logger.info(
                "get streams failed; using the live answer from %.1f s ago",
                age,
                extra={"broadcaster_id": broadcaster_id, "e": error.code},
            )
            return fallback
        with self._lock:
            if stream is not None:
                self._seen[broadcaster_id] = (self._clock(), stream)
            else:
                self._seen.pop(broadcaster_id, None)
        return stream


class CreateWindow:
    """The lease of a claim that may send Create Clip (docs/architecture.md §5.1).

    The written lease is short (`window` seconds) and renewed every `window / 3` seconds by a
    heartbeat thread while the claim is between its claim and its saved 202, never past `bound`
    (the claim's time plus the worker's lease, which bounds every Twitch call of the claim). A
    chosen wait (a 429's reset, a backoff, the post-roll) is covered up front by `cover`, so a
    wait never outlives the written lease. A holder that dies stops renewing: the sweeper takes
    the job over once `window` has passed instead of the whole lease. Renewing never decides
    anything: the `creates/{N}` mark still decides whether a create may go out, and the save
    of a 202 needs no lease.
    """

    def __init__(
        self,
        jobs: ClipJobStore,
        claim: Claim,
        *,
        window: float,
        bound: datetime,
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self._claim = claim
        self._window = timedelta(seconds=window)
        self._beat = window / 3
        self.bound = bound
        self._clock = clock
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.lost = False
        self._thread = threading.Thread(
            target=self._beats, name=f"lease-{claim.job.job_id}", daemon=True
        )

    def start(self) -> CreateWindow:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No renewal after this returns (one in flight is waited for)."""
        self._stopped.set()
        with self._lock:
            pass

    def cover(self, seconds: float) -> bool:
        """Renew now so the lease outlasts a wait of `seconds` and one window after it (never
        past the bound); False when the claim is no longer ours."""
        return self._renew(timedelta(seconds=max(seconds, 0.0)) + self._window)

    def _beats(self) -> None:
        while not self._stopped.wait(self._beat):
            if not self._renew(self._window):
                return

    def _renew(self, ahead: timedelta) -> bool:
        with self._lock:
            if self._stopped.is_set() and threading.current_thread() is self._thread:
                return False
            if self.lost:
                return False
            now = self._clock()
            until = min(now + ahead, self.bound)
            job = self._claim.job
            if until <= now or (job.lease_until is not None and until <= job.lease_until):
                return True
            try:
                renewed = self._jobs.renew_lease(
                    job.job_id, worker=self._claim.worker, seq=self._claim.seq, until=until, now=now
                )
            except Exception:
                # A passing Firestore failure: the next beat tries again.
                logger.warning("create window: lease renewal failed", extra={"job_id": job.job_id})
                return True
            if not renewed:
                self.lost = True
                return False
            self._claim = Claim(
                job=job.model_copy(update={"lease_until": until}),
                seq=self._claim.seq,
                worker=self._claim.worker,
            )
            return True


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
        create_window_seconds: float = CREATE_WINDOW_SECONDS,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        checkpoint: Callable[[str], None] = no_checkpoint,
        streams: LiveStreams | None = None,
    ) -> None:
        self._jobs = jobs
        self._config = config
        self._health = clips_auth
        self._twitch = twitch
        self._tokens = tokens
        self._confirmer = confirmer
        self._streams = streams or LiveStreams(twitch)
        self._worker = worker_id
        self._lease = lease_seconds
        self._window = min(create_window_seconds, lease_seconds)
        self._margin = min(LEASE_MARGIN_SECONDS, lease_seconds / 4)
        self._clock = clock
        self._sleep = sleep
        self._checkpoint = checkpoint

    def _words(self) -> Translate:
        """The operators' language in force, for the job's sentences (the control plane's
        `language`, through the store's short cache; English when it cannot be read)."""
        try:
            return translator(self._config.read().language)
        except Exception:
            return ENGLISH

    def on_job_written(self, event: DocumentWritten) -> Outcome:
        """Entry from the Firestore trigger; most writes (our own included) are ignored here."""
        if not became_runnable(event.before, event.after):
            return Outcome(event.document_id, "ignored")
        return self.run(event.document_id)

    def run(self, job_id: str) -> Outcome:
        stages = {"started": time.time()}
        reset = _STAGES.set(stages)
        try:
            outcome = self._run(job_id)
        finally:
            _STAGES.reset(reset)
        return replace(outcome, stages=stages)

    def _run(self, job_id: str) -> Outcome:
        now = self._clock()
        config = self._config.read(fresh=True)
        job = self._jobs.get(job_id)
        stage("read")
        if job is not None and job.status is JobStatus.POLLING and job.twitch_clip_id:
            return self._resume(job, config)
        if job is None or job.status is not JobStatus.QUEUED or job.lease_active(now):
            return Outcome(job_id, "not queued")
        if not (config.clip_pipeline_enabled and config.clip_api_enabled):
            return self._wait_for_switch(job, config, now)
        return self._create(job, config)

    def _wait_for_switch(self, job: ClipJob, config: ControlPlaneConfig, now: datetime) -> Outcome:
        """Switched off: no Helix call; the job says why and the sweeper re-checks it.

        Waiting does not lose a live moment: the plan made once the switch is back clips it
        from the VOD when a live clip can no longer reach it.
        """
        switch = "clip_pipeline_enabled" if not config.clip_pipeline_enabled else "clip_api_enabled"
        t = translator(config.language)
        detail = t(
            "Waiting: {switch} is off in the control plane, so no clip is made. "
            "Turn it on to continue; the job is re-checked every minute.",
            switch=switch,
        )
        self._jobs.update_fields(
            job.job_id,
            {"next_attempt_at": now + SWITCHED_OFF_RECHECK, "error_detail": detail},
            expect={JobStatus.QUEUED},
            now=now,
        )
        return Outcome(job.job_id, "waiting", detail)

    # ------------------------------------------------------------------- the create

    def _create(self, job: ClipJob, config: ControlPlaneConfig) -> Outcome:
        """Plan, claim, create, save, confirm. Planning reads the stream before the claim (no
        write is needed to read), so the claim also records the plan in the same write."""
        editor_id = config.clip_editor_user_id or job.broadcaster_id
        health = self._health.read_if_readable()
        refusal = self._auth_refusal(health, editor_id, None, self._words())
        if refusal:
            return self._claim_and_fail(job, ErrorCode.UNAUTHORIZED, refusal)
        tokens = self._tokens.for_user(editor_id)
        try:
            planned = self._plan(job, config, tokens, self._deadline_from(self._clock()))
        except DeadlineReached as error:
            what = N_("asking Twitch about the stream")
            return self._claim_and_hand_back(job, error.retry_at or self._clock(), what)
        except ClipError as error:
            claim = self._claim(job)
            if claim is None:
                return Outcome(job.job_id, "claimed elsewhere")
            # A stored token that cannot serve says so itself, naming the document and the fix.
            t = self._words()
            lead = (
                ""
                if isinstance(error, StoredTokenUnusable)
                else t("No clip was made: asking Twitch about the stream failed.") + " "
            )
            return self._create_failed(claim.job, config, error, job.attempts, lead=lead)
        stage("planned")
        plan = planned.plan
        recorded = plan_fields(plan, planned.at) if plan is not None else {}
        if plan is not None and not plan.creates:
            claim = self._claim(job, recorded)
            return self._not_created(claim.job, plan) if claim else self._elsewhere(job)
        mode = plan.mode.value if plan is not None else job.mode
        refusal = self._auth_refusal(health, editor_id, mode, self._words())
        if refusal:
            return self._claim_and_fail(job, ErrorCode.UNAUTHORIZED, refusal, recorded)
        claim = self._claim(job, recorded, may_create=True)
        if claim is None:
            return self._elsewhere(job)
        stage("claimed")
        bound = claim.job.updated_at + timedelta(seconds=self._lease)
        window = CreateWindow(
            self._jobs, claim, window=self._window, bound=bound, clock=self._clock
        ).start()
        try:
            if plan is not None and plan.not_before is not None:
                handed_back = self._wait_until(claim.job, plan.not_before, window)
                if handed_back is not None:
                    return handed_back
            return self._send(claim, planned, config, tokens, editor_id, window)
        finally:
            window.stop()

    def _send(
        self,
        claim: Claim,
        planned: _Planned,
        config: ControlPlaneConfig,
        tokens: StoredTokenSource,
        editor_id: str,
        window: CreateWindow,
    ) -> Outcome:
        """The create loop of one claim: mark the claim, send, retry inline while the retry
        and the plan still fit, then save the 202 or hand the job on."""
        job = claim.job
        deadline = self._ts(window.bound) - self._margin
        attempts = job.attempts
        sent: list[datetime] = []

        def mark_sent() -> None:
            """Right before a try goes out, after the client's waits: claim N's create is
            marked sent once (a mark made before a long bucket wait would, if the worker died
            in it, send the sweeper looking for a clip that was never asked for)."""
            if sent:
                return
            self._checkpoint("before_create")
            at = self._clock()
            if not self._jobs.mark_create_sent(
                job.job_id, seq=claim.seq, worker=self._worker, now=at
            ):
                raise _Fenced
            sent.append(at)
            stage("marked")

        for _ in range(MAX_SEND_ROUNDS):
            if self._now_ts() + MIN_TRY_SECONDS > deadline:
                return self._hand_back(job, self._clock(), N_("the create call"), attempts)
            try:
                created = self._send_create(job, planned, tokens, editor_id, deadline, mark_sent)
            except _Fenced:
                return Outcome(job.job_id, "lease lost", "a sweeper took the job over")
            except InvalidInput as error:
                self._fail(job, ErrorCode.BAD_REQUEST, str(error), attempts + 1)
                return Outcome(job.job_id, "failed", str(error))
            except DeadlineReached as error:
                # Nothing went out with this try.
                if not self._pause_until(error.retry_at, deadline, window):
                    at = error.retry_at or self._clock()
                    return self._hand_back(job, at, N_("the create call"), attempts)
                planned = self._replan(job, config, planned)
                continue
            except CreateUnanswered:
                return self._answer_lost(job, sent[0], attempts + 1)
            except ClipError as error:
                attempts += 1
                retry_at = self._retry_time(error, attempts)
                if retry_at is not None and attempts < self._limit(error, config):
                    error.retry_at = retry_at
                    if self._pause_until(retry_at, deadline, window):
                        planned = self._replan(job, config, planned)
                        continue
                return self._create_failed(job, config, error, attempts, planned.plan)
            attempts += 1
            stage("answered")
            self._checkpoint("after_create")
            window.stop()
            return self._created(claim, created, sent[0], attempts, tokens)
        return self._hand_back(job, self._clock(), N_("the create call"), attempts)

    def _send_create(
        self,
        job: ClipJob,
        planned: _Planned,
        tokens: StoredTokenSource,
        editor_id: str,
        deadline: float,
        before_send: Callable[[], None],
    ) -> CreatedClip:
        """One try of the one create call: the plan's clip, or the job as approved when it has
        no plan. Retries are the loop's, so each try is counted and re-planned."""
        plan = planned.plan
        duration = (plan.duration if plan else None) or job.requested_duration
        if (plan.mode.value if plan else job.mode) == "live":
            return self._twitch.create_clip(
                tokens,
                broadcaster_id=job.broadcaster_id,
                title=job.requested_title,
                duration=duration,
                retry=False,
                deadline=deadline,
                send_by=self._send_by(planned),
                before_send=before_send,
            )
        return self._twitch.create_clip_from_vod(
            tokens,
            editor_id=editor_id,
            broadcaster_id=job.broadcaster_id,
            vod_id=(plan.vod_id if plan else job.vod_id) or "",
            vod_offset=(plan.vod_offset if plan else job.vod_offset) or 0.0,
            title=job.requested_title or vod_title(job),
            duration=duration,
            retry=False,
            deadline=deadline,
            before_send=before_send,
        )

    def _created(
        self,
        claim: Claim,
        created: CreatedClip,
        sent_at: datetime,
        attempts: int,
        tokens: StoredTokenSource,
    ) -> Outcome:
        """Save the 202 with the write that cannot lose it, then confirm (when still ours)."""
        job = claim.job
        created_at = self._clock()
        # From here on the lease only says a confirmer is at work (§5.1): it ends with the
        # confirmation, not with the claim, so the sweeper takes over an orphan soon after.
        lease_until = created_at + timedelta(seconds=CONFIRM_DEADLINE_SECONDS + self._margin)
        owned = self._jobs.record_created(
            job.job_id,
            seq=claim.seq,
            clip_id=created.id,
            edit_url=created.edit_url,
            worker=self._worker,
            now=created_at,
            fields={
                "status": JobStatus.POLLING,
                "attempts": attempts,
                "create_sent_at": sent_at,
                "lease_until": lease_until,
                "error_code": None,
                "error_detail": None,
            },
        )
        stage("saved")
        self._checkpoint("after_save")
        if not owned:
            logger.warning(
                "clip id kept after the lease was lost; the sweeper confirms it",
                extra={"job_id": job.job_id, "clip_id": created.id},
            )
            return Outcome(job.job_id, "clip kept", "the sweeper confirms it")
        polling = job.model_copy(
            update={
                "status": JobStatus.POLLING,
                "twitch_clip_id": created.id,
                "edit_url": created.edit_url,
                "lease_until": lease_until,
                "attempts": attempts,
            }
        )
        return self._confirm(polling, tokens, created_at)

    def _answer_lost(self, job: ClipJob, sent_at: datetime, attempts: int) -> Outcome:
        """No answer to the create: the clip may exist, so it is looked for, never re-sent."""
        now = self._clock()
        until = sent_at + timedelta(seconds=CONFIRM_DEADLINE_SECONDS) + LATE_CHECK
        t = self._words()
        detail = t(
            "Twitch did not answer the create call sent at {sent} UTC, so the clip may exist: it "
            "is looked for on the channel until {until} UTC and never created twice.",
            sent=f"{sent_at:%H:%M:%S}",
            until=f"{until:%H:%M}",
        )
        try:
            self._jobs.update_fields(
                job.job_id,
                {
                    "attempts": attempts,
                    "create_sent_at": sent_at,
                    "late_check_until": until,
                    "error_code": ErrorCode.UNKNOWN,
                    "error_detail": detail,
                },
                expect={JobStatus.CREATING},
                worker=self._worker,
                now=now,
            )
            self._jobs.release(job.job_id, worker=self._worker, now=now)
        except (LeaseLost, TransitionRefused):
            logger.warning("create unanswered after the lease", extra={"job_id": job.job_id})
        return Outcome(job.job_id, "looking for the clip", detail)

    # ------------------------------------------------------------------- plan and time

    def _plan(
        self,
        job: ClipJob,
        config: ControlPlaneConfig,
        tokens: StoredTokenSource,
        deadline: float,
    ) -> _Planned:
        """Where the moment is clipped, decided now rather than at approval (time has passed).

        No plan keeps the job as approved: no moment time (older documents) or a VOD clip the
        operator placed. Get Videos is asked only when a live clip cannot hold the moment.
        """
        if job.source_ts is None or job.mode != "live":
            return _Planned(None, None, self._clock())
        stream = self._streams.get(tokens, job.broadcaster_id, deadline)
        first = StreamState.from_helix(stream)
        planned = self._replan(job, config, _Planned(None, first, self._clock()))
        if planned.plan is not None and planned.plan.mode is PlanMode.LIVE:
            return planned
        videos = self._twitch.get_archive_videos(tokens, job.broadcaster_id, deadline=deadline)
        state = StreamState.from_helix(stream, videos)
        return self._replan(job, config, _Planned(None, state, self._clock()))

    def _replan(self, job: ClipJob, config: ControlPlaneConfig, planned: _Planned) -> _Planned:
        """The plan as of now, from the stream state already read (pure: time has moved on, so
        a live clip may need to reach further back)."""
        if planned.state is None or job.source_ts is None:
            return _Planned(planned.plan, planned.state, self._clock())
        now = self._clock()
        plan = plan_moment(
            job.source_ts,
            now=now,
            requested_duration=job.requested_duration,
            stream=planned.state,
            pre_roll=config.clip_pre_roll_seconds,
            post_roll=config.clip_post_roll_seconds,
        )
        return _Planned(plan, planned.state, now)

    def _send_by(self, planned: _Planned) -> float | None:
        """A live clip's create must reach Twitch within the plan's margin of when it was
        planned for, or it would cut the pre-roll; later, the loop plans again."""
        plan = planned.plan
        if plan is None or plan.mode is not PlanMode.LIVE:
            return None
        at = max(planned.at, plan.not_before or planned.at)
        return self._ts(at) + CREATE_MARGIN - SEND_LATENCY_SECONDS

    def _deadline_from(self, now: datetime) -> float:
        return self._ts(now) + self._lease - self._margin

    def _ts(self, at: datetime) -> float:
        """`at` on the Helix client's clock (they agree in production; tests move both)."""
        return self._twitch.now() + (at - self._clock()).total_seconds()

    def _now_ts(self) -> float:
        return self._twitch.now()

    def _pause_until(self, at: datetime | None, deadline: float, window: CreateWindow) -> bool:
        """Sleep until `at` when it is soon and a try still fits after it (the lease renewed
        to cover the wait first); False otherwise."""
        if at is None:
            return False
        wait = (at - self._clock()).total_seconds()
        if wait > self._twitch.max_inline_wait or self._ts(at) + MIN_TRY_SECONDS > deadline:
            return False
        if wait > 0:
            if not window.cover(wait):
                return False
            self._sleep(wait)
        return True

    @staticmethod
    def _limit(error: ClipError, config: ControlPlaneConfig) -> int:
        if error.error_code is ErrorCode.RATE_LIMITED:
            return config.max_rate_limit_retries
        return RetryLimits().max_server_error_tries

    def _retry_time(self, error: ClipError, attempts: int) -> datetime | None:
        """When the policy would try again: the 429's reset, or backoff after `attempts`."""
        if error.retry_at is None:
            return None
        if error.error_code is ErrorCode.RATE_LIMITED:
            return error.retry_at
        return max(error.retry_at, self._clock() + backoff(attempts))

    # ---------------------------------------------------------------- claim and writes

    def _claim(
        self, job: ClipJob, fields: dict[str, Any] | None = None, *, may_create: bool = False
    ) -> Claim | None:
        return self._jobs.claim(
            job.job_id,
            worker=self._worker,
            lease_seconds=self._window,
            expect={JobStatus.QUEUED},
            to=JobStatus.CREATING,
            now=self._clock(),
            current=job,
            fields=fields,
            may_create=may_create,
        )

    @staticmethod
    def _elsewhere(job: ClipJob) -> Outcome:
        return Outcome(job.job_id, "claimed elsewhere")

    def _claim_and_fail(
        self, job: ClipJob, code: ErrorCode, detail: str, fields: dict[str, Any] | None = None
    ) -> Outcome:
        claim = self._claim(job, fields)
        if claim is None:
            return self._elsewhere(job)
        self._fail(claim.job, code, detail)
        return Outcome(job.job_id, "failed", detail)

    def _claim_and_hand_back(self, job: ClipJob, at: datetime, what: str) -> Outcome:
        claim = self._claim(job)
        if claim is None:
            return self._elsewhere(job)
        return self._hand_back(claim.job, at, what, job.attempts)

    def _hand_back(self, job: ClipJob, at: datetime, what: str, attempts: int) -> Outcome:
        """Nothing was sent that could have made a clip: back to `queued` for the sweeper."""
        now = self._clock()
        at = max(at, now)
        t = self._words()
        detail = t(
            "Handed back: {what} could not finish within this worker's lease; "
            "next try at {time} UTC.",
            what=t(what),
            time=f"{at:%H:%M:%S}",
        )
        self._back_to_queue(job, {"attempts": attempts, "next_attempt_at": at}, detail, now)
        return Outcome(job.job_id, "handed back", detail)

    def _back_to_queue(
        self, job: ClipJob, fields: dict[str, Any], detail: str, now: datetime
    ) -> None:
        try:
            self._jobs.transition(
                job.job_id,
                expect=JobStatus.CREATING,
                to=JobStatus.QUEUED,
                fields={**fields, "error_detail": detail},
                worker=self._worker,
                now=now,
            )
        except (LeaseLost, TransitionRefused):
            logger.warning("job moved on before it was handed back", extra={"job_id": job.job_id})

    def _not_created(self, job: ClipJob, plan: MomentPlan) -> Outcome:
        """No clip can hold the moment yet (wait for the archive) or at all (fail, no create)."""
        now = self._clock()
        if plan.mode is PlanMode.WAIT and plan.not_before is not None:
            waiting = plan.reason_in(self._words())
            self._back_to_queue(job, {"next_attempt_at": plan.not_before}, waiting, now)
            return Outcome(job.job_id, "waiting", waiting)
        code = (
            ErrorCode.BAD_REQUEST if plan.age_seconds < -FUTURE_TOLERANCE else ErrorCode.NOT_FOUND
        )
        t = self._words()
        detail = t("Not created. {reason}", reason=plan.reason_in(t))
        self._fail(job, code, detail)
        return Outcome(job.job_id, "failed", detail)

    def _wait_until(
        self, job: ClipJob, not_before: datetime, window: CreateWindow
    ) -> Outcome | None:
        """Let the post-roll air before a live create; a wait the lease cannot hold hands the
        job back (no Twitch call is made) for the sweeper to re-arm."""
        now = self._clock()
        wait = (not_before - now).total_seconds()
        lease_left = (window.bound - now).total_seconds()
        if wait <= 0:
            return None
        if wait <= min(MAX_PLAN_WAIT_SECONDS, lease_left / 2) and window.cover(wait):
            self._sleep(wait)
            return None
        t = self._words()
        detail = t(
            "Waiting until {time} UTC for the moment's post-roll to air.",
            time=f"{not_before:%H:%M:%S}",
        )
        self._back_to_queue(job, {"next_attempt_at": not_before}, detail, now)
        return Outcome(job.job_id, "waiting", detail)

    def _create_failed(
        self,
        job: ClipJob,
        config: ControlPlaneConfig,
        error: ClipError,
        attempts: int,
        plan: MomentPlan | None = None,
        lead: str = "",
    ) -> Outcome:
        """Retry by policy (the retry plans again), else fail; a failed VOD clip never turns
        into a live clip, which could not hold the moment."""
        now = self._clock()
        t = translator(config.language)
        said = (
            " " + t("(Twitch said: {message})", message=error.twitch_message)
            if error.twitch_message
            else ""
        )
        limit = self._limit(error, config)
        if error.retry_at is not None and attempts < limit:
            detail = t(
                "Retrying at {time} UTC after {code}{said}; try {attempt} of {limit}.",
                time=f"{error.retry_at:%H:%M:%S}",
                code=error.code,
                said=said,
                attempt=attempts,
                limit=limit,
            )
            self._back_to_queue(
                job,
                {
                    "attempts": attempts,
                    "next_attempt_at": error.retry_at,
                    "error_code": error.error_code,
                },
                detail,
                now,
            )
            return Outcome(job.job_id, "retry scheduled", detail)
        detail = f"{lead}{error.operator_phrase.say(t)}{said}"
        if plan is not None and plan.mode is PlanMode.VOD:
            detail += " " + t(
                "No live clip was made instead: it could not hold a moment {position} in VOD "
                "{vod}; clip it there by hand if Twitch keeps refusing.",
                position=plan.vod_position,
                vod=plan.vod_id,
            )
        self._fail(job, error.error_code, detail, attempts)
        return Outcome(job.job_id, "failed", detail)

    # ----------------------------------------------------------------- confirmation

    def _resume(self, job: ClipJob, config: ControlPlaneConfig) -> Outcome:
        """A redelivered event for a job whose clip id is saved: confirm it here and now.

        Confirming needs no lease (docs/architecture.md §5.1): Get Clips is a read and every
        write is conditional on `polling`, so a worker that died while waiting for the clip to
        show costs no lease's wait. In a process already confirming the clip, this joins it.
        """
        if not config.clip_api_enabled:
            return Outcome(job.job_id, "not queued", "clip_api_enabled is off")
        editor_id = config.clip_editor_user_id or job.broadcaster_id
        created_at = job.clip_created_at or job.updated_at
        return self._confirm(job, self._tokens.for_user(editor_id), created_at)

    def _confirm(self, job: ClipJob, tokens: StoredTokenSource, created_at: datetime) -> Outcome:
        """Wait until Get Clips shows the clip, for at most 15 s after the 202
        (docs/architecture.md §6.4); not seen by then fails `clip_create_timeout`, and the
        sweeper keeps checking (late confirmation). Whoever confirms, the writes are
        conditional on `polling` alone, not on a lease (§5.1)."""
        elapsed = (self._clock() - created_at).total_seconds()
        clip = self._confirmer.wait_visible(
            tokens,
            job.twitch_clip_id or "",
            group=tokens.user_id,
            timeout=max(CONFIRM_DEADLINE_SECONDS - elapsed, 0.0),
            elapsed=elapsed,
        )
        if clip is not None:
            return self._ready(job, clip)
        now = self._clock()
        detail = timeout_detail(now, self._words())
        fields = {
            "error_code": ErrorCode.CREATE_TIMEOUT,
            "error_detail": detail,
            "late_check_until": now + LATE_CHECK,
        }
        if not self._settle(job, JobStatus.FAILED, fields, now):
            return Outcome(job.job_id, "confirmed elsewhere")
        return Outcome(job.job_id, "failed", detail)

    def _ready(self, job: ClipJob, clip: Clip) -> Outcome:
        now = self._clock()
        if not self._settle(job, JobStatus.READY, ready_fields(clip, now), now):
            return Outcome(job.job_id, "confirmed elsewhere", clip.url)
        return Outcome(job.job_id, "ready", clip.url)

    def _settle(self, job: ClipJob, to: JobStatus, fields: dict[str, Any], now: datetime) -> bool:
        """`polling -> to`, whoever holds the lease (confirming is idempotent); False when
        another confirmer (a redelivery, the sweeper) finished the job first."""
        stage("visible" if to is JobStatus.READY else "verdict")
        try:
            self._jobs.transition(
                job.job_id, expect=JobStatus.POLLING, to=to, fields=fields, now=now
            )
        except TransitionRefused:
            logger.info("job already confirmed elsewhere", extra={"job_id": job.job_id})
            return False
        stage("settled")
        return True

    @staticmethod
    def _auth_refusal(
        health: ClipsAuthHealth | None, user_id: str, mode: str | None, t: Translate = ENGLISH
    ) -> str:
        """Refuse fast when the last validation says this token cannot clip (in `mode`; None:
        whether it is valid at all, before any Helix call)."""
        if health is None or (health.user_id and health.user_id != user_id):
            return ""
        checked = f"{health.last_validated_at:%Y-%m-%d %H:%M}"
        if not health.clips_token_valid:
            return t(
                "Not created: the token check at {checked} UTC found the Twitch token invalid. "
                "Reconnect Twitch.",
                checked=checked,
            )
        if mode is None:
            return ""
        needed = scopes_for(mode)
        if not any(scope in health.scopes for scope in needed):
            scopes = needed[0]
            if len(needed) > 1:
                scopes = t("{some} or {last}", some=", ".join(needed[:-1]), last=needed[-1])
            return t(
                "Not created: the token check at {checked} UTC found the token lacks {scopes}. "
                "Reconnect Twitch and approve that permission.",
                checked=checked,
                scopes=scopes,
            )
        return ""

    def _fail(
        self, job: ClipJob, code: ErrorCode, detail: str, attempts: int | None = None
    ) -> None:
        """`creating -> failed` while this worker still holds the job."""
        try:
            self._jobs.fail(
                job.job_id,
                expect=JobStatus.CREATING,
                code=code,
                detail=detail,
                worker=self._worker,
                now=self._clock(),
                attempts=attempts,
            )
        except (LeaseLost, TransitionRefused):
            logger.warning("job moved on before it could be failed", extra={"job_id": job.job_id})


def timeout_detail(now: datetime, t: Translate = ENGLISH) -> str:
    """`clip_create_timeout`'s sentence, and how long the sweeper keeps looking."""
    until = now + LATE_CHECK
    still = t(
        "Twitch is still asked until {until} UTC: if the clip appears, the job turns ready by "
        "itself.",
        until=f"{until:%H:%M}",
    )
    return f"{operator_message(ErrorCode.CREATE_TIMEOUT, t)} {still}"


def ready_fields(clip: Clip, now: datetime) -> dict[str, Any]:
    """A confirmed clip: its links, and nothing left of a wait or a search."""
    return {
        "clip_url": clip.url,
        "thumbnail_url": clip.thumbnail_url or None,
        "ready_at": now,
        "error_code": None,
        "error_detail": None,
        "late_check_until": None,
    }


def plan_fields(plan: MomentPlan, now: datetime) -> dict[str, Any]:
    """The plan as the job records it, so the Jobs page shows what was made and why."""
    fields: dict[str, Any] = {
        "plan_mode": plan.mode.value,
        "plan_label": plan.label,
        "plan_reason": plan.reason,
        "plan_words": plan.words_document(),
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
