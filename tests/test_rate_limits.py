"""The two client-side limiters, pure, with a clock that moves only when the test says so."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.domain.rate_limits import HelixBucket, WindowLimiter

T0 = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def reserve_from_threads(reserve: Callable[[], float], threads: int, each: int) -> list[float]:
    """Every wait that `threads` threads got, each reserving `each` times at once."""
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [reserve() for _ in range(each)]
        with lock:
            waits.extend(mine)

    started = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return waits


def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "Ratelimit-Limit": str(limit),
        "Ratelimit-Remaining": str(remaining),
        "Ratelimit-Reset": str(int(reset)),
    }


def reserve_and_go(bucket: HelixBucket, clock: FakeClock) -> float:
    """Reserve, then let the clock run to the moment the call may go (as a sleeping caller)."""
    wait = bucket.reserve()
    clock.advance(wait)
    return wait


# -------------------------------------------------------------------------- HelixBucket


def test_bucket_without_any_headers_never_waits(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    assert [bucket.reserve() for _ in range(1000)] == [0.0] * 1000


def test_bucket_with_plenty_left_goes_at_once(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(800, 500, T0 + 20))
    assert [bucket.reserve() for _ in range(400)] == [0.0] * 400


def test_bucket_spreads_the_last_points_until_reset_then_waits_for_reset(
    clock: FakeClock,
) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(10, 3, T0 + 30))
    waits = [reserve_and_go(bucket, clock) for _ in range(4)]
    assert waits == [0.0, 0.0, 15.0, 15.0]
    assert clock.now == T0 + 30
    assert reserve_and_go(bucket, clock) == 0.0


def test_bucket_at_zero_waits_exactly_until_reset(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(800, 0, T0 + 42))
    assert bucket.reserve() == 42.0
    assert bucket.reserve() == 42.0


def test_bucket_low_water_mark_is_a_fraction_of_the_limit(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(800, 82, T0 + 60))
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 0.0
    third = bucket.reserve()
    assert 0.0 < third < 1.0


def test_bucket_is_full_again_once_reset_has_passed(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(5, 0, T0 + 10))
    clock.advance(10)
    assert [bucket.reserve() for _ in range(3)] == [0.0] * 3


def test_latest_headers_win_over_local_counting(clock: FakeClock) -> None:
    bucket = HelixBucket(clock)
    bucket.observe(headers(10, 1, T0 + 60))
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == 60.0
    bucket.observe(headers(10, 9, T0 + 6))
    assert bucket.reserve() == 0.0


def test_bucket_reads_header_names_in_any_case_and_ignores_garbled_ones(
    clock: FakeClock,
) -> None:
    bucket = HelixBucket(clock)
    bucket.observe({"ratelimit-limit": "800", "RATELIMIT-REMAINING": "0", "Ratelimit-Reset": "x"})
    assert bucket.reserve() == 0.0
    bucket.observe({"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0"})
    assert bucket.reserve() == 0.0
    bucket.observe({"ratelimit-limit": "800", "RATELIMIT-REMAINING": "0", "ratelimit-reset": "1"})
    assert bucket.reserve() == 0.0
    bucket.observe(
        {"ratelimit-limit": "800", "RATELIMIT-REMAINING": "0", "ratelimit-reset": str(T0 + 5)}
    )
    assert bucket.reserve() == 5.0


def test_bucket_counts_concurrent_reservations_exactly_once(clock: FakeClock) -> None:
    bucket = HelixBucket(clock, low_water_fraction=0.0)
    bucket.observe(headers(1000, 400, T0 + 60))
    waits = reserve_from_threads(bucket.reserve, threads=8, each=50)
    assert len(waits) == 400
    assert sorted(waits)[-2:] == [0.0, 30.0]
    assert bucket.reserve() == 60.0


def test_bucket_refuses_a_silly_low_water_fraction(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        HelixBucket(clock, low_water_fraction=1.0)


# ------------------------------------------------------------------------- WindowLimiter


def test_window_lets_n_calls_through_then_waits_for_the_oldest_to_leave(
    clock: FakeClock,
) -> None:
    limiter = WindowLimiter(100, clock=clock)
    assert [limiter.reserve() for _ in range(100)] == [0.0] * 100
    clock.advance(15)
    assert limiter.reserve() == 45.0


def test_window_is_rolling(clock: FakeClock) -> None:
    limiter = WindowLimiter(3, clock=clock)
    for _ in range(3):
        assert limiter.reserve() == 0.0
        clock.advance(10)
    assert clock.now == T0 + 30
    assert limiter.reserve() == 30.0
    assert limiter.reserve() == 40.0
    clock.advance(40)
    assert limiter.reserve() == 10.0


def test_window_never_lets_more_than_n_calls_into_any_minute(clock: FakeClock) -> None:
    limiter = WindowLimiter(7, clock=clock)
    times = []
    for step in range(60):
        times.append(clock.now + limiter.reserve())
        clock.advance(step % 5)
    for start in times:
        assert sum(1 for t in times if start <= t < start + 60) <= 7


def test_window_reservations_from_many_threads_stay_in_their_minutes(clock: FakeClock) -> None:
    limiter = WindowLimiter(50, clock=clock)
    waits = reserve_from_threads(limiter.reserve, threads=20, each=10)
    assert sorted(waits) == [0.0] * 50 + [60.0] * 50 + [120.0] * 50 + [180.0] * 50


@pytest.mark.parametrize(("calls", "window"), [(0, 60.0), (5, 0.0)])
def test_window_refuses_silly_settings(clock: FakeClock, calls: int, window: float) -> None:
    with pytest.raises(ValueError):
        WindowLimiter(calls, window, clock=clock)
