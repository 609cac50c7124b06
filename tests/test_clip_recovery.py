"""No clip Twitch made is lost (issue 10, docs/architecture.md §6.4): deadlines, the write that
keeps a 202's id, lost-clip recovery and late confirmation.

The core runs over emulator stores with a scripted Twitch and one controlled clock, so a test
can let a lease run out in the middle of a create call; the end-to-end tests run the function
processes against the Helix simulator, whose clock can jump ahead instead of waiting 40 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from google.cloud import firestore

from local.clip_harness import (
    Functions,
    approve_moment,
    connect_channel,
    function_env,
    lone_worker,
    wait_for_job,
)
from local.functions_host import FunctionServer
from local.helix_simulator import HelixSimulator
from local.trigger_relay import TriggerRelay
from shared.domain.clip_candidate import new_candidate
from shared.domain.clip_job import (
    LATE_CHECK,
    ClipJob,
    JobStatus,
    check_late_confirmation,
    new_job,
)
from shared.domain.errors import ClipUnknown, ErrorCode, TransitionRefused
from shared.domain.twitch_models import Clip, CreatedClip, Stream, TokenSource
from shared.pipeline.approve import approve
from shared.pipeline.confirm import ClipConfirmer, VisibilityDelays
from shared.pipeline.create import CRASH_ENV, ClipWorker
from shared.pipeline.links import ClipLinks
from shared.pipeline.recover import LostCreate, match_lost_clips
from shared.pipeline.sweep import ClipSweeper
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import Claim, ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TokenSources, TwitchTokenStore
from shared.twitch.helix_clips import DeadlineReached
from streamlit_app.formatting import still_checking_text
from tests.factories import live_fields
from tests.test_helix_clips import BROADCASTER, World, fake, world  # noqa: F401
from tests.test_helix_clips import CLIENT_ID as CLIENT_ID_HELIX

MOMENT = datetime(2026, 11, 24, 20, 0, 1, 250000, tzinfo=UTC)
T0 = MOMENT + timedelta(seconds=6)
CHANNEL = "12345"


# ----------------------------------------------------------------- the scripted core


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class ScriptedTwitch:
    """The Helix calls the worker and the sweeper make; `during_create` runs inside the
    create call (the moment a lease can run out), `visible` are the clips Get Clips shows."""

    clock: Clock
    during_create: Callable[[], None] = lambda: None
    visible: dict[str, Clip] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    max_inline_wait: float = 20.0
    # Like the real client when a try could not end by the deadline: nothing is sent.
    unsendable_until: datetime | None = None

    def now(self) -> float:
        return self.clock().timestamp()

    def get_streams(self, tokens: TokenSource, user_id: str, **_: Any) -> Stream:
        self.calls.append(("streams", user_id))
        return Stream("7777", user_id, "live", T0 - timedelta(hours=1))

    def create_clip(self, tokens: TokenSource, **args: Any) -> CreatedClip:
        if self.unsendable_until is not None:
            raise DeadlineReached("POST /clips", self.unsendable_until)
        if args.get("before_send"):
            args["before_send"]()  # as the real client does, right before the try goes out
        self.calls.append(("create", args))
        self.during_create()
        return CreatedClip("LostClipSlug-1", "https://clips.twitch.tv/LostClipSlug-1/edit")

    def get_clips(self, tokens: TokenSource, ids: list[str], **_: Any) -> list[Clip]:
        self.calls.append(("clips", list(ids)))
        return [self.visible[i] for i in ids if i in self.visible]

    def clips_in_window(
        self, tokens: TokenSource, broadcaster_id: str, started_at: Any, ended_at: Any, **args: Any
    ) -> list[Clip]:
        self.calls.append(("search", {"started_at": started_at, "ended_at": ended_at, **args}))
        return list(self.visible.values())

    def creates(self) -> int:
        return sum(1 for name, _ in self.calls if name == "create")


def clip(clip_id: str, *, at: datetime, title: str = "What a save", creator: str = CHANNEL):
    return Clip(
        id=clip_id,
        url=f"https://clips.twitch.tv/{clip_id}",
        broadcaster_id=CHANNEL,
        creator_id=creator,
        title=title,
        created_at=at,
    )


def no_refresh(refresh_token: str) -> Any:
    raise AssertionError("the scripted Twitch never asks for a refresh")


@dataclass
class Core:
    db: firestore.Client
    clock: Clock
    twitch: ScriptedTwitch
    jobs: ClipJobStore
    worker: ClipWorker
    sweeper: ClipSweeper


@pytest.fixture
def core(db: firestore.Client) -> Core:
    clock = Clock(T0)
    twitch = ScriptedTwitch(clock)
    jobs = ClipJobStore(db)
    tokens = TokenSources(TwitchTokenStore(db), refresher=no_refresh, worker="test")
    worker = ClipWorker(
        jobs=jobs,
        config=ControlPlaneStore(db),
        clips_auth=ClipsAuthStore(db),
        twitch=twitch,  # type: ignore[arg-type]
        tokens=tokens,
        confirmer=ClipConfirmer(twitch),  # type: ignore[arg-type]
        worker_id="worker-test",
        clock=clock,
        sleep=clock.advance,
    )
    sweeper = ClipSweeper(
        queue=ActionQueue(db),
        jobs=jobs,
        config=ControlPlaneStore(db),
        twitch=twitch,  # type: ignore[arg-type]
        tokens=tokens,
        links=ClipLinks(jobs=jobs, twitch=twitch, tokens=tokens),  # type: ignore[arg-type]
        sweeper_id="sweeper-test",
        clock=clock,
    )
    return Core(db, clock, twitch, jobs, worker, sweeper)


def approved(core: Core, **changes: Any) -> str:
    queue = ActionQueue(core.db)
    fields = live_fields(broadcaster_id=CHANNEL, source_ts=MOMENT.isoformat(), **changes)
    action = queue.submit(fields, now=T0)
    return approve(queue, core.jobs, action.action_id, by="op", now=T0).job_id


def test_a_202_after_the_lease_was_lost_keeps_the_clip_id(core: Core) -> None:
    """The create outlives the lease and a sweeper takes over meanwhile: the id and edit link
    are saved anyway (no LeaseLost), and the sweeper confirms the clip; one create."""
    job_id = approved(core)
    seen: list[str] = []

    def lease_runs_out() -> None:
        core.clock.advance(70)
        seen.append(core.sweeper.run().finished.get(job_id, ""))

    core.twitch.during_create = lease_runs_out
    outcome = core.worker.run(job_id)
    assert outcome.result == "clip kept"
    assert seen == ["looking for the clip"]
    kept = core.jobs.require(job_id)
    assert kept.status is JobStatus.CREATING
    assert kept.twitch_clip_id == "LostClipSlug-1"
    assert kept.edit_url == "https://clips.twitch.tv/LostClipSlug-1/edit"
    core.twitch.visible["LostClipSlug-1"] = clip("LostClipSlug-1", at=T0)
    core.clock.advance(5)
    assert core.sweeper.run().finished == {job_id: "ready"}
    ready = core.jobs.require(job_id)
    assert ready.status is JobStatus.READY and ready.clip_url and ready.edit_url
    assert ready.error_detail is None and ready.late_check_until is None
    assert core.twitch.creates() == 1


def claimed_by_a_dead_worker(
    core: Core, job_id: str, *, at: datetime, lease_seconds: float, sent: bool = False
) -> Claim:
    """The claim a worker that then died made on a queued job, its create marked sent or not."""
    claim = core.jobs.claim(
        job_id,
        worker="worker-dead",
        lease_seconds=lease_seconds,
        expect={JobStatus.QUEUED},
        to=JobStatus.CREATING,
        now=at,
        current=core.jobs.require(job_id),
        may_create=True,
    )
    assert claim is not None and claim.job.create_seq == claim.seq
    if sent:
        assert core.jobs.mark_create_sent(job_id, seq=claim.seq, worker="worker-dead", now=at)
    return claim


def test_a_worker_that_never_sent_its_create_is_queued_again(core: Core) -> None:
    """Its claim fenced off, the job goes back to `queued` and the dead worker could not
    send anything any more: no search, no failure."""
    job_id = approved(core)
    claim = claimed_by_a_dead_worker(core, job_id, at=T0, lease_seconds=60)
    core.clock.advance(61)
    report = core.sweeper.run()
    assert report.finished == {job_id: "queued again: no create was sent"}
    again = core.jobs.require(job_id)
    assert again.status is JobStatus.QUEUED and again.requeued_at == core.clock()
    assert not core.jobs.mark_create_sent(job_id, seq=claim.seq, worker="worker-dead", now=T0)
    assert core.twitch.calls == []


def worker_with(core: Core, **changes: Any) -> ClipWorker:
    """Another worker over the core's stores, scripted Twitch and clock."""
    args: dict[str, Any] = {
        "jobs": core.jobs,
        "config": ControlPlaneStore(core.db),
        "clips_auth": ClipsAuthStore(core.db),
        "twitch": core.twitch,
        "tokens": TokenSources(TwitchTokenStore(core.db), refresher=no_refresh, worker="t"),
        "confirmer": ClipConfirmer(core.twitch),  # type: ignore[arg-type]
        "worker_id": "worker-other",
        "clock": core.clock,
        "sleep": core.clock.advance,
    }
    return ClipWorker(**(args | changes))


