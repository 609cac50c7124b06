"""Execute Webhook (Discord's documented API), following its rate limits; HTTP only.

`POST {webhook url}?wait=true` with a JSON message answers 200 with the message (204 without
`wait`). Discord's limits are followed as documented: every answer's `X-RateLimit-Remaining`,
`X-RateLimit-Reset-After` (seconds, a float) and `X-RateLimit-Bucket` say when the next post
may go, so a post waits for the bucket to reset instead of earning a 429; a 429 carries
`retry_after` (seconds, a float) in its JSON body (and `Retry-After` in its headers), and the
post is retried after it. Waits longer than `max_wait` are not made: the post fails and says
why. 400, 401, 403 and 404 are final (a bad message, or a webhook deleted or mistyped); 5xx and
no answer are retried a few times with backoff.

The webhook URL holds its token: it is registered as a secret for the logs, and no message or
exception of this module ever contains it (a `requests` error names the URL, so only its type
is kept).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from shared.domain.backoff import backoff_seconds
from shared.domain.text import shorten, visible_text
from shared.logs import register_secret

MAX_ATTEMPTS = 4
MAX_WAIT_SECONDS = 30.0
TIMEOUT_SECONDS = 10.0
_FINAL = {400, 401, 403, 404}


@dataclass(frozen=True)
class WebhookResult:
    """A post's outcome: `detail` is an operator's sentence when it failed (never the URL)."""

    ok: bool
    status: int | None
    message_id: str | None = None
    attempts: int = 1
    rate_limited: int = 0
    waited_seconds: float = 0.0
    detail: str = ""


class WebhookSender(Protocol):
    """Posts one message to Discord; `DiscordWebhook` fits, as does a test's fake."""

    def send(self, payload: Mapping[str, Any]) -> WebhookResult: ...


def check_webhook_url(url: str) -> str:
    """A webhook URL: https, or http to a loopback stand-in; ValueError says what is wrong
    without repeating the URL (it holds the webhook's token)."""
    parts = urlsplit(url.strip())
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError("DISCORD_WEBHOOK_URL must be an https:// Discord webhook URL")
    if not parts.path.rstrip("/").count("/") >= 2:
        raise ValueError("DISCORD_WEBHOOK_URL must end in /webhooks/<id>/<token>")
    return url.strip()


@dataclass
class _Bucket:
    """What the last answer said about the webhook's rate-limit bucket."""

    name: str | None = None
    remaining: int | None = None
    resets_at: float = 0.0


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _discord_said(response: requests.Response) -> str:
    """Discord's own error words (`code`, `message`), cleaned and short."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, Mapping):
        return ""
    code = body.get("code")
    message = visible_text(str(body.get("message") or ""))
    said = f"code {code}: {message}" if code is not None and message else message
    return shorten(said, 160)


class DiscordWebhook:
    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = TIMEOUT_SECONDS,
        max_attempts: int = MAX_ATTEMPTS,
        max_wait: float = MAX_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._url = check_webhook_url(url)
        register_secret(self._url)
        register_secret(urlsplit(self._url).path.rstrip("/").rsplit("/", 1)[-1])
        self._session = session or requests.Session()
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._bucket = _Bucket()

    def send(self, payload: Mapping[str, Any]) -> WebhookResult:
        """Post one message; waits out Discord's limits within `max_wait`, retries 429, 5xx
        and lost answers, and gives up on a final refusal."""
        waited = 0.0
        limited = 0
        last = "no answer from Discord"
        status: int | None = None
        for attempt in range(1, self._max_attempts + 1):
            pause = max(0.0, self._bucket.resets_at - self._clock())
            if self._bucket.remaining == 0 and pause > 0:
                if pause > self._max_wait:
                    why = f"Discord's rate limit resets in {pause:.0f} s, longer than we wait"
                    return self._failed(status, attempt - 1, limited, waited, why)
                self._sleep(pause)
                waited += pause
            try:
                response = self._session.post(
                    self._url, params={"wait": "true"}, json=dict(payload), timeout=self._timeout
                )
            except requests.RequestException as error:
                last = f"no answer from Discord ({type(error).__name__})"
                waited += self._back_off(attempt)
                continue
            status = response.status_code
            self._learn(response.headers)
            if status in (200, 204):
                return WebhookResult(
                    True, status, self._message_id(response), attempt, limited, waited
                )
            if status == 429:
                limited += 1
                retry_after = self._retry_after(response)
                if retry_after > self._max_wait:
                    why = (
                        f"Discord asked to wait {retry_after:.0f} s (rate limited), longer "
                        "than we wait"
                    )
                    return self._failed(status, attempt, limited, waited, why)
                self._sleep(retry_after)
                waited += retry_after
                last = f"Discord kept answering 429 (rate limited) after {attempt} tries"
                continue
            said = _discord_said(response)
            if status in _FINAL:
                return self._failed(status, attempt, limited, waited, self._refused(status, said))
            last = f"Discord answered HTTP {status}" + (f" ({said})" if said else "")
            waited += self._back_off(attempt)
        return self._failed(status, self._max_attempts, limited, waited, last)

    def _learn(self, headers: Mapping[str, str]) -> None:
        """Keep the bucket's state from `X-RateLimit-*` (a new bucket name starts afresh)."""
        name = headers.get("X-RateLimit-Bucket")
        if name and name != self._bucket.name:
            self._bucket = _Bucket(name=name)
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset_after = _number(headers.get("X-RateLimit-Reset-After"))
        if remaining is not None:
            self._bucket.remaining = int(remaining)
        if reset_after is not None:
            self._bucket.resets_at = self._clock() + reset_after

    @staticmethod
    def _retry_after(response: requests.Response) -> float:
        """`retry_after` from the JSON body (seconds, a float), else the `Retry-After` header."""
        try:
            body = response.json()
        except ValueError:
            body = None
        found = _number(body.get("retry_after")) if isinstance(body, Mapping) else None
        if found is None:
            found = _number(response.headers.get("Retry-After"))
        return found if found is not None else 1.0

    @staticmethod
    def _message_id(response: requests.Response) -> str | None:
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        found = body.get("id") if isinstance(body, Mapping) else None
        return str(found) if found is not None else None

    @staticmethod
    def _refused(status: int, said: str) -> str:
        why = {
            400: "Discord refused the message as invalid",
            401: "Discord refused the webhook's token: the webhook URL is wrong",
            403: "Discord does not let this webhook post",
            404: "Discord does not know this webhook: it was deleted or the URL is wrong",
        }[status]
        return f"{why} (HTTP {status}" + (f", {said})" if said else ")")

    def _back_off(self, attempt: int) -> float:
        if attempt >= self._max_attempts:
            return 0.0
        delay = backoff_seconds(attempt - 1, base=0.5, cap=4.0, jitter=self._rand() * 0.999)
        self._sleep(delay)
        return delay

    @staticmethod
    def _failed(
        status: int | None, attempts: int, limited: int, waited: float, detail: str
    ) -> WebhookResult:
        return WebhookResult(False, status, None, attempts, limited, waited, detail)
