"""The retry policy (docs/architecture.md §6.2) as one pure function: what to do after a
failed Twitch call.

400/403/404 are final; 401 gets one token refresh and one retry; 429 waits for
`Ratelimit-Reset`; 5xx and timeouts get at most three tries with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shared.domain.backoff import backoff_seconds
from shared.domain.errors import ErrorCode, operator_message


class RetryAction(StrEnum):
    FINAL = "final"
    RETRY_NOW = "retry_now"
    RETRY_AT = "retry_at"


@dataclass(frozen=True)
class RetryLimits:
    """Tunables of the policy; the defaults are the documented ones (architecture §6.2)."""

    max_server_error_tries: int = 3
    max_rate_limit_tries: int = 5
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 30.0
    rate_limit_fallback_seconds: float = 60.0


@dataclass(frozen=True)
class RetryDecision:
    action: RetryAction
    error_code: ErrorCode
    operator_message: str
    retry_at: datetime | None = None
    refresh_token: bool = False
    detail: str = ""


_FINAL_BY_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def rate_limit_reset(headers: Mapping[str, str]) -> datetime | None:
    """`Ratelimit-Reset` (Unix seconds) as an aware datetime, or None when absent or garbled."""
    raw = _header(headers, "Ratelimit-Reset")
    if raw is None:
        return None
    try:
        return datetime.fromtimestamp(float(raw.strip()), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def backoff(tries_so_far: int, limits: RetryLimits = RetryLimits()) -> timedelta:
    """Exponential backoff: 1 s after the first failure, 2 s after the second, capped."""
    seconds = backoff_seconds(
        tries_so_far - 1, base=limits.backoff_base_seconds, cap=limits.backoff_cap_seconds
    )
    return timedelta(seconds=seconds)


def _final(code: ErrorCode, detail: str) -> RetryDecision:
    return RetryDecision(RetryAction.FINAL, code, operator_message(code), detail=detail)


def _retry(
    code: ErrorCode, detail: str, *, at: datetime | None = None, refresh_token: bool = False
) -> RetryDecision:
    """Retry now, or at `at`; the operator message is the code's, in case it is the last try."""
    action = RetryAction.RETRY_NOW if at is None else RetryAction.RETRY_AT
    return RetryDecision(
        action, code, operator_message(code), at, refresh_token=refresh_token, detail=detail
    )


def decide(
    status: int | None,
    headers: Mapping[str, str],
    tries_so_far: int,
    now: datetime,
    *,
    token_refreshed: bool = False,
    limits: RetryLimits = RetryLimits(),
) -> RetryDecision:
    """Decide after a failed call.

    `status` is the HTTP status, or None for a timeout or a dropped connection.
    `tries_so_far` counts the calls already made, the failed one included.
    `token_refreshed` says whether this job already spent its one 401 refresh.
    """
    if tries_so_far < 1:
        raise ValueError("tries_so_far must count the failed call (>= 1)")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if status is not None and 200 <= status < 300:
        raise ValueError(f"HTTP {status} is a success, not a failure to retry")

    if status in _FINAL_BY_STATUS:
        return _final(_FINAL_BY_STATUS[status], f"Twitch answered HTTP {status}")

    if status == 401:
        if token_refreshed:
            return _final(ErrorCode.UNAUTHORIZED, "HTTP 401 again after refreshing the token")
        return _retry(
            ErrorCode.UNAUTHORIZED,
            "HTTP 401: refreshing the token once, then retrying",
            refresh_token=True,
        )

    if status == 429:
        if tries_so_far >= limits.max_rate_limit_tries:
            return _final(
                ErrorCode.RATE_LIMITED,
                f"HTTP 429 on {tries_so_far} tries (limit {limits.max_rate_limit_tries})",
            )
        reset = rate_limit_reset(headers)
        if reset is None:
            reset = now + timedelta(seconds=limits.rate_limit_fallback_seconds)
        if reset <= now:
            return _retry(ErrorCode.RATE_LIMITED, "HTTP 429 with a reset already past")
        return _retry(
            ErrorCode.RATE_LIMITED,
            f"HTTP 429: waiting until the rate-limit reset at {reset.isoformat()}",
            at=reset,
        )

    what = "a timeout or dropped connection" if status is None else f"HTTP {status}"
    if status is None or status >= 500:
        if tries_so_far >= limits.max_server_error_tries:
            return _final(ErrorCode.UNKNOWN, f"{what} on all {tries_so_far} tries")
        at = now + backoff(tries_so_far, limits)
        detail = f"{what} on try {tries_so_far}; retrying at {at.isoformat()}"
        return _retry(ErrorCode.UNKNOWN, detail, at=at)

    return _final(ErrorCode.UNKNOWN, f"unexpected HTTP {status} from Twitch")
