"""The retry policy (docs/architecture.md §6.2) as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import ErrorCode, operator_message
from shared.domain.retry_policy import RetryAction, RetryLimits, backoff, decide, rate_limit_reset

NOW = datetime(2026, 11, 24, 20, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, ErrorCode.BAD_REQUEST), (403, ErrorCode.FORBIDDEN), (404, ErrorCode.NOT_FOUND)],
)
def test_client_errors_are_final_on_first_try(status, code):
    decision = decide(status, {}, 1, NOW)
    assert decision.action is RetryAction.FINAL
    assert decision.error_code is code
    assert decision.operator_message == operator_message(code)
    assert decision.retry_at is None


def test_401_refreshes_once_then_stops():
    first = decide(401, {}, 1, NOW)
    assert first.action is RetryAction.RETRY_NOW
    assert first.refresh_token
    second = decide(401, {}, 2, NOW, token_refreshed=True)
    assert second.action is RetryAction.FINAL
    assert second.error_code is ErrorCode.UNAUTHORIZED
    assert "Reconnect Twitch" in second.operator_message


def test_429_waits_until_reset():
    reset = NOW + timedelta(seconds=17)
    decision = decide(429, {"ratelimit-reset": str(int(reset.timestamp()))}, 1, NOW)
    assert decision.action is RetryAction.RETRY_AT
    assert decision.retry_at == reset
    assert decision.error_code is ErrorCode.RATE_LIMITED


def test_429_reset_already_past_retries_now():
    past = str(int((NOW - timedelta(seconds=1)).timestamp()))
    assert decide(429, {"Ratelimit-Reset": past}, 1, NOW).action is RetryAction.RETRY_NOW


def test_429_without_reset_header_falls_back():
    decision = decide(429, {}, 1, NOW, limits=RetryLimits(rate_limit_fallback_seconds=60))
    assert decision.retry_at == NOW + timedelta(seconds=60)
    assert decide(429, {"Ratelimit-Reset": "soon"}, 1, NOW).retry_at == NOW + timedelta(seconds=60)


def test_429_has_an_attempt_limit():
    limits = RetryLimits(max_rate_limit_tries=3)
    assert decide(429, {}, 2, NOW, limits=limits).action is RetryAction.RETRY_AT
    final = decide(429, {}, 3, NOW, limits=limits)
    assert final.action is RetryAction.FINAL
    assert final.error_code is ErrorCode.RATE_LIMITED


@pytest.mark.parametrize("status", [500, 502, 503, None])
def test_server_errors_and_timeouts_three_tries_with_backoff(status):
    first = decide(status, {}, 1, NOW)
    second = decide(status, {}, 2, NOW)
    third = decide(status, {}, 3, NOW)
    assert (first.action, second.action) == (RetryAction.RETRY_AT, RetryAction.RETRY_AT)
    assert first.retry_at == NOW + timedelta(seconds=1)
    assert second.retry_at == NOW + timedelta(seconds=2)
    assert third.action is RetryAction.FINAL
    assert third.error_code is ErrorCode.UNKNOWN


def test_backoff_is_capped():
    assert backoff(10, RetryLimits(backoff_cap_seconds=5)) == timedelta(seconds=5)


def test_unexpected_status_is_final_unknown():
    decision = decide(418, {}, 1, NOW)
    assert (decision.action, decision.error_code) == (RetryAction.FINAL, ErrorCode.UNKNOWN)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((200, {}, 1, NOW), "success"),
        ((500, {}, 0, NOW), "tries_so_far"),
        ((500, {}, 1, datetime(2026, 1, 1)), "timezone"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        decide(*args)


def test_rate_limit_reset_parsing():
    assert rate_limit_reset({"RateLimit-Reset": "1700000000"}) == datetime.fromtimestamp(
        1700000000, tz=UTC
    )
    assert rate_limit_reset({}) is None
