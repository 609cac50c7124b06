"""A Discord webhook stand-in on loopback: Execute Webhook as Discord documents its answers.

`POST /api/webhooks/{id}/{token}` with a JSON message:
- 204 No Content, or 200 with the created message (`id`, `channel_id`, `webhook_id`,
  `content`, `embeds`, `timestamp`) when `?wait=true`;
- 429 when the webhook's bucket is empty (by default 5 posts per 2 s) or a 429 was asked for
  (`rate_limit_next`): JSON `{"message", "retry_after", "global"}` with `retry_after` in
  seconds (a float), and the `Retry-After` header;
- 400 with Discord's error JSON (`code`, `message`, and `errors` for a bad form body) for a
  body that is not JSON, a message with nothing to show, or an embed over Discord's limits;
- 401 for a wrong token, 404 for an unknown webhook id.
Every answer but 400/401/404 carries `X-RateLimit-Limit`, `-Remaining`, `-Reset`,
`-Reset-After` (seconds, a float) and `-Bucket`.

`messages` keeps what was accepted, `attempts` every post; `GET /messages` shows the accepted
ones as JSON. `python -m local.discord_standin` runs it in the foreground and prints its
webhook URL as one JSON line. `posting_to` runs the chat bot's Discord relay against it, as
the local stack does.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from google.cloud import firestore

from local.lifecycle import JsonHandler, Lifecycle, ServedInThread, serve_until_signal
from shared.discord.webhook import DiscordWebhook
from shared.pipeline.discord_posts import DiscordPoster, DiscordRelay
from shared.store.control_plane import ControlPlaneStore
from shared.store.discord_posts import DiscordPostStore

WEBHOOK_ID = "1300000000000000001"
WEBHOOK_TOKEN = "local-standin-webhook-token"
CHANNEL_ID = "1300000000000000002"
BUCKET = "standin-webhook-bucket"
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
MAX_EMBEDS = 10
MAX_FIELDS = 25
MAX_CONTENT = 2000


@dataclass(frozen=True)
class Attempt:
    """One post as received: its answer status and its JSON body (None when not JSON)."""

    status: int
    body: Any
    wait: bool
    at: float


@dataclass
class _Bucket:
    limit: int
    per: float
    posts: list[float] = field(default_factory=list)

    def take(self, now: float) -> tuple[bool, int, float]:
        """(allowed, remaining after, seconds until a slot frees)."""
        self.posts = [at for at in self.posts if at > now - self.per]
        allowed = len(self.posts) < self.limit
        if allowed:
            self.posts.append(now)
        remaining = max(self.limit - len(self.posts), 0)
        reset_after = (self.posts[0] + self.per - now) if self.posts else 0.0
        return allowed, remaining, max(reset_after, 0.0)


def form_errors(body: Any) -> tuple[int, str, dict[str, Any] | None] | None:
    """Discord's refusal of a message body (code, message, errors), or None when it is fine."""
    if not isinstance(body, Mapping):
        return 50109, "The request body contains invalid JSON.", None
    content = body.get("content")
    embeds = body.get("embeds") or []
    if not content and not embeds:
        return 50006, "Cannot send an empty message", None
    errors: dict[str, Any] = {}
    if content is not None and (not isinstance(content, str) or len(content) > MAX_CONTENT):
        errors["content"] = f"Must be {MAX_CONTENT} or fewer in length."
    if not isinstance(embeds, list) or len(embeds) > MAX_EMBEDS:
        errors["embeds"] = f"Must be {MAX_EMBEDS} or fewer in length."
        embeds = []
    for index, embed in enumerate(embeds):
        if not isinstance(embed, Mapping):
            errors[f"embeds.{index}"] = "Must be an object."
            continue
        for name, limit in EMBED_LIMITS.items():
            value = embed.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                errors[f"embeds.{index}.{name}"] = f"Must be {limit} or fewer in length."
        for name in ("url",):
            value = embed.get(name)
            if value is not None and not str(value).startswith(("http://", "https://")):
                errors[f"embeds.{index}.{name}"] = "Not a well formed URL."
        fields = embed.get("fields") or []
        if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
            errors[f"embeds.{index}.fields"] = f"Must be {MAX_FIELDS} or fewer in length."
            fields = []
        for place, entry in enumerate(fields):
            for name, limit in FIELD_LIMITS.items():
                value = entry.get(name) if isinstance(entry, Mapping) else None
                if not isinstance(value, str) or not value or len(value) > limit:
                    errors[f"embeds.{index}.fields.{place}.{name}"] = (
                        f"Must be between 1 and {limit} in length."
                    )
    mentions = body.get("allowed_mentions")
    if mentions is not None and not isinstance(mentions, Mapping):
        errors["allowed_mentions"] = "Must be an object."
    if errors:
        return 50035, "Invalid Form Body", errors
    return None