def test_a_worker_dead_in_its_create_window_is_taken_over_after_the_window(core: Core) -> None:
    """The claim's written lease is the create window (10 s), not the whole 60 s: a worker
    that dies before sending is queued again by the first sweep after it."""

    def die_before_create(point: str) -> None:
        if point == "before_create":
            raise Killed(point)

    job_id = approved(core)
    with pytest.raises(Killed):
        worker_with(core, checkpoint=die_before_create).run(job_id)
    claimed = core.jobs.require(job_id)
    assert claimed.lease_until == T0 + timedelta(seconds=10)
    core.clock.advance(9)
    assert job_id not in core.sweeper.run().finished
    core.clock.advance(2)
    assert core.sweeper.run().finished == {job_id: "queued again: no create was sent"}
    assert core.twitch.creates() == 0


def test_a_live_workers_create_window_is_renewed_while_its_create_is_in_flight(
    core: Core,
) -> None:
    """A create call longer than the window: the heartbeat keeps the lease ahead of the
    clock, so the sweeper leaves the job alone; one create, the clip confirmed."""
    job_id = approved(core)
    during: list[tuple[datetime | None, dict[str, str]]] = []

    def slow_create() -> None:
        for _ in range(10):
            core.clock.advance(0.1)
            time.sleep(0.15)
        lease = core.jobs.require(job_id).lease_until
        during.append((lease, core.sweeper.run().finished))

    core.twitch.during_create = slow_create
    core.twitch.visible["LostClipSlug-1"] = clip("LostClipSlug-1", at=T0)
    worker = worker_with(core, create_window_seconds=0.6)
    assert worker.run(job_id).result == "ready"
    [(lease, finished)] = during
    assert lease is not None and lease > T0 + timedelta(seconds=1.0)
    assert job_id not in finished
    assert core.twitch.creates() == 1


