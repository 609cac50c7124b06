"""The Twitch calls Byte Clips needs (clips, clip downloads, the stream and its archives that
decide where a moment is clipped, token validate/refresh), nothing more.

Every call is checked locally before any HTTP, paced by the per-token `HelixBucket` (and the
100-per-minute `WindowLimiter` for downloads), and retried only as `retry_policy.decide()` says.
Failures surface as the typed `ClipError`s of `shared.domain.errors`; tokens and secrets are
registered with `shared.logs` and never appear in exception text or log lines.

A caller holding a lease passes `deadline` (Unix seconds on this client's clock): every wait,
retry and try then ends by it, or the call raises `DeadlineReached` before sending. A create
that got no answer is never sent again (`CreateUnanswered`): Twitch may have made the clip.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import requests
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from shared.domain.clip_candidate import check_duration, check_numeric_id, clean_title
from shared.domain.errors import (
    CLIP_ERRORS,
    ClipError,
    ClipUnauthorized,
    ClipUnknown,
    ErrorCode,
    FieldProblem,
    InvalidInput,
)
from shared.domain.rate_limits import Clock, HelixBucket, WindowLimiter
from shared.domain.retry_policy import RetryAction, RetryLimits, decide, rate_limit_reset
from shared.domain.twitch_models import (
    Clip,
    ClipDownload,
    ClipPage,
    CreatedClip,
    Stream,
    TokenGrant,
    TokenInfo,
    TokenSource,
    Video,
)
from shared.domain.validation import field_problems
from shared.logs import register_secret

DEFAULT_API_BASE = "https://api.twitch.tv/helix"
DEFAULT_AUTH_BASE = "https://id.twitch.tv/oauth2"
DEFAULT_TIMEOUT = (3.05, 10.0)
MAX_CLIP_IDS_PER_CALL = 100
MAX_DOWNLOAD_IDS_PER_CALL = 10
DOWNLOADS_PER_MINUTE = 100
_MAX_BUCKETS = 256
# The least time a try is sent with before a deadline (Twitch answers in well under a second).
MIN_TRY_SECONDS = 1.0
# A 401's refresh may wait up to 20 s for another holder of the token's refresh lease, then
# call the token endpoint: with less than this left before its deadline, a create hands back.
REFRESH_BUDGET_SECONDS = 25.0

logger = logging.getLogger(__name__)

Sleep = Callable[[float], None]
_Model = TypeVar("_Model", bound=BaseModel)


class _Created(BaseModel):
    data: list[CreatedClip]


class _Pagination(BaseModel):
    cursor: str | None = None


class _Clips(BaseModel):
    data: list[Clip]
    pagination: _Pagination = _Pagination()


class _Downloads(BaseModel):
    data: list[ClipDownload]


class _Streams(BaseModel):
    data: list[Stream]


class _Videos(BaseModel):
    data: list[Video]


class _Validated(BaseModel):
    client_id: str
    login: str | None = None
    scopes: list[str] | None = None
    user_id: str | None = None
    expires_in: int


class _Grant(BaseModel):
    """The token endpoint's answer. Twitch's refresh guide shows it both with `scope` as one
    string and as a list, and once without `expires_in`; all of these are read."""

    model_config = ConfigDict(hide_input_in_errors=True)

    access_token: str
    refresh_token: str
    expires_in: int | None = None
    scope: list[str] | None = None

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_text(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value


class DeadlineReached(ClipUnknown):
    """Not sent: the next try (or its wait) could not end by the caller's deadline, or a clip
    planned for a moment would be created too late. Nothing went out with this try, so the
    caller may hand the job back; `retry_at` is the earliest the call could go."""

    def __init__(self, what: str, retry_at: datetime) -> None:
        super().__init__(detail=f"{what} was not sent: it could not finish before the deadline")
        self.retry_at = retry_at


class CreateUnanswered(ClipUnknown):
    """A create call got no answer (a timeout or a dropped connection after sending): Twitch
    may or may not have made the clip, so it is never sent again; look for the clip instead."""


@dataclass(frozen=True)
class _Target:
    """One HTTP call to make: which API, method, path, query and form, and the success status.

    `idempotent` False (the creates): a try whose answer was lost is not repeated."""

    api: Literal["helix", "auth"]
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    expect: int = 200
    idempotent: bool = True


@dataclass(frozen=True)
class _Limits:
    """The caller's time limits for one call, in Unix seconds on the client's clock, and what
    it runs right before each try goes out (after every wait; raising stops the call unsent)."""

    deadline: float | None = None
    send_by: float | None = None
    before_send: Callable[[], None] | None = None


def _refuse(what: str, problems: list[FieldProblem]) -> None:
    if problems:
        raise InvalidInput(what, problems)


def _numeric(value: Any, name: str, what: str, problems: list[FieldProblem]) -> str:
    try:
        return check_numeric_id(value, what)
    except ValueError as error:
        problems.append(FieldProblem(name, str(error)))
        return ""


def _duration(value: Any, problems: list[FieldProblem]) -> float:
    try:
        return check_duration(value)
    except ValueError as error:
        problems.append(FieldProblem("duration", str(error)))
        return 0.0


def _title(value: Any, problems: list[FieldProblem]) -> str | None:
    try:
        return clean_title(value)
    except ValueError as error:
        problems.append(FieldProblem("title", str(error)))
        return None


def _clip_ids(value: Any, name: str, problems: list[FieldProblem]) -> list[str]:
    """Clip ids are slugs, not numbers: non-empty text, duplicates dropped, order kept."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        problems.append(FieldProblem(name, "must be a list of clip ids"))
        return []
    if not value:
        problems.append(FieldProblem(name, "must name at least one clip id"))
        return []
    if not all(isinstance(item, str) and item.strip() for item in value):
        problems.append(FieldProblem(name, "every clip id must be non-empty text"))
        return []
    return list(dict.fromkeys(item.strip() for item in value))


