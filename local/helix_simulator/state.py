"""In-memory Twitch Helix and OAuth state, answering requests without any sockets.

Everything here follows Twitch's official API reference (docs/architecture.md §6). The clock is
injectable so tests can move time forward instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

Clock = Callable[[], float]

CLIPS_EDIT = "clips:edit"
CLIP_MANAGE_SCOPES = frozenset({"editor:manage:clips", "channel:manage:clips"})
ALL_CLIP_SCOPES = ("clips:edit", "editor:manage:clips", "channel:manage:clips")
USER_TOKEN_TTL = 14400
APP_TOKEN_TTL = 5_011_271
FAULT_KINDS = frozenset({"status", "slow", "drop"})
DEFAULT_GAME_ID = "509658"
_REDACTED = frozenset({"client_secret", "refresh_token", "code", "access_token"})
_BANNED = "The user is banned or timed out in the broadcaster's channel."
_CLIPS_DISABLED = "The broadcaster has restricted the ability to capture clips."
_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SLUG_WORDS = (
    ("Awkward", "Brave", "Clever", "Daring", "Eager", "Fancy", "Gentle", "Happy", "Lively"),
    ("Bright", "Calm", "Quiet", "Rapid", "Shiny", "Silly", "Tiny", "Witty", "Zesty"),
    ("Otter", "Falcon", "Badger", "Walrus", "Lemur", "Panda", "Gecko", "Heron", "Koala"),
    ("Kappa", "PogChamp", "Kreygasm", "SeemsGood", "VoHiYo", "BibleThump", "HeyGuys"),
)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the HTTP layer hands it over; header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Response:
    """What the HTTP layer should write back; a body of None means no content."""

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour for one request: an error status, a delay, or a dropped socket."""

    kind: str
    status: int = 503
    delay: float = 0.0
    reset_after: float | None = None


@dataclass(frozen=True)
class Call:
    """One recorded request. Tokens are never kept, only a short hash to tell them apart."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int | None
    at: float
    client_id: str | None
    user_id: str | None
    token_sha256: str | None


@dataclass
class _Token:
    access_token: str = field(repr=False)
    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


@dataclass
class _Grant:
    client_id: str
    user_id: str
    scopes: tuple[str, ...]


@dataclass
class _Code:
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    redirect_uri: str


@dataclass
class _User:
    user_id: str
    login: str


@dataclass
class _Stream:
    stream_id: str
    started_at: float


@dataclass
class _Vod:
    """An archive; while `recording` it grows with its broadcast, listed from `listed_at`."""

    vod_id: str
    broadcaster_id: str
    duration_seconds: int
    stream_id: str | None
    created_at: float
    listed_at: float = 0.0
    recording: bool = False

    def seconds(self, now: float) -> int:
        return int(now - self.created_at) if self.recording else self.duration_seconds


@dataclass
class ChannelConfig:
    """Channel settings that decide whether Twitch accepts a clip."""

    clips_disabled: bool = False
    category_clippable: bool = True
    automod_words: tuple[str, ...] = ()
    banned_user_ids: frozenset[str] = frozenset()
    editor_user_ids: frozenset[str] = frozenset()
    game_id: str = DEFAULT_GAME_ID
    archives_disabled: bool = False


@dataclass
class _Clip:
    """A clip as made; `_publish` decides when Get Clips and its downloads show it."""

    broadcaster_id: str
    creator_id: str
    title: str
    duration: float
    video_id: str
    vod_offset: int | None
    created_at: float
    visible_at: float | None = None
    downloads_at: float = 0.0
    clip_id: str = field(default_factory=lambda: _new_clip_id())
    view_count: int = 0


@dataclass
class _Bucket:
    points: float
    updated: float


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def _new_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(30))


def _new_clip_id() -> str:
    words = "".join(secrets.choice(group) for group in _SLUG_WORDS)
    return f"{words}-{secrets.token_urlsafe(12)}"


def _new_numeric_id() -> str:
    return str(10**10 + secrets.randbelow(9 * 10**10))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _twitch_duration(seconds: int) -> str:
    """Format like Twitch's video durations, e.g. ``3h8m33s``."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _helix_error(status: int, message: str) -> Response:
    """Helix error body: ``error`` is the HTTP reason phrase."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return Response(status, {"error": phrase, "status": status, "message": message})


helix_error = _helix_error  # for the route modules beside this one (chat.py)


def _oauth_error(status: int, message: str) -> Response:
    return Response(status, {"status": status, "message": message})


def _encode_cursor(start: int, end: int) -> str:
    raw = json.dumps({"s": start, "e": end}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        start, end = int(data["s"]), int(data["e"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    return (start, end) if 0 <= start <= end else None


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _numeric_id(query: Mapping[str, list[str]], name: str) -> str | None:
    """The parameter's value when it is a numeric Twitch id, else None."""
    value = _first(query, name)
    return value if value and value.isascii() and value.isdigit() else None