def lost_create(core: Core, *, sent_ago: float, title: str = "What a save") -> str:
    """A job whose worker sent its create `sent_ago` seconds ago and died before the 202."""
    job_id = approved(core, suggested_title=title)
    sent = core.clock() - timedelta(seconds=sent_ago)
    claimed_by_a_dead_worker(core, job_id, at=sent, lease_seconds=1, sent=True)
    return job_id


def test_a_lost_create_is_found_on_the_channel_by_creator_and_title(core: Core) -> None:
    job_id = lost_create(core, sent_ago=20)
    other = lost_create(core, sent_ago=20, title="Another moment")
    sent = core.clock() - timedelta(seconds=20)
    core.twitch.visible = {
        "ByViewer": clip("ByViewer", at=sent, creator="999"),
        "Mine": clip("Mine", at=sent + timedelta(seconds=1)),
    }
    report = core.sweeper.run()
    assert report.finished == {job_id: "ready: found on the channel", other: "looking for the clip"}
    found = core.jobs.require(job_id)
    assert (found.status, found.twitch_clip_id) == (JobStatus.READY, "Mine")
    assert found.edit_url == "https://clips.twitch.tv/Mine/edit"
    [search] = [args for name, args in core.twitch.calls if name == "search"]
    assert search["started_at"] <= sent - timedelta(seconds=10)
    assert search["ended_at"] >= sent + timedelta(minutes=2)
    waiting = core.jobs.require(other)
    assert waiting.status is JobStatus.CREATING
    assert "looked for on the channel until" in (waiting.error_detail or "")
    assert waiting.late_check_until == sent + timedelta(seconds=15) + LATE_CHECK
    assert core.twitch.creates() == 0


def test_a_lost_create_not_found_after_the_late_period_fails_saying_so(core: Core) -> None:
    job_id = lost_create(core, sent_ago=11 * 60)
    assert core.sweeper.run().finished == {job_id: "failed: clip_unknown (not on Twitch)"}
    failed = core.jobs.require(job_id)
    assert failed.status is JobStatus.FAILED and failed.error_code is ErrorCode.UNKNOWN
    assert (failed.error_detail or "").startswith("The clip is not on Twitch")
    assert "approve the moment again as a VOD clip" in (failed.error_detail or "")
    assert core.twitch.creates() == 0


def test_with_the_rollback_switch_off_recovery_and_late_checks_make_no_call(core: Core) -> None:
    lost = lost_create(core, sent_ago=20)
    late = timed_out(core, "LateSlug")
    ControlPlaneStore(core.db).write({"clip_api_enabled": False}, by="op")
    report = core.sweeper.run()
    assert core.twitch.calls == []
    assert report.finished == {lost: "waiting: clip_api_enabled is off"}
    assert any("not looked up again" in note for note in report.held)
    assert core.jobs.require(late).status is JobStatus.FAILED
    assert core.sweeper.run().finished == {}
    assert core.twitch.calls == []


def timed_out(core: Core, clip_id: str, *, checked_until: timedelta = LATE_CHECK) -> str:
    """A job failed with `clip_create_timeout` that keeps its id, still under late check."""
    job_id = approved(core, suggested_title=f"moment {clip_id}")
    core.db.collection("clip_jobs").document(job_id).update(
        {
            "status": "failed",
            "error_code": ErrorCode.CREATE_TIMEOUT.value,
            "twitch_clip_id": clip_id,
            "edit_url": f"https://clips.twitch.tv/{clip_id}/edit",
            "late_check_until": core.clock() + checked_until,
        }
    )
    return job_id


def test_late_confirmation_batches_and_turns_jobs_ready(core: Core) -> None:
    first, second, unseen = (timed_out(core, c) for c in ("SlugA", "SlugB", "SlugC"))
    over = timed_out(core, "SlugD", checked_until=timedelta(seconds=-1))
    core.twitch.visible = {c: clip(c, at=T0) for c in ("SlugA", "SlugB", "SlugD")}
    report = core.sweeper.run()
    assert sorted(report.late_confirmed) == sorted([first, second])
    [(_, asked)] = [call for call in core.twitch.calls if call[0] == "clips"]
    assert sorted(asked) == ["SlugA", "SlugB", "SlugC"]
    for job_id in (first, second):
        ready = core.jobs.require(job_id)
        assert ready.status is JobStatus.READY and ready.late_confirmed_at == core.clock()
        assert ready.error_code is None and ready.late_check_until is None and ready.clip_url
    assert core.jobs.require(unseen).status is JobStatus.FAILED
    assert core.jobs.require(over).status is JobStatus.FAILED