class DiscordStandin(Lifecycle):
    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        limit: int = 5,
        per: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = ServedInThread("DiscordStandin", (host, port), lambda at: _Server(at, self))
        self._clock = clock
        self._lock = threading.Lock()
        self._bucket = _Bucket(limit, per)
        self._forced: list[float] = []
        self._ids = itertools.count(1_400_000_000_000_000_001)
        self.messages: list[dict[str, Any]] = []
        self.attempts: list[Attempt] = []

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def webhook_url(self) -> str:
        """What DISCORD_WEBHOOK_URL is set to."""
        return f"http://{self._http.host}:{self.port}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

    def rate_limit_next(self, count: int = 1, *, retry_after: float = 0.3) -> None:
        """The next `count` posts are answered 429 with this `retry_after`."""
        with self._lock:
            self._forced.extend([retry_after] * count)

    def start(self) -> Self:
        self._http.start("discord-standin")
        return self

    def stop(self) -> None:
        self._http.stop()

    def answer(
        self, path: str, query: Mapping[str, list[str]], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body (None: no body) and headers for one POST."""
        parts = path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["api", "webhooks"] or parts[2] != WEBHOOK_ID:
            return 404, {"message": "Unknown Webhook", "code": 10015}, {}
        if parts[3] != WEBHOOK_TOKEN:
            return 401, {"message": "Invalid Webhook Token", "code": 50027}, {}
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = None
        wait = (query.get("wait") or ["false"])[0].lower() == "true"
        with self._lock:
            now = self._clock()
            refused = form_errors(body)
            if refused is not None:
                code, said, errors = refused
                self.attempts.append(Attempt(400, body, wait, now))
                error_body: dict[str, Any] = {"code": code, "message": said}
                if errors:
                    error_body["errors"] = errors
                return 400, error_body, {}
            forced = self._forced.pop(0) if self._forced else None
            allowed, remaining, reset_after = (
                (False, 0, forced) if forced is not None else self._bucket.take(now)
            )
            headers = {
                "X-RateLimit-Limit": str(self._bucket.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": f"{now + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}",
                "X-RateLimit-Bucket": BUCKET,
            }
            if not allowed:
                self.attempts.append(Attempt(429, body, wait, now))
                retry_after = round(max(reset_after, 0.001), 3)
                headers |= {"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "user"}
                limited = {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                }
                return 429, limited, headers
            self.attempts.append(Attempt(200 if wait else 204, body, wait, now))
            shown: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
            message: dict[str, Any] = {
                "id": str(next(self._ids)),
                "type": 0,
                "channel_id": CHANNEL_ID,
                "webhook_id": WEBHOOK_ID,
                "content": shown.get("content") or "",
                "embeds": shown.get("embeds") or [],
                "mentions": [],
                "timestamp": datetime.fromtimestamp(now, UTC).isoformat(),
            }
            self.messages.append(message)
            return (200, message, headers) if wait else (204, None, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: DiscordStandin) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class _Handler(JsonHandler):
    server: _Server

    def do_POST(self) -> None:
        split = urlsplit(self.path)
        raw = self.read_body()
        status, body, headers = self.server.owner.answer(split.path, parse_qs(split.query), raw)
        self.send_json(status, body, headers)

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/") == "/messages":
            self.send_json(200, list(self.server.owner.messages), {})
        else:
            self.send_json(404, {"message": "404: Not Found", "code": 0}, {})


@contextlib.contextmanager
def posting_to(
    db: firestore.Client, webhook_url: str, *, broadcaster_id: str | None, instance: str
) -> Iterator[DiscordRelay]:
    """The chat bot's Discord relay (`shared.pipeline.discord_posts`) posting to `webhook_url`
    while the block runs, on the control plane's live settings."""
    store = DiscordPostStore(db)
    poster = DiscordPoster(store, DiscordWebhook(webhook_url), instance=instance)
    control = ControlPlaneStore(db, tolerant=True)
    relay = DiscordRelay(store, poster, config=control.read, broadcaster_id=broadcaster_id)
    relay.start()
    try:
        yield relay
    finally:
        relay.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.discord_standin", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    with DiscordStandin(port=args.port, host=args.host) as standin:
        serve_until_signal({"webhook_url": standin.webhook_url})
    return 0


if __name__ == "__main__":
    sys.exit(main())
