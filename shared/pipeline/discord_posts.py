"""Finished clips posted to Discord, exactly once per clip and status, even with two processes.

Where it runs: a Firestore listener in the chat bot, next to the chat's clip-ready announcer.
The chat bot is the long-lived process, so it keeps Discord's rate-limit bucket between
posts (a function instance would start blind each time) and posts within a second of the
job turning `ready`; the `DISCORD_WEBHOOK_URL` secret is given to that one service only; and
Discord calls never touch the clip functions' Twitch deadlines. Locally the stack runs the
same relay against the Discord stand-in. Without `DISCORD_WEBHOOK_URL` nothing is posted and
the process says so at start-up and on its health page.

Which jobs: those of the bot's channel whose status is in `approval.discord_statuses` and
whose candidate source is in `approval.discord_sources`, finished within `MAX_AGE` (a restart
never replays history), a ready one only with its clip link. `DiscordPostStore.claim` makes
the post exclusive (a create-led marker per job and status); the claim holder posts, waiting
out Discord's rate limits (`shared.discord.webhook`), and records the outcome on the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from functools import partial

from shared.discord.embed import clip_message
from shared.discord.webhook import DiscordWebhook, WebhookSender
from shared.domain.approval_settings import ApprovalSettings
from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.clock import Clock, utc_now
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.language import DEFAULT_LANGUAGE
from shared.i18n import translator
from shared.pipeline.snapshot_listener import SnapshotListener
from shared.store.discord_posts import DiscordPostStore, FinishedJob

logger = logging.getLogger(__name__)

MAX_AGE = timedelta(minutes=15)
WEBHOOK_ENV = "DISCORD_WEBHOOK_URL"
OFF_WITHOUT_URL = f"off: {WEBHOOK_ENV} is not set"


def discord_webhook(url: str | None) -> tuple[DiscordWebhook | None, str]:
    """The webhook client and `on`, or None and why Discord posting is off."""
    if not url or not url.strip():
        return None, OFF_WITHOUT_URL
    try:
        return DiscordWebhook(url), "on"
    except ValueError as error:
        return None, f"off: {error}"


def webhook_from_env(environ: Mapping[str, str]) -> tuple[DiscordWebhook | None, str]:
    return discord_webhook(environ.get(WEBHOOK_ENV))


def status_to_post(
    found: FinishedJob, settings: ApprovalSettings, *, broadcaster_id: str | None, now: datetime
) -> str | None:
    """The status of this job to post now, or None when there is nothing to post."""
    job = found.job
    status = job.status.value
    if job.status not in (JobStatus.READY, JobStatus.FAILED):
        return None
    if status not in settings.discord_statuses or job.candidate_source not in (
        settings.discord_sources
    ):
        return None
    if broadcaster_id is not None and job.broadcaster_id != broadcaster_id:
        return None
    if found.claimed(status):
        return None
    if job.status is JobStatus.READY and not job.clip_url:
        return None
    finished = job.ready_at if job.status is JobStatus.READY else job.updated_at
    if finished is None or now - finished > MAX_AGE:
        return None
    return status


@dataclass(eq=False)
class DiscordPoster:
    """Claims and posts one job's status; the claim makes it once across processes."""

    store: DiscordPostStore
    sender: WebhookSender
    _: KW_ONLY
    instance: str
    channel_name: Callable[[str], str | None] = lambda broadcaster_id: None
    clock: Clock = utc_now

    def post(self, job: ClipJob, status: str, language: str = DEFAULT_LANGUAGE) -> bool | None:
        """True once posted (in `language`), False when Discord refused or never answered,
        None when another process holds the post."""
        if not self.store.claim(job.job_id, status, by=self.instance, now=self.clock()):
            logger.info("discord post already claimed elsewhere", extra={"job_id": job.job_id})
            return None
        try:
            channel = self.channel_name(job.broadcaster_id)
        except Exception:
            channel = None
        message = clip_message(job, channel=channel, t=translator(language))
        result = self.sender.send(message)
        self.store.record(
            job.job_id,
            status,
            posted=result.ok,
            now=self.clock(),
            detail=result.detail,
            message_id=result.message_id,
            attempts=result.attempts,
            rate_limited=result.rate_limited,
        )
        context = {
            "job_id": job.job_id,
            "status": status,
            "attempts": result.attempts,
            "rate_limited": result.rate_limited,
            "waited_seconds": round(result.waited_seconds, 2),
        }
        if result.ok:
            logger.info("clip posted to Discord", extra=context)
        else:
            logger.error(f"clip not posted to Discord: {result.detail}", extra=context)
        return result.ok


@dataclass(eq=False)
class DiscordRelay:
    """Listens to clip jobs and hands each post to one worker (posts go out in order, and
    Discord's bucket state is shared between them)."""

    store: DiscordPostStore
    poster: DiscordPoster
    _: KW_ONLY
    config: Callable[[], ControlPlaneConfig]
    broadcaster_id: str | None
    clock: Clock = utc_now
    posted: int = field(default=0, init=False)
    failed: int = field(default=0, init=False)
    lost: int = field(default=0, init=False)
    _listener: SnapshotListener = field(
        init=False,
        default_factory=partial(SnapshotListener, workers=1, thread_name_prefix="discord-post"),
    )

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def start(self, timeout: float = 15.0) -> DiscordRelay:
        watch = self.store.watch_finished(self.clock() - MAX_AGE, self._on_jobs)
        if not self._listener.start(watch, timeout):
            logger.warning("discord relay: no snapshot yet from clip_jobs")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._listener.stop()

    def _on_jobs(self, jobs: list[FinishedJob]) -> None:
        try:
            config = self.config()
            settings = config.approval
            now = self.clock()
            for found in jobs:
                status = status_to_post(
                    found, settings, broadcaster_id=self.broadcaster_id, now=now
                )
                if status is None:
                    continue
                if self._listener.first_time((found.job.job_id, status)):
                    self._listener.pool.submit(self._post, found.job, status, config.language)
        except Exception:
            logger.exception("discord relay: could not read a clip_jobs snapshot")
        finally:
            self._listener.first.set()

    def _post(self, job: ClipJob, status: str, language: str = DEFAULT_LANGUAGE) -> None:
        try:
            outcome = self.poster.post(job, status, language)
        except Exception:
            logger.exception("discord relay: the post failed", extra={"job_id": job.job_id})
            return
        if outcome is None:
            self.lost += 1
        elif outcome:
            self.posted += 1
        else:
            self.failed += 1
