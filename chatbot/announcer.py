"""Posts the public link of a clip that came from this chat, once, when its job is `ready`.

The job store's listener (jobs that became ready recently, not yet announced) feeds a worker
that claims the announcement through `ClipJobStore.claim_chat_announcement`, so of two bot
instances exactly one wins and posts (docs/architecture.md §5). The claim comes
before the post: a crash in between loses one chat message, never doubles it. Old jobs (older
than `chat.announce_max_age_seconds`) are never announced, so a restart does not replay
history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from chatbot.control import ConfigSource
from chatbot.detection import CHAT_SOURCES
from chatbot.replies import ready_reply
from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.clock import Clock, utc_now
from shared.domain.language import DEFAULT_LANGUAGE
from shared.pipeline.snapshot_listener import SnapshotListener
from shared.store.clip_jobs import ClipJobStore

logger = logging.getLogger(__name__)


def announcement(
    job: ClipJob,
    *,
    broadcaster_id: str,
    now: datetime,
    max_age_seconds: float,
    language: str = DEFAULT_LANGUAGE,
) -> tuple[str, str] | None:
    """(job id, chat text in `language`) when this job should be announced here, else None."""
    if (
        job.status is not JobStatus.READY
        or not job.clip_url
        or job.candidate_source not in CHAT_SOURCES
        or job.broadcaster_id != broadcaster_id
        or job.ready_at is None
        or (now - job.ready_at).total_seconds() > max_age_seconds
    ):
        return None
    return job.job_id, ready_reply(job.requested_title, job.clip_url, language)


@dataclass(eq=False)
class ChannelAnnouncer:
    """What both chat announcers share: the channel they watch, how they post (through the
    outbox), the live config, the instance that claims, and a snapshot listener whose slow
    work goes to a small pool of `WORKERS` threads."""

    WORKERS: ClassVar[int] = 1
    THREADS: ClassVar[str] = "chat-announce"

    _: KW_ONLY
    broadcaster_id: str
    post: Callable[[str], None]
    config: ConfigSource
    instance: str
    clock: Clock = utc_now
    announced: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._listener = SnapshotListener(workers=self.WORKERS, thread_name_prefix=self.THREADS)

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def stop(self, timeout: float = 5.0) -> None:
        self._listener.stop()


@dataclass(eq=False)
class ReadyClipAnnouncer(ChannelAnnouncer):
    """Listens to ready jobs and posts each of this channel's chat-born clips once."""

    WORKERS = 2

    jobs: ClipJobStore
    lost: int = field(default=0, init=False)

    def start(self, timeout: float = 15.0) -> ReadyClipAnnouncer:
        """Listen to jobs that became ready within the announce window."""
        max_age = self.config.current().chat.announce_max_age_seconds
        since = self.clock() - timedelta(seconds=max_age)
        watch = self.jobs.watch_unannounced_ready(since, self._on_jobs)
        if not self._listener.start(watch, timeout):
            logger.warning("clip announcer: no snapshot yet from clip_jobs")
        return self

    def _on_jobs(self, jobs: list[ClipJob]) -> None:
        try:
            live = self.config.current()
            chat = live.chat
            if not chat.announce_ready_clips:
                return
            now = self.clock()
            for job in jobs:
                found = announcement(
                    job,
                    broadcaster_id=self.broadcaster_id,
                    now=now,
                    max_age_seconds=chat.announce_max_age_seconds,
                    language=live.clips.language,
                )
                if found is None:
                    continue
                if self._listener.first_time(found[0]):
                    self._listener.pool.submit(self._claim_and_post, *found)
        except Exception:
            logger.exception("clip announcer: could not read a clip_jobs snapshot")
        finally:
            self._listener.first.set()

    def _claim_and_post(self, job_id: str, text: str) -> None:
        try:
            won = self.jobs.claim_chat_announcement(job_id, by=self.instance, now=self.clock())
        except Exception:
            logger.exception(
                "clip announcer: could not claim the announcement", extra={"job_id": job_id}
            )
            return
        if not won:
            self.lost += 1
            logger.info("clip already announced by another instance", extra={"job_id": job_id})
            return
        self.announced += 1
        logger.info("clip ready: announcing in chat", extra={"job_id": job_id})
        self.post(text)
