"""Approval on the emulator: one action, one job, whatever races."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from google.cloud import firestore

from shared.domain.clip_job import ApprovalEdits, ClipJob, JobStatus, job_id_for
from shared.domain.errors import ActionAlreadyDecided, InvalidInput, NotFound
from shared.pipeline import approve as approval
from shared.store.action_queue import ActionQueue, ActionStatus
from shared.store.clip_jobs import COLLECTION as JOBS
from shared.store.clip_jobs import ClipJobStore
from tests.factories import live_fields, vod_fields
from tests.racing import race

T0 = datetime(2026, 11, 24, 20, 0, 10, tzinfo=UTC)


def approve(db: firestore.Client, action_id: str, **kwargs: Any) -> ClipJob:
    """`approve` over the stores of one client (each racer brings its own)."""
    return approval.approve(ActionQueue(db), ClipJobStore(db), action_id, **kwargs)


def test_approve_creates_one_queued_job_and_marks_action(db):
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id
    job = approve(db, action_id, by="op@example.com", now=T0)
    assert job.status is JobStatus.QUEUED
    assert job.job_id == job_id_for(action_id)
    assert job.action_id == action_id
    stored = ClipJob.model_validate(db.collection(JOBS).document(job.job_id).get().to_dict())
    assert stored.status is JobStatus.QUEUED
    assert stored.broadcaster_id == "12345"
    assert stored.requested_duration == 30.0
    assert stored.source_ts == datetime(2026, 11, 24, 20, 0, 1, 250000, tzinfo=UTC)
    action = queue.require(action_id)
    assert action.status is ActionStatus.APPROVED
    assert action.job_id == job.job_id
    assert action.decided_by == "op@example.com"


def test_approve_with_edits(db):
    action_id = ActionQueue(db).submit(live_fields(), now=T0).action_id
    job = approve(db, action_id, by="op", edits=ApprovalEdits(title=" Big  play ", duration=12.5))
    assert job.requested_title == "Big play"
    assert job.requested_duration == 12.5


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        (ApprovalEdits(duration=4.9), "duration"),
        (ApprovalEdits(duration=60.1), "duration"),
        (ApprovalEdits(title="t" * 101), "title"),
    ],
)
def test_bad_edits_write_nothing(db, edits, field):
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id
    with pytest.raises(InvalidInput) as caught:
        approve(db, action_id, by="op", edits=edits)
    assert caught.value.fields == [field]
    assert list(db.collection(JOBS).stream()) == []
    assert queue.require(action_id).status is ActionStatus.PENDING


def test_vod_approval_needs_a_title(db):
    queue = ActionQueue(db)
    action_id = queue.submit(vod_fields(suggested_title=None), now=T0).action_id
    with pytest.raises(InvalidInput, match="title: is required for a VOD clip"):
        approve(db, action_id, by="op")
    job = approve(db, action_id, by="op", edits=ApprovalEdits(title="From the VOD"))
    assert (job.mode, job.vod_id, job.vod_offset) == ("vod", "900001", 120.0)


def test_second_approval_is_refused_clearly(db):
    action_id = ActionQueue(db).submit(live_fields(), now=T0).action_id
    approve(db, action_id, by="op")
    with pytest.raises(ActionAlreadyDecided, match="already decided \\(approved\\)"):
        approve(db, action_id, by="op2")


def test_rejected_action_cannot_be_approved(db):
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id
    queue.reject(action_id, by="op")
    with pytest.raises(ActionAlreadyDecided, match="rejected"):
        approve(db, action_id, by="op")
    assert list(db.collection(JOBS).stream()) == []


def test_unknown_action(db):
    with pytest.raises(NotFound):
        approve(db, "cc_missing", by="op")


def test_racing_approvals_make_exactly_one_job(db, new_client):
    action_id = ActionQueue(db).submit(live_fields(), now=T0).action_id
    results = race(8, new_client, lambda client, i: approve(client, action_id, by=f"op{i}"))
    jobs = [r for r in results if isinstance(r, ClipJob)]
    refused = [r for r in results if isinstance(r, ActionAlreadyDecided)]
    assert len(jobs) == 1, results
    assert len(refused) == 7, results
    assert len(list(db.collection(JOBS).stream())) == 1


def test_approve_racing_reject_has_one_winner(db, new_client):
    queue = ActionQueue(db)
    action_id = queue.submit(live_fields(), now=T0).action_id

    def decide(client, i):
        if i % 2:
            return approve(client, action_id, by=f"op{i}")
        return ActionQueue(client).reject(action_id, by=f"op{i}")

    results = race(6, new_client, decide)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, ActionAlreadyDecided) for r in results if r not in winners), results
    final = queue.require(action_id).status
    jobs = list(db.collection(JOBS).stream())
    assert (final is ActionStatus.APPROVED) == (len(jobs) == 1)
    assert len(jobs) <= 1
