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
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

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


class DiscordPoster:
    """Claims and posts one job's status; the claim makes it once across processes."""

    def __init__(
        self,
        store: DiscordPostStore,
        sender: WebhookSender,
        *,
        instance: str,
        channel_name: Callable[[str], str | None] = lambda broadcaster_id: None,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._sender = sender
        self._instance = instance
        self._channel_name = channel_name
        self._clock = clock

    def post(self, job: ClipJob, status: str, language: str = DEFAULT_LANGUAGE) -> bool | None:
        """True once posted (in `language`), False when Discord refused or never answered,
        None when another process holds the post."""
        if not self._store.claim(job.job_id, status, by=self._instance, now=self._clock()):
            logger.info("discord post already claimed elsewhere", extra={"job_id": job.job_id})
            return None
        try:
            channel = self._channel_name(job.broadcaster_id)
        except Exception:
            channel = None
        message = clip_message(job, channel=channel, t=translator(language))
        result = self._sender.send(message)
        self._store.record(
            job.job_id,
            status,
            posted=result.ok,
            now=self._clock(),
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


class DiscordRelay:
    """Listens to clip jobs and hands each post to one worker (posts go out in order, and
    Discord's bucket state is shared between them)."""

    def __init__(
        self,
        store: DiscordPostStore,
        poster: DiscordPoster,
        *,
        config: Callable[[], ControlPlaneConfig],
        broadcaster_id: str | None,
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._poster = poster
        self._config = config
        self._broadcaster_id = broadcaster_id
        self._clock = clock
        self._listener = SnapshotListener(workers=1, thread_name_prefix="discord-post")
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.posted = 0
        self.failed = 0
        self.lost = 0

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def start(self, timeout: float = 15.0) -> DiscordRelay:
        watch = self._store.watch_finished(self._clock() - MAX_AGE, self._on_jobs)
        if not self._listener.start(watch, timeout):
            logger.warning("discord relay: no snapshot yet from clip_jobs")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._listener.stop()

    def _on_jobs(self, jobs: list[FinishedJob]) -> None:
        try:
            config = self._config()
            settings = config.approval
            now = self._clock()
            for found in jobs:
                status = status_to_post(
                    found, settings, broadcaster_id=self._broadcaster_id, now=now
                )
                if status is None:
                    continue
                key = (found.job.job_id, status)
                with self._lock:
                    if key in self._seen:
                        continue
                    self._seen.add(key)
                self._listener.pool.submit(self._post, found.job, status, config.language)
        except Exception:
            logger.exception("discord relay: could not read a clip_jobs snapshot")
        finally:
            self._listener.first.set()

    def _post(self, job: ClipJob, status: str, language: str = DEFAULT_LANGUAGE) -> None:
        try:
            outcome = self._poster.post(job, status, language)
        except Exception:
            logger.exception("discord relay: the post failed", extra={"job_id": job.job_id})
            return
        if outcome is None:
            self.lost += 1
        elif outcome:
            self.posted += 1
        else:
            self.failed += 1