def test_failed_to_ready_is_only_a_late_confirmation(core: Core) -> None:
    job_id = timed_out(core, "SlugE")
    core.db.collection("clip_jobs").document(job_id).update(
        {"error_code": ErrorCode.FORBIDDEN.value}
    )
    with pytest.raises(TransitionRefused, match="clip_create_timeout"):
        core.jobs.confirm_late(job_id, fields={}, now=T0)
    with pytest.raises(TransitionRefused):
        core.jobs.transition(job_id, expect=JobStatus.FAILED, to=JobStatus.READY)
    job = core.jobs.require(job_id).model_copy(update={"error_code": ErrorCode.CREATE_TIMEOUT})
    check_late_confirmation(job)
    with pytest.raises(TransitionRefused):
        check_late_confirmation(job.model_copy(update={"twitch_clip_id": None}))


def test_the_create_gets_the_lease_deadline_and_the_plan_send_by(core: Core) -> None:
    job_id = approved(core)
    core.twitch.visible["LostClipSlug-1"] = clip("LostClipSlug-1", at=T0)
    assert core.worker.run(job_id).result == "ready"
    [(_, args)] = [call for call in core.twitch.calls if call[0] == "create"]
    assert args["deadline"] == (T0 + timedelta(seconds=60 - 5)).timestamp()
    # planned at T0 for a moment 6 s old: sent by the plan's 2 s margin less the latency
    assert args["send_by"] == (T0 + timedelta(seconds=1.5)).timestamp()
    assert args["retry"] is False  # the worker's loop retries, re-planning each time


def test_a_create_the_lease_cannot_hold_is_handed_back_unsent(core: Core) -> None:
    """The next try could not end inside the lease: back to `queued`, nothing sent."""
    job_id = approved(core)
    later = T0 + timedelta(seconds=50)
    core.twitch.unsendable_until = later
    outcome = core.worker.run(job_id)
    assert outcome.result == "handed back"
    back = core.jobs.require(job_id)
    assert (back.status, back.next_attempt_at) == (JobStatus.QUEUED, later)
    assert "could not finish within this worker's lease" in (back.error_detail or "")
    assert core.twitch.creates() == 0


def saved_by_a_dead_worker(core: Core, clip_id: str, *, saved_ago: float) -> str:
    """A job whose worker saved the 202 `saved_ago` seconds ago and died while confirming: it
    is `polling` and its lease (the confirmation hold) has not run out."""
    job_id = approved(core, suggested_title=f"moment {clip_id}")
    saved = core.clock() - timedelta(seconds=saved_ago)
    claim = claimed_by_a_dead_worker(core, job_id, at=saved, lease_seconds=60, sent=True)
    assert core.jobs.record_created(
        job_id,
        seq=claim.seq,
        clip_id=clip_id,
        edit_url=f"https://clips.twitch.tv/{clip_id}/edit",
        worker="worker-dead",
        now=saved,
        fields={"status": JobStatus.POLLING, "lease_until": saved + timedelta(seconds=20)},
    )
    return job_id


def test_a_redelivered_event_confirms_a_dead_workers_clip_without_its_lease(core: Core) -> None:
    """Confirming needs no exclusivity (§5.1): the event delivered again after the worker
    died confirms at once, though the dead worker's lease still runs; no second create."""
    job_id = saved_by_a_dead_worker(core, "SavedSlug", saved_ago=3)
    core.twitch.visible["SavedSlug"] = clip("SavedSlug", at=T0)
    assert core.jobs.require(job_id).lease_active(core.clock())
    outcome = core.worker.run(job_id)
    assert outcome.result == "ready"
    ready = core.jobs.require(job_id)
    assert ready.status is JobStatus.READY and ready.clip_url and ready.lease_holder is None
    assert core.twitch.creates() == 0
    assert core.worker.run(job_id).result == "not queued"  # a later redelivery: nothing to do


def test_a_redelivery_past_the_15_s_looks_once_then_gives_the_verdict(core: Core) -> None:
    job_id = saved_by_a_dead_worker(core, "UnseenSlug", saved_ago=16)
    assert core.worker.run(job_id).result == "failed"
    assert [ids for name, ids in core.twitch.calls if name == "clips"] == [["UnseenSlug"]]
    failed = core.jobs.require(job_id)
    assert failed.error_code is ErrorCode.CREATE_TIMEOUT and failed.late_check_until


class Killed(Exception):
    """The worker process ending at a named point."""


