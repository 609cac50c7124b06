"""The moment planner over moment ages, durations, reaction lags and stream states."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.moment_plan import (
    ARCHIVE_GRACE,
    CREATE_MARGIN,
    Archive,
    MomentPlan,
    PlanMode,
    StreamState,
    live_published,
    plan_moment,
    vod_published,
)

NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
STREAM = "40000000001"
STARTED = NOW - timedelta(hours=2)
PRE, POST = 10.0, 5.0


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def live(
    started: datetime = STARTED, *, archive_at: datetime | None = None, archived: bool = True
) -> StreamState:
    archives = (Archive("900001", archive_at or started, STREAM, 3600.0),) if archived else ()
    return StreamState(True, STREAM, started, archives)


def plan(age: float, duration: float = 30.0, stream: StreamState | None = None) -> MomentPlan:
    return plan_moment(
        NOW - s(age),
        now=NOW,
        requested_duration=duration,
        stream=stream or live(),
        pre_roll=PRE,
        post_roll=POST,
    )


def holds(plan_: MomentPlan, moment: datetime, stream: StreamState, *, late: float = 0.0) -> bool:
    """Whether what the plan publishes holds [moment - pre (not before the stream), + post]."""
    wanted_start = moment - s(PRE)
    if stream.started_at is not None and stream.live and moment >= stream.started_at:
        wanted_start = max(wanted_start, stream.started_at)
    if plan_.mode is PlanMode.LIVE:
        created = max(NOW, plan_.not_before or NOW) + s(late)
        start, end = live_published(created, plan_.duration or 0)
    else:
        archive = next(a for a in stream.archives if a.vod_id == plan_.vod_id)
        start, end = vod_published(archive.created_at, plan_.vod_offset or 0, plan_.duration or 0)
        wanted_start = max(wanted_start, archive.created_at)
    return start <= wanted_start and moment + s(POST) <= end


# age (s), requested duration, expected mode, expected duration, expected label
TABLE = [
    (5, 30, PlanMode.LIVE, 30, "live 30 s"),
    (18, 30, PlanMode.LIVE, 30, "live 30 s"),  # exactly at the window limit: 18 + 10 + 2 = 30
    (18.1, 30, PlanMode.LIVE, 31, "live extended to 31 s"),  # just past it
    (40, 30, PlanMode.LIVE, 52, "live extended to 52 s"),
    (40, 60, PlanMode.LIVE, 60, "live 60 s"),
    (48, 30, PlanMode.LIVE, 60, "live extended to 60 s"),  # the 60 s cap, reached exactly
    (48.1, 30, PlanMode.VOD, 30, "VOD at 1:59:12"),  # one tenth beyond the cap
    (48.1, 60, PlanMode.VOD, 60, "VOD at 1:59:12"),
    (90, 30, PlanMode.VOD, 30, "VOD at 1:58:30"),
    (150, 30, PlanMode.VOD, 30, "VOD at 1:57:30"),
    (150, 10, PlanMode.VOD, 15, "VOD at 1:57:30"),  # at least pre + post
    (3, 5, PlanMode.LIVE, 17, "live extended to 17 s"),  # waits for the post-roll too
    (3600, 30, PlanMode.VOD, 30, "VOD at 1:00:00"),
]


@pytest.mark.parametrize(("age", "duration", "mode", "planned", "label"), TABLE)
def test_live_stream_table(age, duration, mode, planned, label):
    result = plan(age, duration)
    assert (result.mode, result.duration, result.label) == (mode, planned, label)
    assert result.age_seconds == pytest.approx(age)
    assert holds(result, NOW - s(age), live())
    assert holds(result, NOW - s(age), live(), late=CREATE_MARGIN)
    if mode is PlanMode.VOD:
        assert result.vod_id == "900001"
        assert result.vod_offset == pytest.approx(7200 - age + POST, abs=1)
        assert result.vod_offset >= result.duration
        assert "VOD 900001" in result.reason


def test_vod_offset_is_the_end_of_the_moment_plus_post_roll_from_the_archive_start():
    result = plan(150)
    assert result.vod_offset == 7055  # 2 h - 150 s + 5 s
    assert "ending at 1:57:35" in result.reason


def test_a_moment_that_has_not_finished_airing_waits_for_its_post_roll():
    result = plan(0)
    assert result.mode is PlanMode.LIVE and result.duration == 30
    assert result.not_before == NOW + s(POST)
    assert "22:00:05 UTC" in result.reason
    assert plan(5).not_before is None


@pytest.mark.parametrize("lag", [5, 10, 15])
@pytest.mark.parametrize(
    ("operator_delay", "mode"),
    [(0, PlanMode.LIVE), (10, PlanMode.LIVE), (30, PlanMode.LIVE), (120, PlanMode.VOD)],
)
def test_reaction_lag_is_not_taken_off_twice(lag, operator_delay, mode):
    """Chat reacts `lag` after the moment; the detector wrote source_ts = reaction - lag."""
    reaction = NOW - s(operator_delay)
    source_ts = reaction - s(lag)
    result = plan_moment(
        source_ts, now=NOW, requested_duration=30, stream=live(), pre_roll=PRE, post_roll=POST
    )
    assert result.mode is mode
    age = lag + operator_delay
    if mode is PlanMode.LIVE:
        assert result.duration == max(30, min(60, age + PRE + CREATE_MARGIN))
    assert holds(result, source_ts, live(), late=CREATE_MARGIN)


def test_stream_just_started_clip_begins_with_it():
    stream = live(NOW - s(8))
    result = plan(5, stream=stream)
    assert (result.mode, result.duration) == (PlanMode.LIVE, 30)
    assert "just started" in result.reason
    assert holds(result, NOW - s(5), stream)


def test_moment_before_the_stream_started_cannot_be_clipped():
    result = plan(12, stream=live(NOW - s(8)))
    assert result.mode is PlanMode.IMPOSSIBLE and result.duration is None
    assert "before this broadcast started" in result.reason
    assert result.label.startswith("cannot contain the moment: ")


def test_moment_before_the_stream_started_is_found_in_the_previous_archive():
    earlier = Archive("899999", NOW - s(3 * 3600), "39999999999", 3 * 3600 - 60)
    stream = StreamState(True, STREAM, NOW - s(30), (live(NOW - s(30)).archives[0], earlier))
    result = plan(120, stream=stream)
    assert (result.mode, result.vod_id) == (PlanMode.VOD, "899999")
    assert "an earlier broadcast" in result.reason
    assert holds(result, NOW - s(120), stream)


def test_archive_appearing_late_makes_the_job_wait_then_gives_up():
    fresh = plan(70, stream=live(NOW - s(90), archived=False))
    assert fresh.mode is PlanMode.WAIT and not fresh.creates
    assert fresh.not_before is not None and fresh.not_before > NOW
    assert "has not listed this broadcast's archive yet" in fresh.reason
    late = plan(70, stream=live(NOW - ARCHIVE_GRACE - s(1), archived=False))
    assert late.mode is PlanMode.IMPOSSIBLE
    assert "past broadcasts look switched off" in late.reason


def test_archive_appearing_late_does_not_hold_up_a_live_clip():
    result = plan(20, stream=live(NOW - s(60), archived=False))
    assert (result.mode, result.duration) == (PlanMode.LIVE, 32)


def test_moment_older_than_the_archive_start():
    stream = live(NOW - s(200), archive_at=NOW - s(120))
    result = plan(150, stream=stream)
    assert result.mode is PlanMode.IMPOSSIBLE
    assert "before this broadcast's archive begins" in result.reason


def test_moment_at_the_very_start_of_the_archive_keeps_offset_at_least_duration():
    stream = live(NOW - s(103))
    result = plan(100, stream=stream)
    assert result.mode is PlanMode.VOD
    assert (result.duration, result.vod_offset) == (30, 30)
    assert holds(result, NOW - s(100), stream)


def test_offline_without_archive():
    result = plan(5, stream=StreamState(False))
    assert result.mode is PlanMode.IMPOSSIBLE
    assert "not live and has no archive" in result.reason


def test_offline_with_the_finished_archive_holding_the_moment():
    archive = Archive("900002", NOW - s(3600), "39999999998", 3590.0)
    stream = StreamState(False, archives=(archive,))
    result = plan(12, stream=stream)  # 2 s before the archive ends: the post-roll stops there
    assert (result.mode, result.vod_id, result.vod_offset) == (PlanMode.VOD, "900002", 3590)
    assert result.duration == 30


def test_offline_with_archives_that_do_not_hold_the_moment():
    archive = Archive("900002", NOW - s(7200), "39999999998", 3600.0)
    result = plan(60, stream=StreamState(False, archives=(archive,)))
    assert result.mode is PlanMode.IMPOSSIBLE
    assert "none of its archives holds the moment" in result.reason


def test_moment_in_the_future():
    result = plan(-30)
    assert result.mode is PlanMode.IMPOSSIBLE and "ahead of this clock" in result.reason
    skew = plan(-3)
    assert skew.mode is PlanMode.LIVE and skew.not_before == NOW + s(8)


def test_every_created_plan_holds_its_moment():
    """Random ages, durations, stream ages and create delays up to the margin."""
    rng = random.Random(11)
    for _ in range(2000):
        age = rng.choice([rng.uniform(-4, 60), rng.uniform(0, 7000)])
        started = NOW - s(rng.uniform(max(age, 0) + 1, 7200))
        stream = live(started, archive_at=started)
        result = plan(age, rng.choice([5, 10, 20, 30, 45, 60]), stream)
        assert result.creates, result.reason
        if result.mode is PlanMode.VOD:
            assert result.vod_offset >= result.duration
            assert float(result.vod_offset).is_integer()
        assert 5 <= result.duration <= 60
        assert holds(result, NOW - s(age), stream, late=rng.uniform(0, CREATE_MARGIN))
