"""The clip job state machine (every pair of states) and job creation rules."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from shared.domain.clip_candidate import new_candidate
from shared.domain.clip_job import (
    TRANSITIONS,
    ApprovalEdits,
    JobStatus,
    can_transition,
    check_transition,
    manual_retry_fields,
    new_job,
)
from shared.domain.errors import ErrorCode, InvalidInput, RetryLimitReached, TransitionRefused
from tests.factories import live_fields, vod_fields

NOW = datetime(2026, 11, 24, 20, 0, 30, tzinfo=UTC)
Q, C, P, R, F = (
    JobStatus.QUEUED,
    JobStatus.CREATING,
    JobStatus.POLLING,
    JobStatus.READY,
    JobStatus.FAILED,
)
ALLOWED = {(Q, C), (Q, F), (C, P), (C, Q), (C, F), (P, R), (P, F), (F, Q)}


@pytest.mark.parametrize(("src", "dst"), list(product(JobStatus, JobStatus)))
def test_every_pair_of_states(src, dst):
    expected = (src, dst) in ALLOWED
    assert can_transition(src, dst) is expected
    if expected:
        check_transition(src, dst, "job_1")
    else:
        with pytest.raises(TransitionRefused, match=f"'{src.value}' to '{dst.value}'"):
            check_transition(src, dst, "job_1")


def test_table_matches_the_spec_list():
    listed = {(s, d) for s, targets in TRANSITIONS.items() for d in targets}
    assert listed == ALLOWED
    assert TRANSITIONS[R] == frozenset()


def test_unknown_status_names_are_refused():
    assert not can_transition("queued", "done")
    assert not can_transition("paused", "queued")


def job(**changes):
    return new_job("cc_1", new_candidate(live_fields(**changes)), approved_by="op", now=NOW)


def test_new_job_copies_the_candidate():
    created = job()
    assert created.status is Q
    assert created.job_id == "job_cc_1"
    assert created.candidate_source == "chat_spike"
    assert created.requested_title == "What a save"
    assert created.approved_by == "op"
    assert created.attempts == 0


def test_new_vod_job_rules():
    candidate = new_candidate(vod_fields(suggested_title=None, vod_offset=40))
    with pytest.raises(InvalidInput) as caught:
        new_job("cc_2", candidate, approved_by="op", now=NOW)
    assert caught.value.fields == ["title"]
    with pytest.raises(InvalidInput) as caught:
        new_job(
            "cc_2",
            candidate,
            edits=ApprovalEdits(title="t", duration=45),
            approved_by="op",
            now=NOW,
        )
    assert caught.value.fields == ["duration"]


def test_manual_retry_fields_and_limit():
    failed = job().model_copy(
        update={"status": F, "error_code": ErrorCode.FORBIDDEN, "attempts": 3}
    )
    fields = manual_retry_fields(failed, limit=1, now=NOW)
    assert fields["status"] == "queued"
    assert fields["manual_retries"] == 1
    assert fields["attempts"] == 0
    assert fields["error_code"] is None
    with pytest.raises(RetryLimitReached):
        manual_retry_fields(failed.model_copy(update={"manual_retries": 1}), limit=1, now=NOW)
    with pytest.raises(TransitionRefused):
        manual_retry_fields(job(), limit=3, now=NOW)
