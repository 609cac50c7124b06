"""The sweeper and the links stage over emulator stores, with a fake Twitch client.

Both receive their stores, client and token recipe, so a test hands them a recording fake
instead of the Helix client, and the sweeper runs with no worker at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.domain.clip_job import JobStatus
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.twitch_models import Clip, ClipDownload, TokenSource
from shared.pipeline.approve import approve
from shared.pipeline.links import ClipLinks
from shared.pipeline.sweep import ClipSweeper
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TokenSources, TwitchTokenStore
from tests.factories import live_fields

T0 = datetime(2026, 11, 24, 20, 0, 10, tzinfo=UTC)
NOW = T0 + timedelta(minutes=5)


@dataclass
class FakeTwitch:
    """Records who asked for what; answers from the links and clips it is given."""

    links: dict[str, ClipDownload] = field(default_factory=dict)
    clips: dict[str, Clip] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    def get_clip_downloads(
        self, tokens: TokenSource, *, editor_id: str, broadcaster_id: str, clip_ids: list[str]
    ) -> list[ClipDownload]:
        self.calls.append(("downloads", tokens.user_id, (editor_id, broadcaster_id, clip_ids)))
        return [self.links[c] for c in clip_ids if c in self.links]

    def get_clips(
        self, tokens: TokenSource, clip_ids: list[str], deadline: float | None = None
    ) -> list[Clip]:
        self.calls.append(("clips", tokens.user_id, clip_ids))
        return [self.clips[c] for c in clip_ids if c in self.clips]

    def now(self) -> float:
        return NOW.timestamp()


def tokens(db: firestore.Client) -> TokenSources:
    def refresher(refresh_token: str) -> Any:
        raise AssertionError("a fake client never asks for a refresh")

    return TokenSources(TwitchTokenStore(db), refresher=refresher, worker="test")


def job_in(db: firestore.Client, status: JobStatus, channel: str = "12345", **fields: Any) -> str:
    queue = ActionQueue(db)
    moment = f"moment {fields.get('twitch_clip_id')}"
    candidate = live_fields(broadcaster_id=channel, suggested_title=moment, context_excerpt=moment)
    action_id = queue.submit(candidate, now=T0).action_id
    job = approve(queue, ClipJobStore(db), action_id, by="op", now=T0)
    db.collection("clip_jobs").document(job.job_id).update({"status": status.value, **fields})
    return job.job_id


def ready(db: firestore.Client, clip_id: str, channel: str = "12345", **fields: Any) -> str:
    fields = {"twitch_clip_id": clip_id, "ready_at": NOW - timedelta(hours=1)} | fields
    return job_in(db, JobStatus.READY, channel, **fields)


def test_links_are_filled_per_channel_and_null_links_wait(db):
    first = ready(db, "ClipA")
    second = ready(db, "ClipB")
    pending = ready(db, "ClipC")
    other = ready(db, "ClipD", channel="67890")
    ready(db, "ClipE", landscape_download_url="https://already/e.mp4")
    ready(db, "ClipF", ready_at=NOW - timedelta(hours=25))
    fake = FakeTwitch(
        links={
            "ClipA": ClipDownload("ClipA", "https://l/a.mp4", "https://p/a.mp4"),
            "ClipB": ClipDownload("ClipB", None, "https://p/b.mp4"),
            "ClipC": ClipDownload("ClipC"),
            "ClipD": ClipDownload("ClipD", "https://l/d.mp4"),
        }
    )
    links = ClipLinks(jobs=ClipJobStore(db), twitch=fake, tokens=tokens(db))
    filled = links.fill(ControlPlaneConfig(clip_editor_user_id="555"), NOW)
    assert sorted(filled) == sorted([first, second, other])
    asked = {args[1]: (who, args[0], sorted(args[2])) for _, who, args in fake.calls}
    assert asked == {
        "12345": ("555", "555", ["ClipA", "ClipB", "ClipC"]),
        "67890": ("555", "555", ["ClipD"]),
    }
    stored = ClipJobStore(db)
    assert stored.require(second).portrait_download_url == "https://p/b.mp4"
    assert stored.require(second).landscape_download_url is None
    assert stored.require(pending).portrait_download_url is None


@pytest.mark.parametrize(("visible", "outcome"), [(True, "ready"), (False, "failed")])
def test_sweeper_finishes_a_lost_poll_with_its_own_token_recipe(db, visible, outcome):
    job_id = job_in(db, JobStatus.POLLING, twitch_clip_id="ClipP", clip_created_at=T0)
    clip = Clip(id="ClipP", url="https://clips.twitch.tv/ClipP", broadcaster_id="12345")
    fake = FakeTwitch(clips={"ClipP": clip} if visible else {})
    jobs, sources = ClipJobStore(db), tokens(db)
    sweeper = ClipSweeper(
        queue=ActionQueue(db),
        jobs=jobs,
        config=ControlPlaneStore(db),
        twitch=fake,
        tokens=sources,
        links=ClipLinks(jobs=jobs, twitch=fake, tokens=sources),
        sweeper_id="sweeper-test",
        clock=lambda: NOW,
    )
    report = sweeper.run()
    assert report.errors == []
    assert report.finished[job_id].startswith(outcome)
    assert ("clips", "12345", ["ClipP"]) in fake.calls
    done = jobs.require(job_id)
    assert done.status is (JobStatus.READY if visible else JobStatus.FAILED)
    assert (done.clip_url == clip.url) is visible
