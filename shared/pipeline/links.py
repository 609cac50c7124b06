"""Links: the last stage, download links for clips that are ready.

Twitch makes a clip's download files some time after the clip itself, so links are filled
by the per-minute sweep, batched per channel; a clip whose links are still null waits for a
later sweep. The Helix client paces the calls (10 ids per call, its per-minute downloads
limit), so a sweep with many ready clips slows down instead of being refused.

With `clip_api_enabled` off (the rollback switch) no download call is made: `held` says how
many clips wait, for the sweep's report and the app's Jobs page. A channel whose token cannot
be used is skipped (reported once), so it does not hold up the other channels.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import StoredTokenUnusable
from shared.domain.language import ENGLISH, Translate
from shared.store.clip_jobs import ClipJobStore
from shared.store.twitch_tokens import TokenSources
from shared.twitch.helix_clips import HelixClips

# The edit link lasts 24 h, and links matter for fresh clips only.
LINKS_WANTED_FOR = timedelta(hours=24)

logger = logging.getLogger(__name__)


def wants_links(job: ClipJob, now: datetime) -> bool:
    """A recent ready clip whose download links are not stored yet."""
    if job.status is not JobStatus.READY or job.landscape_download_url or job.portrait_download_url:
        return False
    return bool(job.twitch_clip_id and job.ready_at and now - job.ready_at < LINKS_WANTED_FOR)


def links_held_note(waiting: int, t: Translate = ENGLISH) -> str:
    """What the sweep and the app say while the rollback switch holds the links."""
    return t.plural(
        "clip_api_enabled is off: {count} ready clip waits for download links; no Twitch call "
        "is made until it is turned on.",
        "clip_api_enabled is off: {count} ready clips wait for download links; no Twitch call "
        "is made until it is turned on.",
        waiting,
    )


class ClipLinks:
    def __init__(
        self,
        *,
        jobs: ClipJobStore,
        twitch: HelixClips,
        tokens: TokenSources,
        limit: int = 100,
    ) -> None:
        self._jobs = jobs
        self._twitch = twitch
        self._tokens = tokens
        self._limit = limit
        self._reported: set[str] = set()

    def held(self, config: ControlPlaneConfig, now: datetime) -> str | None:
        """Why links are not fetched now (the rollback switch), or None to go ahead."""
        if config.clip_api_enabled:
            return None
        waiting = sum(len(jobs) for jobs in self._waiting(config, now).values())
        return links_held_note(waiting) if waiting else None

    def fill(self, config: ControlPlaneConfig, now: datetime) -> list[str]:
        """Store the download links Twitch has for recent ready clips; return those job ids.

        Never calls Twitch while `clip_api_enabled` is off."""
        filled: list[str] = []
        if not config.clip_api_enabled:
            return filled
        for (editor, broadcaster), jobs in self._waiting(config, now).items():
            try:
                links = self._twitch.get_clip_downloads(
                    self._tokens.for_user(editor),
                    editor_id=editor,
                    broadcaster_id=broadcaster,
                    clip_ids=[j.twitch_clip_id or "" for j in jobs],
                )
            except StoredTokenUnusable as error:
                if error.detail not in self._reported:
                    self._reported.add(error.detail)
                    logger.error(
                        "download links skipped for channel %s: %s", broadcaster, error.detail
                    )
                continue
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

    def _waiting(
        self, config: ControlPlaneConfig, now: datetime
    ) -> dict[tuple[str, str], list[ClipJob]]:
        """Recent ready jobs without links, by (editor, channel).

        Filtered here, not in the query: a `== None` filter is not served by every emulator.
        """
        by_channel: dict[tuple[str, str], list[ClipJob]] = {}
        for job in self._jobs.list_by_status(JobStatus.READY, limit=self._limit):
            if wants_links(job, now):
                editor = config.clip_editor_user_id or job.broadcaster_id
                by_channel.setdefault((editor, job.broadcaster_id), []).append(job)
        return by_channel
