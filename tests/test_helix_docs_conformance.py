"""The Helix client against a Twitch double built from Twitch's own reference, not from our
simulator: every answer here is a shape the documentation shows or allows.

Sources: dev.twitch.tv/docs/api/reference/clips (Get Clips, Get Clips Download, Create Clip),
/docs/api/reference (Get Streams, Get Videos), /docs/api/guide (rate limits),
/docs/authentication/validate-tokens and /docs/authentication/refresh-tokens.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.domain.errors import ClipRateLimited, ClipUnauthorized, ClipUnknown
from shared.twitch.helix_clips import HelixClips
from tests.test_helix_clips import T0, FakeTime

CLIENT_ID = "docsclient"
CLIENT_SECRET = "docsclientsecret-xyz"
ACCESS = "docsaccesstoken-0123456789"
# The refresh guide's example pair (dev.twitch.tv/docs/authentication/refresh-tokens).
NEW_ACCESS = "1ssjqsqfy6bads1ws7m03gras79zfr"
NEW_REFRESH = "eyJfMzUtNDU0OC4MWYwLTQ5MDY5ODY4NGNlMSJ9%asdfasdf="

Answer = tuple[int, dict[str, str], object]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class DocsDouble:
    """Answers each `(method, path)` from a queue of scripted answers (the last one repeats)
    and records every request it got."""

    answers: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    base: str = ""

    def answer(self, method: str, path: str, *answers: Answer) -> None:
        self.answers[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def next_answer(self, method: str, path: str) -> Answer:
        queue = self.answers.get((method, path))
        if not queue:
            return 404, {}, {"error": "Not Found", "status": 404, "message": ""}
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler(double: DocsDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            double.seen.append(
                Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    parse_qs(raw),
                )
            )
            status, headers, body = double.next_answer(self.command, parts.path)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads `double.seen` instead."""

    return Handler


