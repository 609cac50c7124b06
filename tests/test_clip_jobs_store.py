"""clip_jobs on the emulator: checked transitions, leases and claims, manual retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.clip_job import JobStatus
from shared.domain.errors import (
    ErrorCode,
    LeaseLost,
    NotFound,
    RetryLimitReached,
    TransitionRefused,
)
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import Claim, ClipJobStore
from tests.factories import live_fields
from tests.racing import race

T0 = datetime(2026, 11, 24, 20, 0, 10, tzinfo=UTC)


@pytest.fixture
def job_id(db) -> str:
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id
    return approve(queue, ClipJobStore(db), action_id, by="op", now=T0).job_id


def claim(store: ClipJobStore, job_id: str, worker: str, now: datetime) -> Claim | None:
    return store.claim(
        job_id,
        worker=worker,
        lease_seconds=60,
        expect={JobStatus.QUEUED},
        to=JobStatus.CREATING,
        now=now,
    )


def test_claim_moves_job_to_creating_with_a_lease(db, job_id):
    store = ClipJobStore(db)
    won = claim(store, job_id, "w1", T0)
    assert won is not None and won.seq == 1
    job = store.require(job_id)
    assert job.status is JobStatus.CREATING
    assert job.lease_holder == "w1"
    assert job.lease_until == T0 + timedelta(seconds=60)
    assert claim(store, job_id, "w2", T0 + timedelta(seconds=1)) is None


def test_racing_workers_exactly_one_wins(db, new_client, job_id):
    results = race(8, new_client, lambda c, i: claim(ClipJobStore(c), job_id, f"w{i}", T0))
    winners = [r for r in results if isinstance(r, Claim)]
    assert len(winners) == 1, results
    assert all(r is None for r in results if r not in winners), results
    job = ClipJobStore(db).require(job_id)
    assert job.lease_holder == winners[0].worker
    assert job.lease_seq == 1
    assert len(list(ClipJobStore(db).ref(job_id).collection("claims").stream())) == 1


def test_expired_lease_can_be_taken_over_once(db, new_client, job_id):
    store = ClipJobStore(db)
    assert claim(store, job_id, "crashed", T0) is not None
    later = T0 + timedelta(seconds=61)
    assert (
        store.claim(job_id, worker="early", lease_seconds=30, expect={JobStatus.CREATING}, now=T0)
        is None
    )

    def take_over(client, i):
        return ClipJobStore(client).claim(
            job_id, worker=f"sweeper{i}", lease_seconds=30, expect={JobStatus.CREATING}, now=later
        )

    results = race(5, new_client, take_over)
    winners = [r for r in results if isinstance(r, Claim)]
    assert len(winners) == 1, results
    job = store.require(job_id)
    assert job.status is JobStatus.CREATING
    assert job.lease_holder == winners[0].worker
    assert job.lease_seq == 2
    with pytest.raises(LeaseLost):
        store.transition(
            job_id, expect=JobStatus.CREATING, to=JobStatus.POLLING, worker="crashed", now=later
        )


def test_transition_checks_status_and_lease(db, job_id):
    store = ClipJobStore(db)
    claim(store, job_id, "w1", T0)
    with pytest.raises(TransitionRefused, match="moved on"):
        store.transition(job_id, expect=JobStatus.QUEUED, to=JobStatus.CREATING, now=T0)
    with pytest.raises(TransitionRefused, match="not an allowed transition"):
        store.transition(job_id, expect=JobStatus.CREATING, to=JobStatus.READY, now=T0)
    with pytest.raises(LeaseLost):
        store.transition(
            job_id, expect=JobStatus.CREATING, to=JobStatus.POLLING, worker="w2", now=T0
        )
    polling = store.transition(
        job_id,
        expect=JobStatus.CREATING,
        to=JobStatus.POLLING,
        fields={"twitch_clip_id": "Clip1", "edit_url": "https://clips.twitch.tv/Clip1/edit"},
        worker="w1",
        now=T0 + timedelta(seconds=1),
    )
    assert polling.lease_holder == "w1"
    ready = store.transition(
        job_id,
        expect=JobStatus.POLLING,
        to=JobStatus.READY,
        fields={"clip_url": "https://clips.twitch.tv/Clip1"},
        worker="w1",
        now=T0 + timedelta(seconds=3),
    )
    stored = store.require(job_id)
    assert stored == ready
    assert stored.status is JobStatus.READY
    assert (stored.twitch_clip_id, stored.clip_url) == ("Clip1", "https://clips.twitch.tv/Clip1")
    assert stored.lease_holder is None


def test_unknown_job(db):
    with pytest.raises(NotFound):
        ClipJobStore(db).transition("job_x", expect=JobStatus.QUEUED, to=JobStatus.FAILED)


def fail(store: ClipJobStore, job_id: str) -> None:
    store.transition(
        job_id,
        expect=JobStatus.QUEUED,
        to=JobStatus.FAILED,
        fields={"error_code": ErrorCode.NOT_FOUND, "error_detail": "channel offline"},
        now=T0,
    )


def test_manual_retry_respects_its_limit(db, job_id):
    store = ClipJobStore(db)
    fail(store, job_id)
    assert store.require(job_id).error_code is ErrorCode.NOT_FOUND
    for attempt in (1, 2):
        retried = store.retry(job_id, by="op", limit=2, now=T0)
        assert retried.status is JobStatus.QUEUED
        assert retried.manual_retries == attempt
        stored = store.require(job_id)
        assert stored.error_code is None and stored.status is JobStatus.QUEUED
        fail(store, job_id)
    with pytest.raises(RetryLimitReached, match="already retried 2 times"):
        store.retry(job_id, by="op", limit=2, now=T0)
    assert store.require(job_id).status is JobStatus.FAILED


def test_retry_only_from_failed(db, job_id):
    with pytest.raises(TransitionRefused):
        ClipJobStore(db).retry(job_id, by="op", limit=3)


def test_racing_retries_count_once(db, new_client, job_id):
    fail(ClipJobStore(db), job_id)
    results = race(
        6, new_client, lambda c, i: ClipJobStore(c).retry(job_id, by=f"op{i}", limit=3, now=T0)
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert ClipJobStore(db).require(job_id).manual_retries == 1


def test_list_by_status(db, job_id):
    store = ClipJobStore(db)
    assert [j.job_id for j in store.list_by_status(JobStatus.QUEUED)] == [job_id]
    assert store.list_by_status(JobStatus.FAILED) == []


def test_update_fields_keeps_status(db, job_id):
    store = ClipJobStore(db)
    with pytest.raises(ValueError, match="transition"):
        store.update_fields(job_id, {"status": "ready"}, expect={JobStatus.QUEUED})
    updated = store.update_fields(job_id, {"attempts": 2}, expect={JobStatus.QUEUED}, now=T0)
    assert updated.attempts == 2
    assert store.require(job_id).attempts == 2


def test_the_create_windows_lease_is_renewed_only_while_its_claim_holds(db, job_id):
    """The heartbeat's write (docs/architecture.md §5.1): it moves the lease end of its own
    claim while active; not another holder's, not an expired one, not after the 202."""
    store = ClipJobStore(db)
    won = claim(store, job_id, "w1", T0)
    assert won is not None
    later = T0 + timedelta(seconds=70)
    assert not store.renew_lease(job_id, worker="w2", seq=won.seq, until=later, now=T0)
    assert not store.renew_lease(job_id, worker="w1", seq=won.seq + 1, until=later, now=T0)
    assert store.renew_lease(job_id, worker="w1", seq=won.seq, until=later, now=T0)
    assert store.require(job_id).lease_until == later
    assert not store.renew_lease(
        job_id, worker="w1", seq=won.seq, until=later, now=later + timedelta(seconds=1)
    )
    store.transition(job_id, expect=JobStatus.CREATING, to=JobStatus.POLLING, worker="w1", now=T0)
    assert not store.renew_lease(job_id, worker="w1", seq=won.seq, until=later, now=T0)