def test_an_orphaned_poll_is_the_sweepers_once_its_confirmation_time_is_over(
    core: Core,
) -> None:
    """Once the 202 is saved the lease covers the confirmation only (15 s and the margin), not
    the rest of the claim's 60 s: the sweeper finishes a worker that died confirming soon."""

    def die_after(point: str) -> None:
        if point == "after_save":
            raise Killed(point)

    dying = ClipWorker(
        jobs=core.jobs,
        config=ControlPlaneStore(core.db),
        clips_auth=ClipsAuthStore(core.db),
        twitch=core.twitch,  # type: ignore[arg-type]
        tokens=TokenSources(TwitchTokenStore(core.db), refresher=no_refresh, worker="t"),
        confirmer=ClipConfirmer(core.twitch),  # type: ignore[arg-type]
        worker_id="worker-dying",
        clock=core.clock,
        sleep=core.clock.advance,
        checkpoint=die_after,
    )
    job_id = approved(core)
    with pytest.raises(Killed):
        dying.run(job_id)
    saved = core.jobs.require(job_id)
    assert saved.status is JobStatus.POLLING
    assert saved.lease_until == core.clock() + timedelta(seconds=20)
    core.twitch.visible["LostClipSlug-1"] = clip("LostClipSlug-1", at=T0)
    core.clock.advance(21)
    assert core.sweeper.run().finished == {job_id: "ready"}
    assert core.twitch.creates() == 1


def test_the_sweeper_confirms_lost_polls_and_late_clips_in_one_call(core: Core) -> None:
    """No claim for a job whose clip id is saved; its look shares the late checks' call."""
    lost = saved_by_a_dead_worker(core, "LostPoll", saved_ago=25)
    late = timed_out(core, "LateOne")
    core.twitch.visible = {c: clip(c, at=T0) for c in ("LostPoll", "LateOne")}
    before = core.jobs.require(lost).lease_seq
    report = core.sweeper.run()
    assert report.finished == {lost: "ready"} and report.late_confirmed == [late]
    [asked] = [ids for name, ids in core.twitch.calls if name == "clips"]
    assert sorted(asked) == ["LateOne", "LostPoll"]
    assert core.jobs.require(lost).lease_seq == before  # confirmed without claiming


@dataclass
class CountedLooks:
    """Get Clips for the confirmer alone: records each call's ids; only "Shown" is visible."""

    calls: list[list[str]] = field(default_factory=list)
    pause: float = 0.0

    def now(self) -> float:
        return time.time()

    def get_clips(self, tokens: Any, ids: list[str], **_: Any) -> list[Clip]:
        self.calls.append(list(ids))
        time.sleep(self.pause)
        return [clip(i, at=T0) for i in ids if i == "Shown"]