class Tokens:
    def access_token(self) -> str:
        return ACCESS

    def refreshed_access_token(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


@pytest.fixture
def double() -> Iterator[DocsDouble]:
    made = DocsDouble()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    made.base = f"http://127.0.0.1:{server.server_port}"
    try:
        yield made
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(double: DocsDouble, time_: FakeTime) -> Iterator[HelixClips]:
    made = HelixClips(
        CLIENT_ID,
        api_base=double.base + "/helix",
        auth_base=double.base + "/oauth2",
        timeout=(2.0, 2.0),
        sleep=time_.sleep,
        clock=time_.clock,
    )
    yield made
    made.close()


def doc_clip(**changes: Any) -> dict[str, Any]:
    """Get Clips' documented clip: `video_id` empty and `vod_offset` null while the VOD is not
    available, plus a field the reference does not list (Twitch adds fields over time)."""
    clip: dict[str, Any] = {
        "id": "AwkwardHelplessSalamanderSwiftRage",
        "url": "https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage",
        "embed_url": "https://clips.twitch.tv/embed?clip=AwkwardHelplessSalamanderSwiftRage",
        "broadcaster_id": "67955580",
        "broadcaster_name": "ChewieMelodies",
        "creator_id": "53834192",
        "creator_name": "BlackNova03",
        "video_id": "",
        "game_id": "",
        "language": "en",
        "title": "babymetal",
        "view_count": 10,
        "created_at": "2017-11-30T22:34:18Z",
        "thumbnail_url": "",
        "duration": 12.9,
        "vod_offset": None,
        "is_featured": False,
        "a_field_added_later": {"x": 1},
    }
    clip.update(changes)
    return clip


# ------------------------------------------------------------------ OAuth token refresh


def granted(**fields: Any) -> Answer:
    """The token endpoint's 200 with the refresh guide's example pair and `fields`."""
    example = {"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH, "token_type": "bearer"}
    return 200, {}, example | fields


def test_refresh_answer_with_scope_as_one_string_is_read(
    double: DocsDouble, client: HelixClips
) -> None:
    """The refresh guide's first example carries `"scope": "channel:read:subscriptions"`."""
    double.answer(
        "POST",
        "/oauth2/token",
        granted(expires_in=5215742, scope="channel:read:subscriptions"),
    )
    grant = client.refresh_token("oldrefreshtoken-abc", client_secret=CLIENT_SECRET)
    assert grant.scopes == ("channel:read:subscriptions",)
    assert (grant.access_token, grant.refresh_token, grant.expires_in) == (
        NEW_ACCESS,
        NEW_REFRESH,
        5215742,
    )
    (sent,) = double.calls("POST", "/oauth2/token")
    assert sent.form == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["oldrefreshtoken-abc"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


def test_refresh_answer_without_expires_in_takes_it_from_validate(
    double: DocsDouble, client: HelixClips
) -> None:
    """The refresh guide's "if the request succeeds" example has no `expires_in`; /validate
    tells when the new token expires."""
    double.answer(
        "POST",
        "/oauth2/token",
        granted(scope=["channel:read:subscriptions", "channel:manage:polls"]),
    )
    double.answer(
        "GET",
        "/oauth2/validate",
        (
            200,
            {},
            {
                "client_id": CLIENT_ID,
                "login": "twitchdev",
                "scopes": ["channel:read:subscriptions", "channel:manage:polls"],
                "user_id": "141981764",
                "expires_in": 5520838,
            },
        ),
    )
    grant = client.refresh_token("oldrefreshtoken-abc", client_secret=CLIENT_SECRET)
    assert grant.expires_in == 5520838
    assert grant.scopes == ("channel:read:subscriptions", "channel:manage:polls")
    (validated,) = double.calls("GET", "/oauth2/validate")
    assert validated.headers["authorization"] == f"OAuth {NEW_ACCESS}"


def test_refresh_without_expires_in_keeps_the_grant_when_validate_fails(
    double: DocsDouble, client: HelixClips, caplog: pytest.LogCaptureFixture
) -> None:
    """The old refresh token may be spent: the new pair is kept, counted as expiring (0)."""
    double.answer(
        "POST",
        "/oauth2/token",
        (200, {}, {"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH, "scope": []}),
    )
    double.answer("GET", "/oauth2/validate", (503, {}, b""))
    with caplog.at_level(logging.INFO):
        grant = client.refresh_token("oldrefreshtoken-abc", client_secret=CLIENT_SECRET)
    assert (grant.access_token, grant.refresh_token, grant.expires_in) == (
        NEW_ACCESS,
        NEW_REFRESH,
        0,
    )
    assert len(double.calls("GET", "/oauth2/validate")) == 1
    text = caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    for secret in (NEW_ACCESS, NEW_REFRESH, CLIENT_SECRET, "oldrefreshtoken-abc"):
        assert secret not in text


def test_invalid_refresh_token_answer_is_unauthorized(
    double: DocsDouble, client: HelixClips
) -> None:
    double.answer(
        "POST",
        "/oauth2/token",
        (400, {}, {"error": "Bad Request", "status": 400, "message": "Invalid refresh token"}),
    )
    with pytest.raises(ClipUnauthorized) as caught:
        client.refresh_token("oldrefreshtoken-abc", client_secret=CLIENT_SECRET)
    assert caught.value.http_status == 400
    assert "oldrefreshtoken-abc" not in str(caught.value)


# ------------------------------------------------------------------------- validate


def test_validate_reads_an_app_token_without_login_or_user_id(
    double: DocsDouble, client: HelixClips
) -> None:
    double.answer(
        "GET",
        "/oauth2/validate",
        (200, {}, {"client_id": CLIENT_ID, "scopes": [], "expires_in": 5011271}),
    )
    info = client.validate_token(ACCESS)
    assert (info.login, info.user_id, info.scopes, info.expires_in) == (None, None, (), 5011271)


def test_validate_401_is_unauthorized_with_twitch_message(
    double: DocsDouble, client: HelixClips
) -> None:
    double.answer(
        "GET", "/oauth2/validate", (401, {}, {"status": 401, "message": "invalid access token"})
    )
    with pytest.raises(ClipUnauthorized) as caught:
        client.validate_token(ACCESS)
    assert caught.value.http_status == 401
    assert len(double.calls("GET", "/oauth2/validate")) == 1


# --------------------------------------------------------------------------- clips


@pytest.mark.parametrize("pagination", [{}, None], ids=["empty", "absent"])
def test_get_clips_reads_documented_empty_and_null_fields(
    double: DocsDouble, client: HelixClips, pagination: dict[str, str] | None
) -> None:
    body: dict[str, Any] = {
        "data": [doc_clip(), doc_clip(id="Second", created_at="2017-11-30T22:34:18.25Z")]
    }
    if pagination is not None:
        body["pagination"] = pagination
    double.answer("GET", "/helix/clips", (200, {}, body))
    first, second = client.get_clips(Tokens(), ["AwkwardHelplessSalamanderSwiftRage", "Second"])
    assert (first.video_id, first.game_id, first.thumbnail_url, first.vod_offset) == (
        "",
        "",
        "",
        None,
    )
    assert first.created_at == datetime(2017, 11, 30, 22, 34, 18, tzinfo=UTC)
    assert second.created_at == datetime(2017, 11, 30, 22, 34, 18, 250000, tzinfo=UTC)
    (sent,) = double.calls("GET", "/helix/clips")
    assert sent.query["id"] == ["AwkwardHelplessSalamanderSwiftRage", "Second"]
    assert (sent.headers["authorization"], sent.headers["client-id"]) == (
        f"Bearer {ACCESS}",
        CLIENT_ID,
    )


@pytest.mark.parametrize("pagination", [{}, None], ids=["empty", "absent"])
def test_last_clips_page_has_no_cursor(
    double: DocsDouble, client: HelixClips, pagination: dict[str, str] | None
) -> None:
    body: dict[str, Any] = {"data": [doc_clip()]}
    if pagination is not None:
        body["pagination"] = pagination
    double.answer("GET", "/helix/clips", (200, {}, body))
    page = client.get_clips_by_broadcaster(Tokens(), "67955580")
    assert page.cursor is None
    assert [c.id for c in page.clips] == ["AwkwardHelplessSalamanderSwiftRage"]


def test_clips_download_urls_may_be_null(double: DocsDouble, client: HelixClips) -> None:
    double.answer(
        "GET",
        "/helix/clips/downloads",
        (
            200,
            {},
            {
                "data": [
                    {
                        "clip_id": "InexpensiveDistinctFoxChefFrank",
                        "landscape_download_url": None,
                        "portrait_download_url": None,
                    }
                ]
            },
        ),
    )
    (download,) = client.get_clip_downloads(
        Tokens(),
        editor_id="141981765",
        broadcaster_id="141981764",
        clip_ids=["InexpensiveDistinctFoxChefFrank"],
    )
    assert (download.landscape_download_url, download.portrait_download_url) == (None, None)


def test_create_clip_reads_the_documented_202(double: DocsDouble, client: HelixClips) -> None:
    double.answer(
        "POST",
        "/helix/clips",
        (
            202,
            {},
            {
                "data": [
                    {
                        "id": "FunPoisedGiraffeGingerPower-KDy2fwLNuUEHU",
                        "edit_url": "https://clips.twitch.tv/"
                        "FunPoisedGiraffeGingerPower-KDy2fwLNuUEHU/edit",
                    }
                ]
            },
        ),
    )
    created = client.create_clip(Tokens(), broadcaster_id="123456")
    assert created.id == "FunPoisedGiraffeGingerPower-KDy2fwLNuUEHU"


# ------------------------------------------------------------------ stream and videos


def test_streams_and_archives_read_the_documented_examples(
    double: DocsDouble, client: HelixClips
) -> None:
    double.answer(
        "GET",
        "/helix/streams",
        (
            200,
            {},
            {
                "data": [
                    {
                        "id": "40952121085",
                        "user_id": "101051819",
                        "user_login": "afro",
                        "user_name": "Afro",
                        "game_id": "",
                        "game_name": "",
                        "type": "live",
                        "title": "title",
                        "tags": [],
                        "viewer_count": 1490,
                        "started_at": "2021-03-10T03:18:11Z",
                        "language": "en",
                        "thumbnail_url": "",
                        "tag_ids": [],
                        "is_mature": False,
                    }
                ],
                "pagination": {},
            },
        ),
    )
    double.answer(
        "GET",
        "/helix/videos",
        (
            200,
            {},
            {
                "data": [
                    {
                        "id": "335921245",
                        "stream_id": None,
                        "user_id": "101051819",
                        "user_login": "afro",
                        "user_name": "Afro",
                        "title": "title",
                        "description": "",
                        "created_at": "2018-11-14T21:30:18Z",
                        "published_at": "2018-11-14T22:04:30Z",
                        "url": "https://www.twitch.tv/videos/335921245",
                        "thumbnail_url": "",
                        "viewable": "public",
                        "view_count": 1863062,
                        "language": "en",
                        "type": "archive",
                        "duration": "3m21s",
                        "muted_segments": None,
                    }
                ],
                "pagination": {},
            },
        ),
    )
    stream = client.get_streams(Tokens(), "101051819")
    assert stream is not None and stream.id == "40952121085"
    (video,) = client.get_archive_videos(Tokens(), "101051819")
    assert (video.stream_id, video.duration_seconds) == (None, 201.0)


# ------------------------------------------------------------ errors and rate limits


def test_non_json_error_bodies_still_map_by_status(double: DocsDouble, client: HelixClips) -> None:
    double.answer("GET", "/helix/clips", (502, {"Content-Type": "text/html"}, b"<html>bad</html>"))
    with pytest.raises(ClipUnknown) as caught:
        client.get_clips(Tokens(), ["A"], retry=False)
    assert caught.value.http_status == 502


def test_lowercase_ratelimit_headers_set_the_429_reset(
    double: DocsDouble, client: HelixClips, time_: FakeTime
) -> None:
    reset = int(T0) + 7
    double.answer(
        "GET",
        "/helix/clips",
        (
            429,
            {"ratelimit-limit": "800", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
            {"error": "Too Many Requests", "status": 429, "message": ""},
        ),
    )
    with pytest.raises(ClipRateLimited) as caught:
        client.get_clips(Tokens(), ["A"], retry=False)
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