def _parse_duration(raw: str | None) -> float | str | None:
    """Return the clip duration, None when absent, or an error message (5-60 s, 0.1 precision)."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        return "The duration query parameter must be a number."
    if not math.isfinite(value) or not 5.0 <= value <= 60.0:
        return "The duration query parameter must be between 5 and 60 seconds."
    if abs(value * 10 - round(value * 10)) > 1e-6:
        return "The duration query parameter has a precision of 0.1 seconds."
    return round(value, 1)


def _parse_first(query: Mapping[str, list[str]]) -> int | Response:
    raw = _first(query, "first")
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        return _helix_error(400, "The first query parameter must be between 1 and 100.")
    return int(raw)


def _list_query(
    query: Mapping[str, list[str]], owner: str
) -> tuple[list[str], str | None, str | None, int] | Response:
    """Get Clips and Get Videos: exactly one of ``id``, ``owner`` or ``game_id``, and ``first``."""
    ids = [value for value in query.get("id", []) if value]
    owner_id, game_id = _first(query, owner), _first(query, "game_id")
    if sum(1 for present in (ids, owner_id, game_id) if present) != 1:
        return _helix_error(
            400, f"Specify exactly one of the id, {owner} or game_id query parameters."
        )
    if len(ids) > 100:
        return _helix_error(400, "You may specify at most 100 id query parameters.")
    first = _parse_first(query)
    if isinstance(first, Response):
        return first
    return ids, owner_id, game_id, first


def _rfc3339(raw: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo is not None else None


WEEK_SECONDS = 7 * 24 * 3600


def _created_window(
    query: Mapping[str, list[str]],
) -> tuple[float, float] | Response | None:
    """Get Clips' `started_at`/`ended_at` (RFC 3339) window on a clip's creation time, as
    Twitch documents it: without `ended_at` it ends a week after `started_at`; an `ended_at`
    alone is ignored. None: no window."""
    started, ended = _first(query, "started_at"), _first(query, "ended_at")
    if not started:
        return None
    start = _rfc3339(started)
    end = _rfc3339(ended) if ended else (start + WEEK_SECONDS if start is not None else None)
    if start is None or end is None:
        return _helix_error(400, "The started_at and ended_at query parameters must be RFC3339.")
    if end < start:
        return _helix_error(400, "The ended_at query parameter must not be before started_at.")
    return start, end


def _page(
    items: list[Any], query: Mapping[str, list[str]], first: int, render: Callable[[Any], Any]
) -> Response:
    """One page using ``after``/``before`` cursors; 400 when a cursor is malformed."""
    after, before = _first(query, "after"), _first(query, "before")
    start, end = 0, first
    if after or before:
        decoded = _decode_cursor(after or before or "")
        if decoded is None:
            return _helix_error(400, "The pagination cursor is not valid.")
        if after:
            start, end = decoded[1], decoded[1] + first
        else:
            start, end = max(0, decoded[0] - first), decoded[0]
    end = min(len(items), end)
    pagination = {"cursor": _encode_cursor(start, end)} if end < len(items) else {}
    data = [render(item) for item in items[start:end]]
    return Response(200, {"data": data, "pagination": pagination})


class HelixState:
    """All simulator state behind one lock, plus the request handlers that read and change it."""

    def __init__(
        self,
        *,
        bucket_size: int = 800,
        downloads_per_minute: int = 100,
        clock: Clock = time.time,
    ) -> None:
        if bucket_size < 1 or downloads_per_minute < 1:
            raise ValueError("bucket_size and downloads_per_minute must be at least 1")
        self._lock = threading.RLock()
        self._clock = clock
        self.bucket_size = bucket_size
        self.downloads_per_minute = downloads_per_minute
        self.clip_visible_after: float | None = 2.0
        self.download_urls_null_for: float = 0.0
        self._visible_queue: deque[float | None] = deque()
        self._apps: dict[str, str] = {}
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, _Grant] = {}
        self._grants: dict[tuple[str, str], set[str]] = {}
        self._codes: dict[str, _Code] = {}
        self._issued_codes: list[str] = []
        self._authorize_user: str | None = None
        self._streams: dict[str, _Stream] = {}
        self._vods: dict[str, _Vod] = {}
        self._channels: dict[str, ChannelConfig] = {}
        self._clips: dict[str, _Clip] = {}
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._downloads: dict[tuple[str, str | None], deque[float]] = {}
        self._faults: list[tuple[str | None, str, Fault, int]] = []
        self._random_faults: list[tuple[str | None, str, Fault, float]] = []
        self._fault_rng = random.Random()
        self._served: dict[str, int] = {}
        self._calls: list[Call] = []
        helix = self._helix
        self._routes: dict[tuple[str, str], Callable[[Request, float], Response]] = {
            ("POST", "/helix/clips"): helix(self._create_clip),
            ("GET", "/helix/clips"): helix(self._get_clips),
            ("POST", "/helix/videos/clips"): helix(self._create_clip_from_vod),
            ("GET", "/helix/clips/downloads"): helix(self._get_clips_download),
            ("GET", "/helix/streams"): helix(self._get_streams),
            ("GET", "/helix/videos"): helix(self._get_videos),
            ("GET", "/oauth2/validate"): self._validate,
            ("POST", "/oauth2/token"): self._token,
            ("GET", "/oauth2/authorize"): self._authorize,
        }

    # ----------------------------------------------------------------- setup (test side)

    def add_app(self, client_id: str, client_secret: str) -> None:
        """Register an application so its tokens and secret are recognised."""
        with self._lock:
            self._apps[client_id] = client_secret

    def add_user(
        self,
        user_id: str,
        login: str,
        *,
        client_id: str,
        scopes: Iterable[str],
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: int = USER_TOKEN_TTL,
    ) -> tuple[str, str]:
        """Create (or update) a user and issue them a token pair for ``client_id``."""
        with self._lock:
            self._require_app(client_id)
            self._users[user_id] = _User(user_id, login)
            return self._issue_user_tokens(
                client_id, user_id, tuple(scopes), access_token, refresh_token, expires_in
            )

    def add_app_token(self, client_id: str, access_token: str | None = None) -> str:
        """Issue an app access token (no user) as client credentials would."""
        with self._lock:
            self._require_app(client_id)
            token = access_token or _new_token()
            self._tokens[token] = _Token(token, client_id, None, (), self._clock() + APP_TOKEN_TTL)
            return token

    def set_live(
        self, broadcaster_id: str, live: bool, *, stream_id: str | None = None
    ) -> str | None:
        """Start or end a broadcast; returns the stream id while live."""
        with self._lock:
            self._require_user(broadcaster_id)
            if not live:
                ended = self._streams.pop(broadcaster_id, None)
                now = self._clock()
                for vod in self._vods.values():
                    if ended is not None and vod.recording and vod.stream_id == ended.stream_id:
                        vod.duration_seconds, vod.recording = vod.seconds(now), False
                return None
            current = self._streams.get(broadcaster_id)
            if current is None or (stream_id is not None and current.stream_id != stream_id):
                current = _Stream(stream_id or _new_numeric_id(), self._clock())
                self._streams[broadcaster_id] = current
            return current.stream_id

    def add_vod(
        self,
        vod_id: str,
        broadcaster_id: str,
        *,
        duration_seconds: int,
        stream_id: str | None = None,
        ended_ago: float = 0.0,
    ) -> None:
        """Add a finished archive VOD that ended ``ended_ago`` seconds ago; ``stream_id`` links
        it to the broadcast it records."""
        with self._lock:
            self._require_user(broadcaster_id)
            self._vods[vod_id] = _Vod(
                vod_id,
                broadcaster_id,
                int(duration_seconds),
                stream_id,
                self._clock() - ended_ago - int(duration_seconds),
            )

    def start_broadcast(
        self,
        broadcaster_id: str,
        *,
        started_ago: float = 0.0,
        stream_id: str | None = None,
        vod_id: str | None = None,
        archive_after: float = 0.0,
    ) -> tuple[str, str | None]:
        """Go live as of ``started_ago`` seconds ago, with the broadcast's archive recording.

        As on Twitch, the archive starts with the stream (``created_at`` = ``started_at``),
        carries its ``stream_id`` and grows until the stream ends; Get Videos lists it only
        ``archive_after`` seconds after the start. A channel configured with
        ``archives_disabled`` gets no archive. Returns the stream id and the archive's id.
        """
        with self._lock:
            self._require_user(broadcaster_id)
            started_at = self._clock() - started_ago
            stream = _Stream(stream_id or _new_numeric_id(), started_at)
            self._streams[broadcaster_id] = stream
            if self._channels.get(broadcaster_id, ChannelConfig()).archives_disabled:
                return stream.stream_id, None
            archive = _Vod(
                vod_id or _new_numeric_id(),
                broadcaster_id,
                0,
                stream.stream_id,
                started_at,
                listed_at=started_at + archive_after,
                recording=True,
            )
            self._vods[archive.vod_id] = archive
            return stream.stream_id, archive.vod_id

    def configure_channel(
        self,
        broadcaster_id: str,
        *,
        clips_disabled: bool = False,
        category_clippable: bool = True,
        automod_words: Iterable[str] = (),
        banned_user_ids: Iterable[str] = (),
        editor_user_ids: Iterable[str] = (),
        game_id: str = DEFAULT_GAME_ID,
        archives_disabled: bool = False,
    ) -> None:
        """Replace the channel's clip settings (``archives_disabled``: no past broadcasts)."""
        with self._lock:
            self._require_user(broadcaster_id)
            self._channels[broadcaster_id] = ChannelConfig(
                clips_disabled=clips_disabled,
                category_clippable=category_clippable,
                automod_words=tuple(word.lower() for word in automod_words),
                banned_user_ids=frozenset(banned_user_ids),
                editor_user_ids=frozenset(editor_user_ids),
                game_id=game_id,
                archives_disabled=archives_disabled,
            )

    def next_clip_visible_after(self, values: float | Iterable[float | None] | None) -> None:
        """Queue per-clip visibility delays used (in order) before ``clip_visible_after``."""
        with self._lock:
            if values is None or isinstance(values, (int, float)):
                self._visible_queue.append(values)
            else:
                self._visible_queue.extend(values)

    def inject_fault(
        self,
        path: str,
        kind: str,
        *,
        status: int = 503,
        delay: float = 0.0,
        times: int = 1,
        reset_after: float | None = None,
    ) -> None:
        """Make the next ``times`` matching requests fail; ``path`` may start with a method.

        ``reset_after`` scripts a 429 as if the bucket were empty: ``Ratelimit-Remaining: 0``
        and ``Ratelimit-Reset`` that many seconds ahead.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
        if times < 1 or not 100 <= status <= 599 or delay < 0:
            raise ValueError("times must be >= 1, status 100-599 and delay >= 0")
        method, _, bare = path.partition(" ") if " " in path else ("", "", path)
        with self._lock:
            fault = Fault(kind, status, delay, reset_after)
            self._faults.append((method.upper() or None, bare, fault, times))

    def random_fault(
        self,
        path: str,
        kind: str,
        probability: float,
        *,
        status: int = 503,
        delay: float = 0.0,
        reset_after: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Make each matching request fail with `probability` (drawn per request, after any
        scripted fault), for fault benchmarks; `path` may start with a method."""
        if kind not in FAULT_KINDS or not 0.0 <= probability <= 1.0:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}, probability 0-1")
        method, _, bare = path.partition(" ") if " " in path else ("", "", path)
        with self._lock:
            if seed is not None:
                self._fault_rng.seed(seed)
            fault = Fault(kind, status, delay, reset_after)
            self._random_faults.append((method.upper() or None, bare, fault, probability))

    def clips_made(self) -> list[dict[str, Any]]:
        """Every clip made through the create routes (visible yet or not), for measurements:
        id, broadcaster, creator, title, when made and when visible (None: never)."""
        with self._lock:
            return [
                {
                    "id": clip.clip_id,
                    "broadcaster_id": clip.broadcaster_id,
                    "creator_id": clip.creator_id,
                    "title": clip.title,
                    "created_at": clip.created_at,
                    "visible_at": clip.visible_at,
                }
                for clip in self._clips.values()
            ]

    def expire_token(self, access_token: str) -> None:
        """Invalidate an access token, as expiry or revocation would."""
        with self._lock:
            token = self._tokens.get(access_token)
            if token is None:
                raise ValueError("unknown access token")
            token.revoked = True

    def authorize_as(self, user_id: str) -> None:
        """Choose who 'clicks Authorize' on the local stand-in for Twitch's consent page."""
        with self._lock:
            self._require_user(user_id)
            self._authorize_user = user_id

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every recorded request, oldest first."""
        with self._lock:
            return list(self._calls)

    @property
    def authorize_url_codes(self) -> list[str]:
        """Codes issued by ``/oauth2/authorize``, oldest first."""
        with self._lock:
            return list(self._issued_codes)

    def clip_timeline(self, clip_id: str) -> tuple[float, float | None] | None:
        """When a clip was created and when it became (or becomes) visible, for measurements."""
        with self._lock:
            clip = self._clips.get(clip_id)
            return None if clip is None else (clip.created_at, clip.visible_at)

    def count(self, method: str, path: str) -> int:
        """How many requests with this method and path were recorded."""
        with self._lock:
            return sum(1 for c in self._calls if c.method == method.upper() and c.path == path)

    # --------------------------------------------- for route modules (chat.py) and their tests

    def add_routes(
        self, routes: Mapping[tuple[str, str], Callable[..., Response]], *, helix: bool
    ) -> None:
        """Serve more routes. Helix ones take `(request, token, now)` and get the token,
        Client-Id and bucket checks first; the others take `(request, now)` as they are."""
        with self._lock:
            for key, handler in routes.items():
                self._routes[key] = self._helix(handler) if helix else handler

    def user_login(self, user_id: str) -> str | None:
        with self._lock:
            user = self._users.get(user_id)
            return user.login if user else None

    def user_id_for(self, login: str) -> str | None:
        with self._lock:
            wanted = login.lower()
            return next(
                (u.user_id for u in self._users.values() if u.login.lower() == wanted), None
            )

    def granted_scopes(self, client_id: str, user_id: str) -> frozenset[str]:
        """What `user_id` has granted the app `client_id` (any of its tokens)."""
        with self._lock:
            return frozenset(self._grants.get((client_id, user_id), set()))

    # ------------------------------------------------------------------ request handling

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Consume and return the first fault scripted for this request, if any."""
        with self._lock:
            for index, (f_method, f_path, fault, times) in enumerate(self._faults):
                if f_path == path and f_method in (None, method.upper()):
                    if times <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = (f_method, f_path, fault, times - 1)
                    return fault
            for f_method, f_path, fault, probability in self._random_faults:
                matches = f_path == path and f_method in (None, method.upper())
                if matches and self._fault_rng.random() < probability:
                    name = f"{fault.kind} {fault.status}" if fault.kind == "status" else fault.kind
                    self._served[name] = self._served.get(name, 0) + 1
                    return fault
            return None

    @property
    def random_faults_served(self) -> dict[str, int]:
        """How many requests each random fault hit, e.g. `{"status 503": 4, "slow": 1}`."""
        with self._lock:
            return dict(self._served)

    def handle(self, request: Request, fault: Fault | None = None) -> Response | None:
        """Answer one request (None means: drop the connection) and record it."""
        with self._lock:
            now = self._clock()
            identity = self._identify(request)
            response: Response | None
            if fault is not None and fault.kind == "drop":
                response = None
            elif fault is not None and fault.kind == "status":
                response = self._fault_response(request, fault, now)
            else:
                route = self._routes.get((request.method.upper(), request.path))
                if route is not None:
                    response = route(request, now)
                else:
                    response = _helix_error(404, f"No route for {request.method} {request.path}")
                    if request.path.startswith("/helix/"):
                        response.headers.update(self._peek_headers(self._bucket_key(request), now))
            self._record(request, response, now, identity)
            return response

    def _fault_response(self, request: Request, fault: Fault, now: float) -> Response:
        if request.path.startswith("/helix/"):
            response = _helix_error(fault.status, "Simulated fault")
            response.headers.update(self._peek_headers(self._bucket_key(request), now))
            if fault.reset_after is not None:
                response.headers["Ratelimit-Remaining"] = "0"
                response.headers["Ratelimit-Reset"] = str(math.ceil(now + fault.reset_after))
            return response
        return _oauth_error(fault.status, "Simulated fault")

    def _identify(self, request: Request) -> tuple[str | None, str | None, str | None]:
        """Who is calling: client id, user id and a hash of the token, read before any change."""
        token_value = self._raw_token(request)
        token = self._tokens.get(token_value) if token_value else None
        client_id = token.client_id if token else request.headers.get("client-id")
        user_id = token.user_id if token else None
        if request.path == "/oauth2/token":
            params = self._params(request)
            client_id = _first(params, "client_id")
            grant = self._refresh.get(_first(params, "refresh_token") or "")
            code = self._codes.get(_first(params, "code") or "")
            user_id = grant.user_id if grant else code.user_id if code else None
        return client_id, user_id, _token_hash(token_value) if token_value else None

    def _record(
        self,
        request: Request,
        response: Response | None,
        now: float,
        identity: tuple[str | None, str | None, str | None],
    ) -> None:
        client_id, user_id, token_sha256 = identity
        query = {
            key: (["***"] * len(values) if key in _REDACTED else list(values))
            for key, values in request.query.items()
        }
        self._calls.append(
            Call(
                method=request.method.upper(),
                path=request.path,
                query=query,
                status=response.status if response else None,
                at=now,
                client_id=client_id,
                user_id=user_id,
                token_sha256=token_sha256,
            )
        )

    # --------------------------------------------------------------- auth and rate limit

    @staticmethod
    def _raw_token(request: Request) -> str | None:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        return None

    @staticmethod
    def _params(request: Request) -> dict[str, list[str]]:
        params = {key: list(values) for key, values in request.query.items()}
        if request.body:
            form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        return params

    def _live_token(self, value: str | None, now: float) -> _Token | None:
        token = self._tokens.get(value) if value else None
        if token is None or token.revoked or now >= token.expires_at:
            return None
        return token

    def _bucket_key(self, request: Request) -> tuple[str, str | None]:
        token = self._tokens.get(self._raw_token(request) or "")
        if token is not None:
            return (token.client_id, token.user_id)
        return (request.headers.get("client-id", ""), None)

    def _refill(self, key: tuple[str, str | None], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.bucket_size), now)
            self._buckets[key] = bucket
        rate = self.bucket_size / 60.0
        bucket.points = min(float(self.bucket_size), bucket.points + (now - bucket.updated) * rate)
        bucket.updated = now
        return bucket

    def _rate_headers(self, points: float, now: float) -> dict[str, str]:
        """Ratelimit-Reset is when the bucket is full again, as Twitch defines it."""
        seconds_to_full = (self.bucket_size - points) * 60.0 / self.bucket_size
        return {
            "Ratelimit-Limit": str(self.bucket_size),
            "Ratelimit-Remaining": str(max(0, math.floor(points))),
            "Ratelimit-Reset": str(math.ceil(now + seconds_to_full)),
        }

    def _peek_headers(self, key: tuple[str, str | None], now: float) -> dict[str, str]:
        bucket = self._buckets.get(key)
        points = float(self.bucket_size)
        if bucket is not None:
            rate = self.bucket_size / 60.0
            points = min(points, bucket.points + (now - bucket.updated) * rate)
        return self._rate_headers(points, now)

    def _helix_auth(self, request: Request, now: float) -> _Token | Response:
        """Check token and Client-Id, then charge one point from the caller's bucket."""
        value = self._raw_token(request)
        scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
        client_id = request.headers.get("client-id", "")
        token = self._live_token(value, now)
        error: Response | None = None
        if value is None or scheme != "bearer":
            error = _helix_error(401, "OAuth token is missing")
        elif not client_id:
            error = _helix_error(401, "Client-Id header is missing")
        elif token is None:
            error = _helix_error(401, "Invalid OAuth token")
        elif token.client_id != client_id:
            error = _helix_error(401, "Client ID and OAuth token do not match")
        if error is not None or token is None:
            error = error or _helix_error(401, "Invalid OAuth token")
            error.headers.update(self._peek_headers(self._bucket_key(request), now))
            return error
        bucket = self._refill((token.client_id, token.user_id), now)
        if bucket.points < 1.0:
            response = _helix_error(429, "Too Many Requests")
            response.headers.update(self._rate_headers(bucket.points, now))
            return response
        bucket.points -= 1.0
        return token

    def _with_rate_headers(self, token: _Token, response: Response, now: float) -> Response:
        bucket = self._refill((token.client_id, token.user_id), now)
        for name, value in self._rate_headers(bucket.points, now).items():
            response.headers.setdefault(name, value)
        return response

    def _editor_and_broadcaster(
        self, query: Mapping[str, list[str]], token: _Token
    ) -> tuple[str, str | None] | Response:
        """An editor endpoint's ``editor_id``, when the token may act for that editor, and its
        ``broadcaster_id`` (None when missing or not numeric)."""
        editor_id = _numeric_id(query, "editor_id")
        if editor_id is None:
            return _helix_error(400, "The editor_id query parameter is required.")
        if not self._has_manage_scope(token, editor_id):
            return _helix_error(401, "Missing scope: editor:manage:clips or channel:manage:clips")
        if token.user_id is not None and token.user_id != editor_id:
            return _helix_error(401, "The editor_id must match the user in the access token.")
        return editor_id, _numeric_id(query, "broadcaster_id")

    def _has_manage_scope(self, token: _Token, editor_id: str) -> bool:
        """User tokens carry their scopes; app tokens rely on what the editor granted the app."""
        if token.user_id is not None:
            return bool(CLIP_MANAGE_SCOPES.intersection(token.scopes))
        granted = self._grants.get((token.client_id, editor_id), set())
        return bool(CLIP_MANAGE_SCOPES.intersection(granted))

    # ------------------------------------------------------------------------ Helix

    def _helix(
        self, handler: Callable[[Request, _Token, float], Response]
    ) -> Callable[[Request, float], Response]:
        """A Helix route: token, Client-Id and one bucket point checked first, rate headers on."""

        def route(request: Request, now: float) -> Response:
            auth = self._helix_auth(request, now)
            if isinstance(auth, Response):
                return auth
            return self._with_rate_headers(auth, handler(request, auth, now), now)

        return route

    def _create_clip(self, request: Request, token: _Token, now: float) -> Response:
        if token.user_id is None:
            return _helix_error(401, "A user access token is required")
        if CLIPS_EDIT not in token.scopes:
            return _helix_error(401, f"Missing scope: {CLIPS_EDIT}")
        query = request.query
        broadcaster_id = _numeric_id(query, "broadcaster_id")
        if broadcaster_id is None:
            return _helix_error(400, "The broadcaster_id query parameter is required.")
        duration = _parse_duration(_first(query, "duration"))
        if isinstance(duration, str):
            return _helix_error(400, duration)
        title = _first(query, "title") or ""
        stream = self._streams.get(broadcaster_id)
        if stream is None:
            return _helix_error(404, "The broadcaster is not live.")
        channel = self._channels.get(broadcaster_id, ChannelConfig())
        if channel.clips_disabled:
            return _helix_error(403, _CLIPS_DISABLED)
        if token.user_id in channel.banned_user_ids:
            return _helix_error(403, _BANNED)
        if not channel.category_clippable:
            return _helix_error(400, "The broadcaster's current category does not allow clips.")
        if self._automod_hit(channel, title):
            return _helix_error(400, "The title was rejected by AutoMod.")
        video = next(
            (v for v in self._vods.values() if v.stream_id == stream.stream_id),
            None,
        )
        duration = 30.0 if duration is None else duration
        video_id = video.vod_id if video else ""
        return self._publish(
            _Clip(broadcaster_id, token.user_id, title, duration, video_id, None, created_at=now)
        )

    def _create_clip_from_vod(self, request: Request, token: _Token, now: float) -> Response:
        query = request.query
        ids = self._editor_and_broadcaster(query, token)
        if isinstance(ids, Response):
            return ids
        editor_id, broadcaster_id = ids
        vod_id = _first(query, "vod_id")
        if broadcaster_id is None:
            return _helix_error(400, "The broadcaster_id query parameter is required.")
        if not vod_id:
            return _helix_error(400, "The vod_id query parameter is required.")
        raw_offset = _first(query, "vod_offset")
        if raw_offset is None or not raw_offset.isdigit():
            return _helix_error(400, "The vod_offset query parameter must be a whole number.")
        vod_offset = int(raw_offset)
        duration = _parse_duration(_first(query, "duration"))
        if isinstance(duration, str):
            return _helix_error(400, duration)
        duration = 30.0 if duration is None else duration
        title = _first(query, "title") or ""
        if not title.strip():
            return _helix_error(400, "The title query parameter is required.")
        if vod_offset < duration:
            return _helix_error(
                400, "The vod_offset must be greater than or equal to the duration."
            )
        vod = self._vods.get(vod_id)
        if vod is None or vod.broadcaster_id != broadcaster_id or now < vod.listed_at:
            return _helix_error(404, "The VOD was not found.")
        channel = self._channels.get(broadcaster_id, ChannelConfig())
        if editor_id != broadcaster_id and editor_id not in channel.editor_user_ids:
            return _helix_error(403, "The user is not an editor for the broadcaster.")
        if channel.clips_disabled:
            return _helix_error(403, _CLIPS_DISABLED)
        if editor_id in channel.banned_user_ids:
            return _helix_error(403, _BANNED)
        if self._automod_hit(channel, title):
            return _helix_error(400, "The title was rejected by AutoMod.")
        start = max(0, math.floor(vod_offset - duration))
        return self._publish(
            _Clip(broadcaster_id, editor_id, title, duration, vod.vod_id, start, created_at=now)
        )

    @staticmethod
    def _automod_hit(channel: ChannelConfig, title: str) -> bool:
        lowered = title.lower()
        return any(word and word in lowered for word in channel.automod_words)

    def _publish(self, clip: _Clip) -> Response:
        """Keep a new clip, scheduled to show in Get Clips and its downloads; Twitch's 202."""
        delay = self._visible_queue.popleft() if self._visible_queue else self.clip_visible_after
        clip.visible_at = None if delay is None else clip.created_at + delay
        clip.downloads_at = clip.created_at + self.download_urls_null_for
        self._clips[clip.clip_id] = clip
        edit_url = f"https://clips.twitch.tv/{clip.clip_id}/edit"
        return Response(202, {"data": [{"id": clip.clip_id, "edit_url": edit_url}]})

    def _clip_json(self, clip: _Clip) -> dict[str, Any]:
        broadcaster = self._users.get(clip.broadcaster_id)
        creator = self._users.get(clip.creator_id)
        channel = self._channels.get(clip.broadcaster_id, ChannelConfig())
        return {
            "id": clip.clip_id,
            "url": f"https://clips.twitch.tv/{clip.clip_id}",
            "embed_url": f"https://clips.twitch.tv/embed?clip={clip.clip_id}",
            "broadcaster_id": clip.broadcaster_id,
            "broadcaster_name": broadcaster.login if broadcaster else "",
            "creator_id": clip.creator_id,
            "creator_name": creator.login if creator else "",
            "video_id": clip.video_id,
            "game_id": channel.game_id,
            "language": "en",
            "title": clip.title,
            "view_count": clip.view_count,
            "created_at": _iso(clip.created_at),
            "thumbnail_url": (
                f"https://clips-media-assets2.twitch.tv/{clip.clip_id}-preview-480x272.jpg"
            ),
            "duration": clip.duration,
            "vod_offset": clip.vod_offset,
            "is_featured": False,
        }

    def _get_clips(self, request: Request, token: _Token, now: float) -> Response:
        parsed = _list_query(request.query, "broadcaster_id")
        if isinstance(parsed, Response):
            return parsed
        ids, broadcaster_id, game_id, first = parsed

        def visible(clip: _Clip) -> bool:
            return clip.visible_at is not None and now >= clip.visible_at

        if ids:
            found = [self._clips[i] for i in dict.fromkeys(ids) if i in self._clips]
            data = [self._clip_json(c) for c in found if visible(c)]
            return Response(200, {"data": data, "pagination": {}})
        window = _created_window(request.query)
        if isinstance(window, Response):
            return window
        if broadcaster_id:
            matches = [
                c
                for c in self._clips.values()
                if c.broadcaster_id == broadcaster_id
                and visible(c)
                and (window is None or window[0] <= int(c.created_at) <= window[1])
            ]
        else:
            matches = [
                c
                for c in self._clips.values()
                if visible(c)
                and self._channels.get(c.broadcaster_id, ChannelConfig()).game_id == game_id
            ]
        return _page(matches, request.query, first, self._clip_json)

    def _get_clips_download(self, request: Request, token: _Token, now: float) -> Response:
        """Its 429 carries headers of the 100-per-minute window, the limit that was hit."""
        clip_ids = [value for value in request.query.get("clip_id", []) if value]
        ids = self._editor_and_broadcaster(request.query, token)
        if isinstance(ids, Response):
            return ids
        editor_id, broadcaster_id = ids
        window = self._downloads.setdefault((token.client_id, token.user_id), deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.downloads_per_minute:
            response = _helix_error(429, "Too Many Requests")
            response.headers.update(
                {
                    "Ratelimit-Limit": str(self.downloads_per_minute),
                    "Ratelimit-Remaining": "0",
                    "Ratelimit-Reset": str(math.ceil(window[0] + 60.0)),
                }
            )
            return response
        window.append(now)
        if broadcaster_id is None:
            return _helix_error(400, "The broadcaster_id query parameter is required.")
        if not 1 <= len(clip_ids) <= 10:
            return _helix_error(400, "Specify between 1 and 10 clip_id query parameters.")
        channel = self._channels.get(broadcaster_id, ChannelConfig())
        if editor_id != broadcaster_id and editor_id not in channel.editor_user_ids:
            return _helix_error(403, "The user is not an editor for the broadcaster.")
        data = []
        for clip_id in dict.fromkeys(clip_ids):
            clip = self._clips.get(clip_id)
            if clip is None or clip.broadcaster_id != broadcaster_id:
                continue
            ready = now >= clip.downloads_at
            base = f"https://clips-media-assets2.twitch.tv/{clip.clip_id}"
            data.append(
                {
                    "clip_id": clip.clip_id,
                    "landscape_download_url": f"{base}/landscape.mp4" if ready else None,
                    "portrait_download_url": f"{base}/portrait.mp4" if ready else None,
                }
            )
        return Response(200, {"data": data})

    def _get_streams(self, request: Request, token: _Token, now: float) -> Response:
        query = request.query
        user_ids = [value for value in query.get("user_id", []) if value]
        logins = {value.lower() for value in query.get("user_login", []) if value}
        if len(user_ids) + len(logins) > 100:
            return _helix_error(400, "You may specify at most 100 users.")
        first = _parse_first(query)
        if isinstance(first, Response):
            return first
        data = []
        for broadcaster_id, stream in self._streams.items():
            user = self._users[broadcaster_id]
            if (user_ids or logins) and not (
                broadcaster_id in user_ids or user.login.lower() in logins
            ):
                continue
            channel = self._channels.get(broadcaster_id, ChannelConfig())
            data.append(
                {
                    "id": stream.stream_id,
                    "user_id": broadcaster_id,
                    "user_login": user.login,
                    "user_name": user.login,
                    "game_id": channel.game_id,
                    "game_name": "",
                    "type": "live",
                    "title": "",
                    "tags": [],
                    "viewer_count": 0,
                    "started_at": _iso(stream.started_at),
                    "language": "en",
                    "thumbnail_url": (
                        "https://static-cdn.jtvnw.net/previews-ttv/"
                        f"live_user_{user.login}-{{width}}x{{height}}.jpg"
                    ),
                    "tag_ids": [],
                    "is_mature": False,
                }
            )
        return Response(200, {"data": data[:first], "pagination": {}})

    def _get_videos(self, request: Request, token: _Token, now: float) -> Response:
        parsed = _list_query(request.query, "user_id")
        if isinstance(parsed, Response):
            return parsed
        ids, user_id, game_id, first = parsed
        video_type = (_first(request.query, "type") or "all").lower()
        if video_type not in ("all", "archive", "highlight", "upload"):
            return _helix_error(400, "The type query parameter is not valid.")
        if ids:
            vods = [
                self._vods[i]
                for i in dict.fromkeys(ids)
                if i in self._vods and now >= self._vods[i].listed_at
            ]
            if not vods:
                return _helix_error(404, "The videos were not found.")
            return Response(200, {"data": [self._video_json(v) for v in vods], "pagination": {}})
        vods = sorted(
            (
                v
                for v in self._vods.values()
                if video_type in ("all", "archive")
                and now >= v.listed_at
                and (
                    v.broadcaster_id == user_id
                    if user_id
                    else self._channels.get(v.broadcaster_id, ChannelConfig()).game_id == game_id
                )
            ),
            key=lambda v: v.created_at,
            reverse=True,
        )
        return _page(vods, request.query, first, self._video_json)

    def _video_json(self, vod: _Vod) -> dict[str, Any]:
        user = self._users.get(vod.broadcaster_id)
        login = user.login if user else ""
        return {
            "id": vod.vod_id,
            "stream_id": vod.stream_id,
            "user_id": vod.broadcaster_id,
            "user_login": login,
            "user_name": login,
            "title": "",
            "description": "",
            "created_at": _iso(vod.created_at),
            "published_at": _iso(vod.created_at),
            "url": f"https://www.twitch.tv/videos/{vod.vod_id}",
            "thumbnail_url": "",
            "viewable": "public",
            "view_count": 0,
            "language": "en",
            "type": "archive",
            "duration": _twitch_duration(vod.seconds(self._clock())),
            "muted_segments": None,
        }

    # ------------------------------------------------------------------------ OAuth

    def _validate(self, request: Request, now: float) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        # Twitch documents `OAuth`, and takes `Bearer` too (twitchio validates with it).
        if scheme.lower() not in ("oauth", "bearer") or not value.strip():
            return _oauth_error(401, "missing authorization token")
        token = self._live_token(value.strip(), now)
        if token is None:
            return _oauth_error(401, "invalid access token")
        body: dict[str, Any] = {"client_id": token.client_id, "scopes": list(token.scopes)}
        if token.user_id is not None:
            body["login"] = self._users[token.user_id].login
            body["user_id"] = token.user_id
        body["expires_in"] = max(0, int(token.expires_at - now))
        return Response(200, body)

    def _token(self, request: Request, now: float) -> Response:
        params = self._params(request)
        grant_type = _first(params, "grant_type")
        client_id = _first(params, "client_id") or ""
        if client_id not in self._apps:
            return _oauth_error(400, "invalid client")
        if _first(params, "client_secret") != self._apps[client_id]:
            return _oauth_error(403, "invalid client secret")
        if grant_type == "refresh_token":
            refresh = _first(params, "refresh_token") or ""
            grant = self._refresh.get(refresh)
            if grant is None or grant.client_id != client_id:
                return _oauth_error(400, "Invalid refresh token")
            del self._refresh[refresh]
            return self._token_response(grant.client_id, grant.user_id, grant.scopes)
        if grant_type == "authorization_code":
            code = self._codes.get(_first(params, "code") or "")
            if code is None or code.client_id != client_id:
                return _oauth_error(400, "Invalid authorization code")
            if _first(params, "redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "Parameter redirect_uri does not match registered URI")
            del self._codes[_first(params, "code") or ""]
            return self._token_response(code.client_id, code.user_id, code.scopes)
        if grant_type == "client_credentials":
            token = self.add_app_token(client_id)
            return Response(
                200, {"access_token": token, "expires_in": APP_TOKEN_TTL, "token_type": "bearer"}
            )
        return _oauth_error(400, "unsupported grant type")

    def _token_response(self, client_id: str, user_id: str, scopes: tuple[str, ...]) -> Response:
        access, refresh = self._issue_user_tokens(client_id, user_id, scopes, None, None)
        return Response(
            200,
            {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": USER_TOKEN_TTL,
                "scope": list(scopes),
                "token_type": "bearer",
            },
        )

    def _authorize(self, request: Request, now: float) -> Response:
        """Local stand-in for Twitch's consent page: approve at once as ``authorize_as`` user."""
        query = request.query
        client_id = _first(query, "client_id") or ""
        redirect_uri = _first(query, "redirect_uri") or ""
        if client_id not in self._apps:
            return _oauth_error(400, "invalid client")
        if not redirect_uri.startswith(("http://", "https://")):
            return _oauth_error(400, "Parameter redirect_uri is required")
        if _first(query, "response_type") != "code":
            return _oauth_error(400, "Parameter response_type must be code")
        scopes = tuple((_first(query, "scope") or "").split())
        params: dict[str, str] = {}
        if self._authorize_user is None:
            params = {"error": "access_denied", "error_description": "The user denied you access"}
        else:
            code = _new_token()
            self._codes[code] = _Code(client_id, self._authorize_user, scopes, redirect_uri)
            self._issued_codes.append(code)
            params = {"code": code, "scope": " ".join(scopes)}
        state = _first(query, "state")
        if state is not None:
            params["state"] = state
        parts = urlsplit(redirect_uri)
        joined = "&".join(filter(None, [parts.query, urlencode(params)]))
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))
        return Response(302, None, {"Location": location})

    # ---------------------------------------------------------------------- helpers

    def _require_app(self, client_id: str) -> None:
        if client_id not in self._apps:
            raise ValueError(f"unknown client id {client_id!r}: call add_app first")

    def _require_user(self, user_id: str) -> None:
        if user_id not in self._users:
            raise ValueError(f"unknown user {user_id!r}: call add_user first")

    def _issue_user_tokens(
        self,
        client_id: str,
        user_id: str,
        scopes: tuple[str, ...],
        access_token: str | None,
        refresh_token: str | None,
        expires_in: int = USER_TOKEN_TTL,
    ) -> tuple[str, str]:
        access = access_token or _new_token()
        refresh = refresh_token or _new_token()
        self._tokens[access] = _Token(
            access, client_id, user_id, scopes, self._clock() + expires_in
        )
        self._refresh[refresh] = _Grant(client_id, user_id, scopes)
        self._grants.setdefault((client_id, user_id), set()).update(scopes)
        return access, refresh

    # ------------------------------------------------------- viewers' clips (chat tuning)

    def add_viewer_clips(
        self, broadcaster_id: str, moments: Iterable[float], *, seed: int = 0
    ) -> list[str]:
        """Clips viewers made of moments (Unix seconds), as Get Clips lists them after the
        stream: one to three per moment, each pressed 5 to 25 s after it (the stream delay and
        a viewer's reaction), ending then and covering 20, 30 or 60 s before; `vod_offset`
        is where the clip starts in the archive that was recording (None without one);
        views heavy-tailed. Visible at once."""
        rng = random.Random(seed)
        made: list[str] = []
        with self._lock:
            self._require_user(broadcaster_id)
            for moment in moments:
                for _ in range(rng.choice((1, 1, 2, 3))):
                    created = moment + rng.uniform(5.0, 25.0)
                    duration = float(rng.choice((30, 30, 20, 60)))
                    start = max(0.0, created - duration)
                    vod = next(
                        (
                            v
                            for v in self._vods.values()
                            if v.broadcaster_id == broadcaster_id
                            and v.created_at <= start <= v.created_at + v.seconds(created)
                        ),
                        None,
                    )
                    clip = _Clip(
                        broadcaster_id,
                        f"{broadcaster_id}{rng.randrange(10_000, 99_999)}",
                        "what a moment",
                        duration,
                        vod.vod_id if vod else "",
                        int(start - vod.created_at) if vod else None,
                        created,
                        visible_at=created,
                        downloads_at=created,
                        view_count=int(rng.lognormvariate(3.0, 1.2)),
                    )
                    self._clips[clip.clip_id] = clip
                    made.append(clip.clip_id)
        return made