def test_one_wait_per_clip_and_a_look_even_past_the_deadline() -> None:
    """Two waits for one clip (a redelivery in the same process) share one look; a wait whose
    time is already up still looks once before the verdict."""
    twitch = CountedLooks(pause=0.2)
    confirmer = ClipConfirmer(twitch)  # type: ignore[arg-type]
    found: list[Clip | None] = []

    def wait() -> None:
        found.append(confirmer.wait_visible(None, "Shown", group="g", timeout=5, elapsed=8))  # type: ignore[arg-type]

    threads = [threading.Thread(target=wait) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [c.id if c else None for c in found] == ["Shown", "Shown"]
    assert twitch.calls == [["Shown"]]
    assert confirmer.wait_visible(None, "Never", group="g", timeout=0, elapsed=20) is None  # type: ignore[arg-type]
    assert twitch.calls[1:] == [["Never"]]


def test_the_last_look_before_a_verdict_is_the_last_call() -> None:
    """Past every delay seen, one look now and one just before the verdict; no burst of calls
    while the verdict's last instants run out."""
    twitch = CountedLooks()
    confirmer = ClipConfirmer(twitch)  # type: ignore[arg-type]
    assert confirmer.wait_visible(None, "Never", group="g", timeout=1.0, elapsed=14.0) is None  # type: ignore[arg-type]
    assert twitch.calls == [["Never"], ["Never"]]


def test_recovery_matches_title_and_creator_and_never_takes_a_held_clip() -> None:
    at = T0
    job = approve_free_job("Clutch")
    lost = [LostCreate(job, at)]
    clips = [
        clip("Held", at=at, title="Clutch"),
        clip("Far", at=at + timedelta(seconds=100), title="Clutch"),
        clip("Near", at=at + timedelta(seconds=2), title="Clutch"),
        clip("Other", at=at, title="Clutch", creator="42"),
        clip("Wrong", at=at, title="Something else"),
    ]
    found = match_lost_clips(clips, lost, creator_id=CHANNEL, held=lambda c, _: c == "Held")
    assert found[job.job_id].id == "Near"
    untitled = approve_free_job(None)
    two = [clip("A", at=at, title="Stream title"), clip("B", at=at, title="Stream title")]
    assert match_lost_clips(two, [LostCreate(untitled, at)], creator_id=CHANNEL, held=no) == {}
    one = match_lost_clips(two[:1], [LostCreate(untitled, at)], creator_id=CHANNEL, held=no)
    assert one[untitled.job_id].id == "A"


def no(clip_id: str, job_id: str) -> bool:
    return False


def approve_free_job(title: str | None) -> ClipJob:
    fields = live_fields(broadcaster_id=CHANNEL, suggested_title=title)
    return new_job(f"cc_{title}", new_candidate(fields), approved_by="op", now=T0)


# ------------------------------------------------------- the Helix client's deadlines


def test_no_try_is_sent_when_it_could_not_end_by_the_deadline(world: World) -> None:  # noqa: F811
    tokens = world.tokens()
    with pytest.raises(DeadlineReached) as caught:
        world.client.create_clip(tokens, broadcaster_id=BROADCASTER, deadline=world.time.now + 0.5)
    assert caught.value.retry_at is not None
    assert world.count(("POST", "/helix/clips")) == 0


def test_a_retry_past_send_by_is_handed_back_not_sent(world: World) -> None:  # noqa: F811
    world.sim.inject_fault("POST /helix/clips", "status", status=503, times=1)
    with pytest.raises(ClipUnknown) as caught:
        world.client.create_clip(
            world.tokens(), broadcaster_id=BROADCASTER, send_by=world.time.now + 0.5
        )
    assert caught.value.retry_at is not None
    assert world.statuses(("POST", "/helix/clips")) == [503]
    assert world.time.sleeps == []


def test_clips_by_broadcaster_searches_the_creation_window(world: World) -> None:  # noqa: F811
    early = world.create_clip_directly()
    world.time.now += 300
    late = world.create_clip_directly()
    now = datetime.fromtimestamp(world.time.now, tz=UTC)
    page = world.client.get_clips_by_broadcaster(
        world.tokens(),
        BROADCASTER,
        started_at=now - timedelta(seconds=30),
        ended_at=now + timedelta(seconds=30),
    )
    assert [c.id for c in page.clips] == [late]
    everything = world.client.get_clips_by_broadcaster(world.tokens(), BROADCASTER)
    assert {c.id for c in everything.clips} == {early, late}
    [call] = [c for c in world.sim.calls if c.query.get("started_at")]
    assert call.query["started_at"][0].endswith("Z") and call.query["ended_at"][0].endswith("Z")


# ------------------------------------------------------ the learned confirmation pace


def test_looks_follow_the_delays_seen_lately() -> None:
    delays = VisibilityDelays(min_samples=4, step=0.1, min_gap=0.2, max_gap=3.0)
    # Twitch's usual 1-6 s until it has seen any; a clip alone pays each call, so looks later
    assert 1.0 <= delays.next_look(None, sharing=3) <= 1.5
    assert delays.next_look(None) > delays.next_look(None, sharing=3)
    for seconds in (20.0, 21.0, 22.0, 23.0, 24.0):
        delays.observe(seconds)
    first = delays.next_look(None, sharing=3)
    assert 20.0 <= first <= 21.0  # clips lately take 20 s: no look before then
    assert delays.next_look(first, sharing=3) - first <= 1.0
    assert delays.next_look(30.0) >= 33.0  # past everything seen: sparse looks


def test_past_the_usual_delays_a_slow_clips_looks_back_off_geometrically() -> None:
    """Past 90 % of the delays seen, the time since that point doubles with each look, past
    the usual longest gap: a slow clip pays few calls of its own (late confirmation exists)."""
    delays = VisibilityDelays(min_samples=4, step=0.1, min_gap=0.2, max_gap=3.0)
    for seconds in (1.0, 2.0, 3.0, 4.0, 5.0):
        delays.observe(seconds)
    assert delays.quantile(0.9) == pytest.approx(4.6)
    assert delays.next_look(4.7) == pytest.approx(4.9)  # just past it: the least gap
    assert delays.next_look(6.0) == pytest.approx(7.4)
    assert delays.next_look(10.0) == pytest.approx(15.4)
    assert delays.next_look(3.0) - 3.0 <= 3.0  # before it: the learned pace


def wait_all(confirmer: ClipConfirmer, clips: dict[str, float], timeout: float) -> None:
    """Wait on each of `clips` (id -> seconds since its 202) at once, in one group."""
    threads = [
        threading.Thread(
            target=confirmer.wait_visible,
            args=(None, clip_id),
            kwargs={"group": "g", "timeout": timeout, "elapsed": elapsed},
        )
        for clip_id, elapsed in clips.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 5)


def test_a_slow_clip_keeps_to_its_own_looks_instead_of_riding_every_call() -> None:
    """Past 90 % of the usual delays a clip is looked at on its own sparse schedule, not in
    every call made for a younger clip; one too young to show rides no call either."""
    delays = VisibilityDelays()
    assert not delays.rides(0.5) and delays.rides(3.0) and delays.rides(7.0)
    assert not delays.rides(8.0)  # 2 s (max_gap) past 90 % of the usual 1-6 s
    twitch = CountedLooks()
    wait_all(ClipConfirmer(twitch), {"Slow": 9.0, "Fresh": 2.0}, timeout=2.0)  # type: ignore[arg-type]
    fresh = sum("Fresh" in ids for ids in twitch.calls)
    slow = sum("Slow" in ids for ids in twitch.calls)
    assert slow == 2, twitch.calls  # the first call, and its last look before the verdict
    assert fresh >= 3, twitch.calls


@dataclass
class TimedLooks(CountedLooks):
    at: list[float] = field(default_factory=list)

    def get_clips(self, tokens: Any, ids: list[str], **_: Any) -> list[Clip]:
        self.at.append(time.monotonic())
        return super().get_clips(tokens, ids)


def test_a_slow_clips_look_waits_for_a_call_made_anyway() -> None:
    """Alone and past the usual delays, a clip's next look waits TAIL_SLACK_SECONDS (2 s) for
    another clip's call before making its own; its last look before the verdict does not."""
    twitch = TimedLooks()
    wait_all(ClipConfirmer(twitch), {"Slow": 8.0}, timeout=5.0)  # type: ignore[arg-type]
    assert len(twitch.at) == 3, twitch.calls  # now, after the slack, just before the verdict
    assert twitch.at[1] - twitch.at[0] >= 4.0  # its own look would come after 2.5 s


def test_calls_shared_by_few_clips_come_further_apart() -> None:
    """Three clips riding the calls: a call every RIDE_SECONDS / 3 = 1 s, not every 0.4 s, so
    each clip's share stays about one call per RIDE_SECONDS."""
    twitch = CountedLooks()
    wait_all(ClipConfirmer(twitch), {"A": 2.0, "B": 2.1, "C": 2.2}, timeout=3.0)  # type: ignore[arg-type]
    assert 3 <= len(twitch.calls) <= 5, twitch.calls
    assert all(len(ids) == 3 for ids in twitch.calls[1:]), twitch.calls  # once all arrived


@dataclass
class StuckFirstLook:
    """Get Clips whose first call hangs `stuck` seconds and sees nothing; later calls see
    every clip."""

    stuck: float
    calls: list[float] = field(default_factory=list)

    def now(self) -> float:
        return time.time()

    def get_clips(self, tokens: Any, ids: list[str], **_: Any) -> list[Clip]:
        self.calls.append(time.monotonic())
        if len(self.calls) == 1:
            time.sleep(self.stuck)
            return []
        return [clip(i, at=T0) for i in ids]


def test_a_stuck_look_does_not_hold_up_the_next_one() -> None:
    """A call stuck on Twitch's side is looked past after a second: the clip is confirmed by
    the next call, not after the stuck one gives up."""
    twitch = StuckFirstLook(stuck=3.0)
    confirmer = ClipConfirmer(twitch)  # type: ignore[arg-type]
    started = time.monotonic()
    found = confirmer.wait_visible(None, "Shown", group="g", timeout=10, elapsed=8)  # type: ignore[arg-type]
    assert found is not None and found.id == "Shown"
    assert time.monotonic() - started < 2.5
    assert len(twitch.calls) == 2


# ------------------------------------------------------------- end to end (must show)


class ShiftedClock:
    """The simulator's clock, which a test moves ahead instead of waiting."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift


@pytest.fixture(scope="module")
def shifted() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture(scope="module")
def sim_clock(shifted: ShiftedClock) -> ShiftedClock:
    """`sim` and `functions` come from tests/conftest.py, on a clock a test moves ahead."""
    return shifted


@pytest.fixture(scope="module")
def clip_visible_after() -> float:
    return 0.5


_ids = iter(range(91_000, 99_000))


def creates_for(sim: HelixSimulator, channel: str) -> int:
    return sum(
        1
        for c in sim.calls
        if (c.method, c.path) == ("POST", "/helix/clips") and c.query["broadcaster_id"] == [channel]
    )


def assert_no_token_logged(db: firestore.Client, channel: str, *servers: FunctionServer) -> None:
    """The log scan of SPEC 4: neither of the channel's tokens in any process's log."""
    stored = db.collection("twitch_tokens").document(channel).get().to_dict() or {}
    logs = "".join(server.log_tail(10**9) for server in servers)
    for name in ("access_token", "refresh_token"):
        assert stored.get(name) and stored[name] not in logs


def every(functions: Functions) -> tuple[FunctionServer, ...]:
    return (functions.worker, functions.sweeper, functions.tokens)


def test_a_clip_visible_only_after_40_s_ends_ready_late(db, sim, shifted, functions):
    channel = str(next(_ids))
    connect_channel(sim, db, channel)
    sim.next_clip_visible_after([40.0])
    with TriggerRelay(db, functions.worker.url, skip_existing=True):
        job = approve_moment(db, channel)
        failed = wait_for_job(db, job.job_id, timeout=40)
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, ErrorCode.CREATE_TIMEOUT)
    assert failed.edit_url and failed.late_check_until is not None
    assert "Twitch is still asked until" in (failed.error_detail or "")
    assert functions.sweep()["late_confirmed"] == []
    shifted.shift += 30.0  # 46 s after the 202: Twitch shows it now
    assert functions.sweep()["late_confirmed"] == [job.job_id]
    ready = wait_for_job(db, job.job_id, timeout=5)
    assert ready.status is JobStatus.READY and ready.late_confirmed_at is not None
    assert ready.twitch_clip_id == failed.twitch_clip_id and ready.edit_url == failed.edit_url
    assert ready.clip_url and ready.error_code is None
    assert creates_for(sim, channel) == 1
    assert_no_token_logged(db, channel, *every(functions))


def test_a_worker_killed_between_the_202_and_the_save_ends_ready(
    db, sim, functions, firestore_emulator
):
    channel = str(next(_ids))
    connect_channel(sim, db, channel)
    env = function_env(
        sim,
        firestore_emulator.host,
        BYTECLIPS_WORKER_LEASE_SECONDS="3",
        **{CRASH_ENV: "after_create=1"},
    )
    with lone_worker(db, env) as doomed:
        job = approve_moment(db, channel)
        deadline = time.monotonic() + 20
        while "crash point after_create" not in doomed.log_tail() and time.monotonic() < deadline:
            time.sleep(0.1)
        # The serving process ended right after Twitch's 202 (its server starts another).
        assert "crash point after_create" in doomed.log_tail()
        assert_no_token_logged(db, channel, doomed)
    crashed = ClipJobStore(db).require(job.job_id)
    assert crashed.status is JobStatus.CREATING and crashed.twitch_clip_id is None
    assert creates_for(sim, channel) == 1
    time.sleep(3.0)  # the dead worker's lease runs out
    outcomes = functions.sweep_until_finished(job.job_id)
    assert outcomes[-1] == "ready: found on the channel", outcomes
    ready = ClipJobStore(db).require(job.job_id)
    assert ready.status is JobStatus.READY and ready.twitch_clip_id and ready.edit_url
    assert sim.clip_timeline(ready.twitch_clip_id) is not None
    assert creates_for(sim, channel) == 1
    assert_no_token_logged(db, channel, *every(functions))


def test_a_worker_killed_while_confirming_is_confirmed_by_the_redelivery(
    db, sim, firestore_emulator
):
    """Killed right after saving the 202, holding a 60 s lease: the event Eventarc delivers
    again confirms the clip in the next process at once (§5.1), with no sweep, no second
    claim and one create."""
    channel = str(next(_ids))
    connect_channel(sim, db, channel)
    env = function_env(sim, firestore_emulator.host, **{CRASH_ENV: "after_save=1"})
    with lone_worker(db, env) as doomed:
        job = approve_moment(db, channel)
        ready = wait_for_job(db, job.job_id, timeout=30)
        assert "crash point after_save" in doomed.log_tail()
        assert_no_token_logged(db, channel, doomed)
    assert ready.status is JobStatus.READY and ready.clip_url and ready.edit_url
    assert ready.lease_seq == 1  # nobody took the job over
    assert ready.ready_at and ready.clip_created_at
    assert ready.ready_at - ready.clip_created_at < timedelta(seconds=25)  # not a lease's wait
    assert creates_for(sim, channel) == 1


def test_a_create_slower_than_the_lease_makes_one_clip_and_keeps_it(
    db, sim, functions, firestore_emulator
):
    channel = str(next(_ids))
    connect_channel(sim, db, channel)
    env = function_env(sim, firestore_emulator.host, BYTECLIPS_WORKER_LEASE_SECONDS="3")
    sim.inject_fault("POST /helix/clips", "slow", delay=5.0)
    with lone_worker(db, env) as slow:
        job = approve_moment(db, channel)
        looking = wait_for_job(db, job.job_id, lambda j: j.create_sent_at is not None, 20)
        assert_no_token_logged(db, channel, slow)
    assert looking.status is JobStatus.CREATING and looking.twitch_clip_id is None
    assert "looked for on the channel until" in (looking.error_detail or "")
    outcomes = functions.sweep_until_finished(job.job_id)
    assert outcomes[-1] == "ready: found on the channel", outcomes
    ready = ClipJobStore(db).require(job.job_id)
    assert ready.status is JobStatus.READY and ready.clip_url and ready.edit_url
    assert creates_for(sim, channel) == 1
    assert_no_token_logged(db, channel, *every(functions))


def test_the_jobs_page_says_until_when_twitch_is_still_asked() -> None:
    job = approve_free_job("Shown").model_copy(
        update={
            "status": JobStatus.FAILED,
            "error_code": ErrorCode.CREATE_TIMEOUT,
            "late_check_until": T0 + LATE_CHECK,
        }
    )
    assert still_checking_text(job, T0) == (
        "Still checking until 20:10 UTC: the job turns ready by itself if Twitch shows the clip."
    )
    later = T0 + LATE_CHECK + timedelta(seconds=1)
    assert still_checking_text(job, later) == (
        "Checked until 20:10 UTC; Twitch never showed the clip."
    )
    confirmed = job.model_copy(
        update={"status": JobStatus.READY, "late_check_until": None, "late_confirmed_at": T0}
    )
    assert (still_checking_text(confirmed, T0) or "").startswith("Confirmed late at 20:00 UTC")
    assert still_checking_text(job.model_copy(update={"late_check_until": None}), T0) is None


def test_the_simulator_refuses_a_bad_window_and_draws_random_faults(
    world: World,  # noqa: F811
) -> None:
    answer = requests.get(
        f"{world.sim.api_base}/clips",
        params={"broadcaster_id": BROADCASTER, "started_at": "yesterday"},
        headers={"Authorization": f"Bearer {world.access}", "Client-Id": CLIENT_ID_HELIX},
        timeout=5,
    )
    assert answer.status_code == 400 and "RFC3339" in answer.json()["message"]
    world.sim.random_fault("GET /helix/clips", "status", 1.0, status=503, seed=1)
    with pytest.raises(ClipUnknown):
        world.client.get_clips(world.tokens(), ["Any-1"], retry=False)
    assert world.sim.random_faults_served == {"status 503": 1}
    made = world.create_clip_directly()
    assert [c["id"] for c in world.sim.clips_made()] == [made]
