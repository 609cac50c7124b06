"""The per-minute sweeper: nothing waits forever, nothing is clipped twice, no clip is lost.

Idempotent and bounded per run: it expires stale candidates, re-arms jobs whose retry time
came, finishes jobs whose worker died, looks again for clips Twitch showed late, and runs the
links stage (`shared.pipeline.links`). A job whose worker died:

- with a clip id: looked up once, without a claim (confirming needs none): ready, left for a
  later sweep, or `clip_create_timeout`;
- without one, whose claim never sent a create (`creates/{N}` fenced off): queued again;
- without one, whose create went out: its clip is looked for on the channel
  (`shared.pipeline.recover`) until the late-confirmation period ends, then it fails
  `clip_unknown` saying the clip is not on Twitch. Never a blind second create.

Late confirmation (docs/architecture.md §6.4): for 10 minutes after the verdict,
`clip_create_timeout` jobs are looked up in the same batched Get Clips (100 ids a call, one
call per token for both kinds); one that appears becomes `ready` with `late_confirmed_at`.

With `clip_api_enabled` off (the rollback switch) it makes no Helix call at all: a job waiting
for Twitch says it waits, and the links stage holds (the report says so).
A step that fails on something a retry cannot fix (an unreadable document) is reported once
per sweeper, not counted as an error, so the scheduled call does not answer 500 for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.domain.clip_job import LATE_CHECK, ClipJob, JobStatus
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import (
    ByteClipsError,
    ClipError,
    ErrorCode,
    LeaseLost,
    TransitionRefused,
)
from shared.domain.language import ENGLISH, LANGUAGES, N_, Translate
from shared.domain.twitch_models import Clip
from shared.i18n import translator
from shared.pipeline.confirm import CONFIRM_DEADLINE_SECONDS
from shared.pipeline.create import ready_fields, timeout_detail
from shared.pipeline.links import ClipLinks
from shared.pipeline.recover import LostClipFinder, LostCreate
from shared.pipeline.unprocessable import reason, retry_cannot_fix
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TokenSources
from shared.twitch.helix_clips import HelixClips

logger = logging.getLogger(__name__)

STALE_QUEUED = timedelta(minutes=2)
SWEEPER_LEASE_SECONDS = 60.0
# A job's create claimed before `create_seq` existed: nobody knows whether it was sent.
# The job sentences are catalog messages, written in the control plane's language.
LOST_WORKER_DETAIL = N_(
    "The worker stopped while asking Twitch for this clip, so it may or may not exist. "
    "Check the channel's clips on Twitch first; retry only if the clip is missing."
)
REQUEUED_DETAIL = N_(
    "The worker stopped before sending the create call, so no clip was made: the job was "
    "queued again."
)
SWITCHED_OFF_CONFIRM = N_(
    "Waiting: clip_api_enabled is off in the control plane, so Twitch is not asked whether "
    "this clip appeared. Turn it on to continue; the sweeper checks it then."
)


def says_switched_off(detail: str | None) -> bool:
    """Whether a job already says the rollback switch holds it, in any language."""
    return detail is not None and detail in {
        translator(language)(SWITCHED_OFF_CONFIRM) for language in LANGUAGES
    }


def looking_detail(lost: LostCreate, t: Translate = ENGLISH) -> str:
    return t(
        "The answer to the create call sent at {sent} UTC was lost, so the clip is looked for "
        "on the channel until {until} UTC; it is never created twice.",
        sent=f"{lost.sent_at:%H:%M:%S}",
        until=f"{lost.give_up_at:%H:%M}",
    )


def not_on_twitch_detail(lost: LostCreate, t: Translate = ENGLISH) -> str:
    return t(
        "The clip is not on Twitch: the create call sent at {sent} UTC got no answer we could "
        "keep, and no clip by this account with this title appeared on the channel by {until} "
        "UTC. Retry, or approve the moment again as a VOD clip if it is too old for a live one.",
        sent=f"{lost.sent_at:%H:%M:%S}",
        until=f"{lost.give_up_at:%H:%M}",
    )


@dataclass
class SweepReport:
    expired_actions: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)
    late_confirmed: list[str] = field(default_factory=list)
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
        self._finder = LostClipFinder(twitch, held=self._held_by_another)
        self._reported: set[str] = set()

    def _words(self) -> Translate:
        """The operators' language in force, for the jobs' sentences (English when the
        control plane cannot be read)."""
        try:
            return translator(self._config.read().language)
        except Exception:
            return ENGLISH

    def run(self) -> SweepReport:
        report = SweepReport()
        now = self._clock()
        config = self._config.read(fresh=True)
        unconfirmed: list[ClipJob] = []
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
            (
                "leases",
                lambda: report.finished.update(self._finish_lost(config, now, unconfirmed)),
            ),
            ("confirm", lambda: self._confirm_step(config, now, report, unconfirmed)),
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

    # ------------------------------------------------------------- lost workers

    def _finish_lost(
        self, config: ControlPlaneConfig, now: datetime, unconfirmed: list[ClipJob]
    ) -> dict[str, str]:
        """Jobs whose holder is gone. Those with a clip id go to `unconfirmed`, which the
        confirm step looks up in its batched calls (no claim: confirming needs none, §5.1)."""
        finished: dict[str, str] = {}
        lost: list[LostCreate] = []
        for status in (JobStatus.CREATING, JobStatus.POLLING):
            for job in self._jobs.list_by_status(status, limit=self._limit):
                if job.lease_active(now) or self._already_held(job, config):
                    continue
                if job.twitch_clip_id:
                    unconfirmed.append(job)
                    continue
                if status is JobStatus.CREATING:
                    outcome = self._without_id(job, now)
                    if isinstance(outcome, LostCreate):
                        lost.append(outcome)
                    elif outcome:
                        finished[job.job_id] = outcome
        if lost:
            finished.update(self._recover(lost, config, now))
        return finished

    def _claim(self, job: ClipJob, now: datetime) -> ClipJob | None:
        claim = self._jobs.claim(
            job.job_id,
            worker=self._id,
            lease_seconds=SWEEPER_LEASE_SECONDS,
            expect={job.status},
            now=now,
            current=job,
        )
        return claim.job if claim is not None else None

    def _without_id(self, job: ClipJob, now: datetime) -> LostCreate | str:
        """A `creating` job without a clip id: was its create sent? (The fences make the
        answer final: a worker that has not sent by now never will.)"""
        if job.create_sent_at is not None:
            return LostCreate(job, job.create_sent_at)
        if job.create_seq is None:
            claimed = self._claim(job, now)
            if claimed is None:
                return ""
            t = self._words()
            self._fail(claimed, ErrorCode.UNKNOWN, t(LOST_WORKER_DETAIL), now)
            return "failed: clip_unknown"
        mark = None
        if job.create_seq > 0:
            mark = self._jobs.fence_create(job.job_id, seq=job.create_seq, by=self._id, now=now)
        if mark is None or not mark.sent:
            claimed = self._claim(job, now)
            if claimed is None:
                return ""
            self._transition(
                claimed,
                JobStatus.QUEUED,
                {
                    "requeued_at": now,
                    "next_attempt_at": None,
                    "error_detail": self._words()(REQUEUED_DETAIL),
                },
                now,
            )
            return "queued again: no create was sent"
        created = self._jobs.fence_created(job.job_id, seq=job.create_seq, by=self._id, now=now)
        if created.clip_id is not None:
            return ""  # the worker saved its 202 just now; the job is polling
        return LostCreate(job, mark.sent_at or now)

    def _recover(
        self, lost: list[LostCreate], config: ControlPlaneConfig, now: datetime
    ) -> dict[str, str]:
        """Look for the lost creates' clips, one search per channel and token."""
        finished: dict[str, str] = {}
        if not config.clip_api_enabled:
            for item in lost:
                finished[item.job.job_id] = self._hold(item.job, now, lost=item)
            return finished
        by_channel: dict[tuple[str, str], list[LostCreate]] = {}
        for item in lost:
            editor = config.clip_editor_user_id or item.job.broadcaster_id
            by_channel.setdefault((editor, item.job.broadcaster_id), []).append(item)
        for (editor, broadcaster), items in by_channel.items():
            try:
                found = self._finder.find(
                    self._tokens.for_user(editor),
                    creator_id=editor,
                    broadcaster_id=broadcaster,
                    lost=items,
                    deadline=self._twitch.now() + SWEEPER_LEASE_SECONDS / 2,
                )
            except ClipError as error:
                logger.warning(
                    "sweeper could not search for lost clips",
                    extra={"broadcaster_id": broadcaster, "e": error.code},
                )
                continue
            for item in items:
                outcome = self._recovered(item, found.get(item.job.job_id), now)
                if outcome:
                    finished[item.job.job_id] = outcome
        return finished

    def _recovered(self, lost: LostCreate, clip: Clip | None, now: datetime) -> str:
        job = lost.job
        if clip is None and now < lost.give_up_at:
            if job.create_sent_at is not None and job.late_check_until is not None:
                return ""  # already says so; look again next sweep
            claimed = self._claim(job, now)
            if claimed is None:
                return ""
            self._update(
                claimed,
                {
                    "create_sent_at": lost.sent_at,
                    "late_check_until": lost.give_up_at,
                    "error_detail": looking_detail(lost, self._words()),
                },
                now,
            )
            self._jobs.release(job.job_id, worker=self._id, now=now)
            return "looking for the clip"
        claimed = self._claim(job, now)
        if claimed is None:
            return ""
        if clip is None:
            self._fail(claimed, ErrorCode.UNKNOWN, not_on_twitch_detail(lost, self._words()), now)
            return "failed: clip_unknown (not on Twitch)"
        polling = self._transition(
            claimed,
            JobStatus.POLLING,
            {
                "twitch_clip_id": clip.id,
                "edit_url": f"https://clips.twitch.tv/{clip.id}/edit",
                "clip_created_at": clip.created_at or lost.sent_at,
                "create_sent_at": lost.sent_at,
                "late_check_until": None,
                "error_code": None,
                "error_detail": None,
            },
            now,
        )
        if polling is None:
            return ""
        self._transition(polling, JobStatus.READY, ready_fields(clip, now), now)
        return "ready: found on the channel"

    def _confirmed(self, job: ClipJob, clip: Clip | None, now: datetime) -> str:
        """A job with a clip id whose confirmer is gone, after the look: ready, left for a
        later sweep (under 15 s since the 202), or the `clip_create_timeout` verdict. Every
        write is conditional on the status alone."""
        if job.status is JobStatus.CREATING:
            moved = self._settle(job, JobStatus.POLLING, {}, now)
            if moved is None:
                return ""
            job = moved
        if clip is not None:
            return (
                "ready" if self._settle(job, JobStatus.READY, ready_fields(clip, now), now) else ""
            )
        created = job.clip_created_at or job.updated_at
        if now - created < timedelta(seconds=CONFIRM_DEADLINE_SECONDS):
            return "left for a later sweep"
        fields = {
            "error_code": ErrorCode.CREATE_TIMEOUT,
            "error_detail": timeout_detail(now, self._words()),
            "late_check_until": now + LATE_CHECK,
        }
        if self._settle(job, JobStatus.FAILED, fields, now) is None:
            return ""
        return "failed: clip_create_timeout"

    # --------------------------------------------------------- confirmation

    def _confirm_step(
        self,
        config: ControlPlaneConfig,
        now: datetime,
        report: SweepReport,
        unconfirmed: list[ClipJob],
    ) -> None:
        """One Get Clips per token (100 ids a call) for every clip id still to confirm: the
        jobs whose confirmer is gone, and `clip_create_timeout` jobs still in their 10 minutes
        (late confirmation), which become `ready` with `late_confirmed_at` if they appear."""
        waiting = [
            job
            for job in self._jobs.late_checks(now, limit=self._limit)
            if job.status is JobStatus.FAILED
            and job.error_code is ErrorCode.CREATE_TIMEOUT
            and job.twitch_clip_id
        ]
        if not waiting and not unconfirmed:
            return
        if not config.clip_api_enabled:
            for job in unconfirmed:
                if held := self._hold(job, now):
                    report.finished[job.job_id] = held
            if waiting:
                count = len(waiting)
                counted = "1 clip" if count == 1 else f"{count} clips"
                report.held.append(
                    f"clip_api_enabled is off: {counted} that Twitch did not show within 15 s "
                    "are not looked up again until it is turned on."
                )
            return
        by_editor: dict[str, list[ClipJob]] = {}
        for job in [*unconfirmed, *waiting]:
            by_editor.setdefault(config.clip_editor_user_id or job.broadcaster_id, []).append(job)
        for editor, jobs in by_editor.items():
            try:
                clips = self._twitch.get_clips(
                    self._tokens.for_user(editor),
                    [job.twitch_clip_id or "" for job in jobs],
                    deadline=self._twitch.now() + SWEEPER_LEASE_SECONDS / 2,
                )
            except ClipError as error:
                logger.warning("sweeper could not look clips up", extra={"e": error.code})
                clips = []
            seen = {clip.id: clip for clip in clips}
            for job in jobs:
                clip = seen.get(job.twitch_clip_id or "")
                if job.status is not JobStatus.FAILED:
                    if outcome := self._confirmed(job, clip, now):
                        report.finished[job.job_id] = outcome
                    continue
                if clip is None:
                    continue
                try:
                    self._jobs.confirm_late(job.job_id, fields=ready_fields(clip, now), now=now)
                except (TransitionRefused, LeaseLost):
                    continue
                report.late_confirmed.append(job.job_id)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _already_held(job: ClipJob, config: ControlPlaneConfig) -> bool:
        """Switch off and the job already says it waits: nothing to claim or write."""
        return not config.clip_api_enabled and says_switched_off(job.error_detail)

    def _hold(self, job: ClipJob, now: datetime, lost: LostCreate | None = None) -> str:
        """Rollback switch off: no Get Clips; the job says it waits, and the lease goes back."""
        if says_switched_off(job.error_detail):
            return ""
        fields: dict[str, object] = {"error_detail": self._words()(SWITCHED_OFF_CONFIRM)}
        if lost is not None:
            fields["create_sent_at"] = lost.sent_at
        try:
            self._jobs.update_fields(job.job_id, fields, expect={job.status}, now=now)
        except (TransitionRefused, LeaseLost):
            return ""
        if job.lease_holder == self._id:
            self._jobs.release(job.job_id, worker=self._id, now=now)
        return "waiting: clip_api_enabled is off"

    def _held_by_another(self, clip_id: str, job_id: str) -> bool:
        return any(other != job_id for other in self._jobs.holders_of_clip(clip_id))

    def _transition(
        self, job: ClipJob, to: JobStatus, fields: dict[str, object], now: datetime
    ) -> ClipJob | None:
        try:
            return self._jobs.transition(
                job.job_id, expect=job.status, to=to, fields=fields, worker=self._id, now=now
            )
        except (TransitionRefused, LeaseLost):
            logger.warning("job moved on during the sweep", extra={"job_id": job.job_id})
            return None

    def _settle(
        self, job: ClipJob, to: JobStatus, fields: dict[str, object], now: datetime
    ) -> ClipJob | None:
        """A move of a job whose clip id is saved: conditional on its status, not on a lease
        (confirming is idempotent, §5.1); None when someone else moved it first."""
        try:
            return self._jobs.transition(
                job.job_id, expect=job.status, to=to, fields=fields, now=now
            )
        except TransitionRefused:
            return None

    def _update(self, job: ClipJob, fields: dict[str, object], now: datetime) -> None:
        try:
            self._jobs.update_fields(
                job.job_id, fields, expect={job.status}, worker=self._id, now=now
            )
        except (TransitionRefused, LeaseLost):
            logger.warning("job moved on during the sweep", extra={"job_id": job.job_id})

    def _fail(
        self,
        job: ClipJob,
        code: ErrorCode,
        detail: str,
        now: datetime,
        fields: dict[str, object] | None = None,
    ) -> None:
        self._transition(
            job,
            JobStatus.FAILED,
            {**(fields or {}), "error_code": code, "error_detail": detail},
            now,
        )