def _page_size(first: Any, problems: list[FieldProblem]) -> str:
    if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first <= 100:
        problems.append(FieldProblem("first", "must be a whole number from 1 to 100"))
    return str(first)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _seconds(value: float) -> str:
    return f"{value:g}"


def _json_body(response: requests.Response | None) -> dict[str, Any]:
    if response is None or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _twitch_message(body: Mapping[str, Any]) -> str:
    message = body.get("message")
    return message.strip() if isinstance(message, str) else ""


def _never_sent(failure: Exception) -> bool:
    """A connection that was never made carried no request (unlike a read timeout or a
    connection dropped after sending)."""
    if isinstance(failure, requests.ConnectTimeout):
        return True
    text = repr(failure.args[0]) if failure.args else ""
    return "NewConnectionError" in text or "Connection refused" in text


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HelixClips:
    """Twitch's clip calls over one pooled session, paced, retried by policy, typed errors.

    `sleep` and `clock` (Unix seconds) are injectable so tests can observe every wait.
    One instance is meant to be shared by the threads of a process: its per-token buckets and
    its downloads limiter only pace what this instance sends.
    """

    def __init__(
        self,
        client_id: str | None = None,
        *,
        api_base: str | None = None,
        auth_base: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        limits: RetryLimits | None = None,
        downloads_per_minute: int = DOWNLOADS_PER_MINUTE,
        max_inline_wait: float = math.inf,
    ) -> None:
        resolved = client_id or os.environ.get("TWITCH_CLIENT_ID", "")
        if not resolved:
            raise ValueError("a Twitch client id is required (argument or TWITCH_CLIENT_ID)")
        self.client_id = resolved
        api = api_base or os.environ.get("TWITCH_API_BASE") or DEFAULT_API_BASE
        auth = auth_base or os.environ.get("TWITCH_AUTH_BASE") or DEFAULT_AUTH_BASE
        self.api_base = api.rstrip("/")
        self.auth_base = auth.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._limits = limits or RetryLimits()
        self._downloads = WindowLimiter(downloads_per_minute, 60.0, clock=clock)
        self._max_inline_wait = max_inline_wait
        self._buckets: dict[str, HelixBucket] = {}
        self._buckets_lock = threading.Lock()

    @property
    def max_inline_wait(self) -> float:
        """The longest wait this client sleeps through; a longer one comes back as `retry_at`."""
        return self._max_inline_wait

    def now(self) -> float:
        """This client's clock (Unix seconds), the one `deadline` and `send_by` are read on."""
        return self._clock()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HelixClips:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------------- clips

    def create_clip(
        self,
        tokens: TokenSource,
        *,
        broadcaster_id: str,
        title: str | None = None,
        duration: float | None = None,
        retry: bool = True,
        deadline: float | None = None,
        send_by: float | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> CreatedClip:
        """POST /clips. Only a 202 with an id is an answer; the clip still needs confirming.

        `send_by`: no try goes out after it (a later one would cut the moment's pre-roll).
        `before_send` runs right before each try goes out, after any wait for the rate-limit
        bucket (the worker marks its create sent there, docs/architecture.md §5.1). No
        `has_delay`: Twitch removed it from Create Clip (§6.1), so it is never sent."""
        problems: list[FieldProblem] = []
        params: dict[str, str] = {
            "broadcaster_id": _numeric(broadcaster_id, "broadcaster_id", "broadcaster", problems)
        }
        cleaned = _title(title, problems)
        if cleaned is not None:
            params["title"] = cleaned
        if duration is not None:
            params["duration"] = _seconds(_duration(duration, problems))
        _refuse("create clip request", problems)
        target = _Target("helix", "POST", "/clips", params=params, expect=202, idempotent=False)
        limits = _Limits(deadline, send_by, before_send)
        return self._created(self._run(target, tokens=tokens, retry=retry, limits=limits), target)

    def create_clip_from_vod(
        self,
        tokens: TokenSource,
        *,
        editor_id: str,
        broadcaster_id: str,
        vod_id: str,
        vod_offset: float,
        title: str,
        duration: float,
        retry: bool = True,
        deadline: float | None = None,
        before_send: Callable[[], None] | None = None,
    ) -> CreatedClip:
        """POST /videos/clips. `vod_offset` is where the clip ends, sent as whole seconds up;
        `before_send` as for `create_clip`."""
        problems: list[FieldProblem] = []
        params: dict[str, str] = {
            "editor_id": _numeric(editor_id, "editor_id", "editor (user)", problems),
            "broadcaster_id": _numeric(broadcaster_id, "broadcaster_id", "broadcaster", problems),
            "vod_id": _numeric(vod_id, "vod_id", "video (VOD)", problems),
        }
        cleaned = _title(title, problems)
        if cleaned is None and not any(p.field == "title" for p in problems):
            problems.append(FieldProblem("title", "is required for a VOD clip"))
        checked = _duration(duration, problems)
        offset_ok = (
            not isinstance(vod_offset, bool)
            and isinstance(vod_offset, int | float)
            and math.isfinite(vod_offset)
            and vod_offset >= 0
        )
        if not offset_ok:
            problems.append(FieldProblem("vod_offset", "must be a number of seconds into the VOD"))
        elif checked and vod_offset < checked:
            problems.append(
                FieldProblem(
                    "vod_offset",
                    f"must be at least the duration ({checked:g} s): "
                    "it is where the clip ends, not where it starts",
                )
            )
        _refuse("VOD clip request", problems)
        params.update(
            vod_offset=str(math.ceil(vod_offset)), title=cleaned or "", duration=_seconds(checked)
        )
        target = _Target(
            "helix", "POST", "/videos/clips", params=params, expect=202, idempotent=False
        )
        limits = _Limits(deadline, before_send=before_send)
        return self._created(self._run(target, tokens=tokens, retry=retry, limits=limits), target)

    def get_clips(
        self,
        tokens: TokenSource,
        ids: Sequence[str],
        *,
        retry: bool = True,
        deadline: float | None = None,
    ) -> list[Clip]:
        """GET /clips?id=…, 100 ids per call; clips Twitch does not (yet) show are absent."""
        problems: list[FieldProblem] = []
        unique = _clip_ids(ids, "ids", problems)
        _refuse("get clips request", problems)
        clips: list[Clip] = []
        for batch in _chunks(unique, MAX_CLIP_IDS_PER_CALL):
            page = self._get(_Clips, "/clips", {"id": batch}, tokens, retry, deadline=deadline)
            clips.extend(page.data)
        return clips

    def get_clips_by_broadcaster(
        self,
        tokens: TokenSource,
        broadcaster_id: str,
        *,
        first: int = 20,
        after: str | None = None,
        before: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        retry: bool = True,
        deadline: float | None = None,
    ) -> ClipPage:
        """GET /clips?broadcaster_id=…, one page; pass the cursor back as `after` for the next.

        `started_at`/`ended_at` (aware datetimes) limit it to clips created in that window."""
        problems: list[FieldProblem] = []
        params: dict[str, Any] = {
            "broadcaster_id": _numeric(broadcaster_id, "broadcaster_id", "broadcaster", problems)
        }
        for name, value in (("started_at", started_at), ("ended_at", ended_at)):
            if value is None:
                continue
            if not isinstance(value, datetime) or value.tzinfo is None:
                problems.append(FieldProblem(name, "must be a timezone-aware datetime"))
            else:
                params[name] = _rfc3339(value)
        window = "started_at" in params and "ended_at" in params
        if window and ended_at is not None and started_at is not None and ended_at < started_at:
            problems.append(FieldProblem("ended_at", "must not be before started_at"))
        params["first"] = _page_size(first, problems)
        if after and before:
            problems.append(FieldProblem("before", "give either after or before, not both"))
        if after:
            params["after"] = after
        if before:
            params["before"] = before
        _refuse("get clips request", problems)
        parsed = self._get(_Clips, "/clips", params, tokens, retry, deadline=deadline)
        return ClipPage(parsed.data, parsed.pagination.cursor or None)

    def clips_in_window(
        self,
        tokens: TokenSource,
        broadcaster_id: str,
        started_at: datetime,
        ended_at: datetime,
        *,
        max_pages: int,
        deadline: float | None = None,
    ) -> list[Clip]:
        """Every clip of a channel created in [started_at, ended_at], page after page (100 a
        page), at most `max_pages` pages: Twitch serves about 1,000 in all."""
        clips: list[Clip] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = self.get_clips_by_broadcaster(
                tokens,
                broadcaster_id,
                first=MAX_CLIP_IDS_PER_CALL,
                after=cursor,
                started_at=started_at,
                ended_at=ended_at,
                deadline=deadline,
            )
            clips.extend(page.clips)
            cursor = page.cursor
            if not cursor:
                break
        return clips

    def get_clip_downloads(
        self,
        tokens: TokenSource,
        *,
        editor_id: str,
        broadcaster_id: str,
        clip_ids: Sequence[str],
        retry: bool = True,
    ) -> list[ClipDownload]:
        """GET /clips/downloads, 10 ids per call, at most 100 calls a minute per client."""
        problems: list[FieldProblem] = []
        params: dict[str, Any] = {
            "editor_id": _numeric(editor_id, "editor_id", "editor (user)", problems),
            "broadcaster_id": _numeric(broadcaster_id, "broadcaster_id", "broadcaster", problems),
        }
        unique = _clip_ids(clip_ids, "clip_ids", problems)
        _refuse("clip downloads request", problems)
        downloads: list[ClipDownload] = []
        for batch in _chunks(unique, MAX_DOWNLOAD_IDS_PER_CALL):
            batch_params = {**params, "clip_id": batch}
            page = self._get(
                _Downloads, "/clips/downloads", batch_params, tokens, retry, limiter=self._downloads
            )
            downloads.extend(page.data)
        return downloads

    # ------------------------------------------------------------ stream and archives

    def get_streams(
        self,
        tokens: TokenSource,
        user_id: str,
        *,
        retry: bool = True,
        deadline: float | None = None,
    ) -> Stream | None:
        """GET /streams?user_id=…: the channel's live broadcast, or None while it is offline."""
        problems: list[FieldProblem] = []
        params = {"user_id": _numeric(user_id, "user_id", "broadcaster", problems)}
        _refuse("get streams request", problems)
        streams = self._get(_Streams, "/streams", params, tokens, retry, deadline=deadline)
        wanted = params["user_id"]
        return next((s for s in streams.data if s.user_id == wanted and s.type == "live"), None)

    def get_archive_videos(
        self,
        tokens: TokenSource,
        user_id: str,
        *,
        first: int = 20,
        retry: bool = True,
        deadline: float | None = None,
    ) -> list[Video]:
        """GET /videos?user_id=…&type=archive: the channel's archives, newest first (one page)."""
        problems: list[FieldProblem] = []
        params: dict[str, str] = {
            "user_id": _numeric(user_id, "user_id", "broadcaster", problems),
            "type": "archive",
        }
        params["first"] = _page_size(first, problems)
        _refuse("get videos request", problems)
        videos = self._get(_Videos, "/videos", params, tokens, retry, deadline=deadline)
        return [v for v in videos.data if v.type == "archive"]

    # ------------------------------------------------------------------------- OAuth

    def validate_token(self, access_token: str) -> TokenInfo:
        """GET /oauth2/validate; a 401 (invalid or expired token) is ClipUnauthorized."""
        _refuse("token validation", self._secret_problems(access_token=access_token))
        target = _Target("auth", "GET", "/validate")
        parsed = self._parse(_Validated, self._run(target, oauth_token=access_token), target)
        return TokenInfo(
            client_id=parsed.client_id,
            login=parsed.login,
            scopes=tuple(parsed.scopes or ()),
            user_id=parsed.user_id,
            expires_in=parsed.expires_in,
        )

    def refresh_token(self, refresh_token: str, *, client_secret: str) -> TokenGrant:
        """POST /oauth2/token grant_type=refresh_token; any refusal is ClipUnauthorized."""
        _refuse(
            "token refresh",
            self._secret_problems(refresh_token=refresh_token, client_secret=client_secret),
        )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": client_secret,
        }
        return self._grant(_Target("auth", "POST", "/token", form=form))

    def refresher(self, client_secret: str) -> Callable[[str], TokenGrant]:
        """What `TwitchTokenStore.refresh` calls: Twitch's token endpoint with our secret."""
        return lambda refresh_token: self.refresh_token(refresh_token, client_secret=client_secret)

    def exchange_code(self, code: str, *, redirect_uri: str, client_secret: str) -> TokenGrant:
        """POST /oauth2/token grant_type=authorization_code, the end of the connect flow."""
        problems = self._secret_problems(code=code, client_secret=client_secret)
        if not isinstance(redirect_uri, str) or not redirect_uri.startswith(
            ("http://", "https://")
        ):
            problems.append(FieldProblem("redirect_uri", "must be the registered http(s) URL"))
        _refuse("authorization code exchange", problems)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "client_secret": client_secret,
        }
        return self._grant(_Target("auth", "POST", "/token", form=form))

    # ---------------------------------------------------------------------- internals

    @staticmethod
    def _secret_problems(**secrets: Any) -> list[FieldProblem]:
        problems = []
        for name, value in secrets.items():
            if isinstance(value, str) and value.strip():
                register_secret(value)
            else:
                problems.append(FieldProblem(name, "is required"))
        return problems

    def _grant(self, target: _Target) -> TokenGrant:
        parsed = self._parse(_Grant, self._run(target), target)
        register_secret(parsed.access_token)
        register_secret(parsed.refresh_token)
        expires_in = parsed.expires_in
        if expires_in is None:
            expires_in = self._lifetime(parsed.access_token)
        return TokenGrant(
            access_token=parsed.access_token,
            refresh_token=parsed.refresh_token,
            expires_in=expires_in,
            scopes=tuple(parsed.scope or ()),
        )

    def _lifetime(self, access_token: str) -> int:
        """A new token's `expires_in` when the grant left it out, as /validate reports it.

        One try only, as a refresh may run inside a lease. The grant is never lost over it
        (the old refresh token may be spent already): if /validate fails, 0 is kept, so the
        token counts as expiring and is checked again."""
        target = _Target("auth", "GET", "/validate")
        try:
            body = self._run(target, oauth_token=access_token, retry=False)
            return self._parse(_Validated, body, target).expires_in
        except ClipError as error:
            logger.warning(
                "twitch token grant without expires_in, and /validate failed (%s)",
                error.code,
                extra={"error_code": error.code},
            )
            return 0

    def _created(self, body: dict[str, Any], target: _Target) -> CreatedClip:
        data = self._parse(_Created, body, target).data
        if not data or not data[0].id:
            error = ClipUnknown(_twitch_message(body), http_status=target.expect)
            error.add_note(f"{target.method} {target.path}: the answer carried no clip id")
            raise error
        return data[0]

    def _get(
        self,
        model: type[_Model],
        path: str,
        params: Mapping[str, Any],
        tokens: TokenSource,
        retry: bool,
        *,
        deadline: float | None = None,
        limiter: WindowLimiter | None = None,
    ) -> _Model:
        """One Helix GET, its answer parsed as `model`."""
        target = _Target("helix", "GET", path, params=params)
        body = self._run(
            target, tokens=tokens, retry=retry, limiter=limiter, limits=_Limits(deadline)
        )
        return self._parse(model, body, target)

    def _parse(self, model: type[_Model], body: dict[str, Any], target: _Target) -> _Model:
        """Parse a success body; a shape Twitch does not document is ClipUnknown."""
        try:
            return model.model_validate(body)
        except ValidationError as error:
            fields = ", ".join(p.field for p in field_problems(error))
            unknown = ClipUnknown(http_status=target.expect)
            unknown.add_note(f"{target.method} {target.path}: unexpected answer ({fields})")
            raise unknown from None

    def _bucket(self, token: str) -> HelixBucket:
        key = hashlib.sha256(token.encode()).hexdigest()
        with self._buckets_lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                while len(self._buckets) >= _MAX_BUCKETS:
                    del self._buckets[next(iter(self._buckets))]
                bucket = self._buckets[key] = HelixBucket(self._clock)
            return bucket

    def _wait(self, seconds: float, target: _Target, limits: _Limits) -> None:
        """Sleep before a try, unless the try would then go out after `send_by` or could not
        end by `deadline` (DeadlineReached: nothing sent)."""
        go_at = self._clock() + max(seconds, 0.0)
        late = limits.send_by is not None and go_at > limits.send_by
        if late or (limits.deadline is not None and go_at + MIN_TRY_SECONDS > limits.deadline):
            raise DeadlineReached(
                f"{target.method} {target.path}", datetime.fromtimestamp(go_at, tz=UTC)
            )
        if seconds > 0:
            self._sleep(seconds)

    def _try_timeout(self, limits: _Limits) -> tuple[float, float]:
        """The configured timeouts, the read one cut so the answer is due by the deadline."""
        if limits.deadline is None:
            return self._timeout
        connect, read = self._timeout
        left = max(limits.deadline - self._clock(), MIN_TRY_SECONDS)
        connect = min(connect, left * 0.3)
        return (connect, min(read, left - connect))

    def _send(
        self, target: _Target, token: str | None, timeout: tuple[float, float]
    ) -> tuple[requests.Response | None, Exception | None]:
        headers: dict[str, str] = {}
        if target.api == "helix":
            headers = {"Authorization": f"Bearer {token}", "Client-Id": self.client_id}
            url = self.api_base + target.path
        else:
            if token is not None:
                headers["Authorization"] = f"OAuth {token}"
            url = self.auth_base + target.path
        try:
            response = self._session.request(
                target.method,
                url,
                params=target.params,
                data=target.form,
                headers=headers,
                timeout=timeout,
            )
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as failure:
            return None, failure
        return response, None

    def _run(
        self,
        target: _Target,
        *,
        tokens: TokenSource | None = None,
        oauth_token: str | None = None,
        retry: bool = True,
        limiter: WindowLimiter | None = None,
        limits: _Limits = _Limits(),
    ) -> dict[str, Any]:
        """Send until success or a final decision of `decide()`; return the JSON body."""
        token = tokens.access_token() if tokens is not None else oauth_token
        register_secret(token)
        refreshed = tokens is None
        tries = 0
        while True:
            if limiter is not None:
                self._wait(limiter.reserve(), target, limits)
            bucket = self._bucket(token or "") if target.api == "helix" else None
            self._wait(bucket.reserve() if bucket is not None else 0.0, target, limits)
            if limits.before_send is not None:
                limits.before_send()
            tries += 1
            started = time.monotonic()
            response, failure = self._send(target, token, self._try_timeout(limits))
            duration_ms = round((time.monotonic() - started) * 1000)
            status = response.status_code if response is not None else None
            headers: Mapping[str, str] = response.headers if response is not None else {}
            if bucket is not None:
                bucket.observe(headers)
            body = _json_body(response)
            line = {
                "api": target.api,
                "method": target.method,
                "path": target.path,
                "status": status,
                "duration_ms": duration_ms,
                "attempt": tries,
            }
            if status == target.expect:
                logger.info(
                    "twitch call %s %s -> %s", target.method, target.path, status, extra=line
                )
                return body
            now = datetime.fromtimestamp(self._clock(), tz=UTC)
            if status is not None and 200 <= status < 300:
                logger.warning(
                    "twitch call %s %s -> unexpected %s",
                    target.method,
                    target.path,
                    status,
                    extra=line,
                )
                unexpected = ClipUnknown(_twitch_message(body), http_status=status)
                unexpected.add_note(f"expected HTTP {target.expect}")
                raise unexpected
            if failure is not None and not target.idempotent and not _never_sent(failure):
                logger.warning(
                    "twitch call %s %s -> no answer; not sent again (it may have been made)",
                    target.method,
                    target.path,
                    extra={**line, "error_code": ErrorCode.UNKNOWN.value, "next": "final"},
                )
                unanswered = CreateUnanswered(detail="Twitch did not answer the create call")
                unanswered.add_note(f"{target.method} {target.path}: no answer")
                raise unanswered from failure
            decision = decide(
                status, headers, tries, now, token_refreshed=refreshed, limits=self._limits
            )
            action = decision.action
            if decision.retry_at is not None and (
                not retry or self._beyond(decision.retry_at, now, limits)
            ):
                action = RetryAction.FINAL
            if not retry and not decision.refresh_token:
                action = RetryAction.FINAL
            logger.warning(
                "twitch call %s %s -> %s (%s)",
                target.method,
                target.path,
                status if status is not None else "no answer",
                action.value,
                extra={**line, "error_code": decision.error_code.value, "next": action.value},
            )
            if action is RetryAction.FINAL:
                error = self._error(target, decision.error_code, status, headers, body, failure)
                if decision.action is not RetryAction.FINAL:
                    error.retry_at = decision.retry_at
                raise error from failure
            if decision.refresh_token and tokens is not None:
                left = None if limits.deadline is None else limits.deadline - self._clock()
                # A create is sent again only if a refresh that waits its longest still
                # leaves a try inside the deadline; a read may overrun it instead of failing.
                needed = REFRESH_BUDGET_SECONDS if not target.idempotent else MIN_TRY_SECONDS
                if left is not None and left < needed:
                    raise DeadlineReached(f"{target.method} {target.path} (token refresh)", now)
                token = tokens.refreshed_access_token(token or "")
                register_secret(token)
                refreshed = True
            elif decision.retry_at is not None:
                self._wait((decision.retry_at - now).total_seconds(), target, limits)

    def _beyond(self, retry_at: datetime, now: datetime, limits: _Limits) -> bool:
        """A retry this client does not wait for: longer than its inline wait, or past the
        caller's deadline or send-by time; the error then carries `retry_at`."""
        at = retry_at.timestamp()
        if (retry_at - now).total_seconds() > self._max_inline_wait:
            return True
        if limits.send_by is not None and at > limits.send_by:
            return True
        return limits.deadline is not None and at + MIN_TRY_SECONDS > limits.deadline

    def _error(
        self,
        target: _Target,
        code: ErrorCode,
        status: int | None,
        headers: Mapping[str, str],
        body: Mapping[str, Any],
        failure: Exception | None,
    ) -> ClipError:
        """The typed error; OAuth token refusals all mean the Twitch connection must be redone."""
        cls: type[ClipError] = CLIP_ERRORS[code]
        if target.api == "auth" and status is not None and 400 <= status < 500 and status != 429:
            cls = ClipUnauthorized
        reset_at = rate_limit_reset(headers) if status == 429 else None
        if status == 429 and reset_at is None:
            reset_at = datetime.fromtimestamp(
                self._clock() + self._limits.rate_limit_fallback_seconds, tz=UTC
            )
        error = cls(_twitch_message(body), http_status=status, reset_at=reset_at)
        if failure is not None:
            kind = "timed out" if isinstance(failure, requests.Timeout) else "connection failed"
            error.add_note(f"{target.method} {target.path}: {kind}")
        return error
