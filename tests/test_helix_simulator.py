"""The Helix simulator over real HTTP: the docs/architecture.md §6.1 contract the clip pipeline
relies on."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from local.helix_simulator import HelixSimulator
from tests.consent_page import visit_consent

CLIENT_ID = "testclient"
CLIENT_SECRET = "testsecret"
OTHER_CLIENT_ID = "otherclient"
BROADCASTER = "1001"
EDITOR = "1002"
VIEWER = "1003"
OTHER_BROADCASTER = "1004"
CLIP_SCOPES = ("clips:edit", "editor:manage:clips", "channel:manage:clips")
CLIP_FIELDS = {
    "id",
    "url",
    "embed_url",
    "broadcaster_id",
    "broadcaster_name",
    "creator_id",
    "creator_name",
    "video_id",
    "game_id",
    "language",
    "title",
    "view_count",
    "created_at",
    "thumbnail_url",
    "duration",
    "vod_offset",
    "is_featured",
}
RATE_HEADERS = ("Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset")
REPO_ROOT = Path(__file__).resolve().parents[1]


class FakeClock:
    """Time that moves only when a test says so, to check refills without sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Env:
    """A started simulator with a live broadcaster, an editor, a viewer and an app token."""

    sim: HelixSimulator
    broadcaster_token: str
    broadcaster_refresh: str
    editor_token: str
    viewer_token: str
    app_token: str

    def call(
        self, method: str, path: str, token: str | None = None, **params: Any
    ) -> requests.Response:
        """A Helix call with `params` as its query; `client_id` (None: no header) and `timeout`
        are taken out of them."""
        client_id: str | None = params.pop("client_id", CLIENT_ID)
        timeout: float = params.pop("timeout", 5.0)
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if client_id is not None:
            headers["Client-Id"] = client_id
        return requests.request(
            method, self.sim.api_base + path, params=params, headers=headers, timeout=timeout
        )

    def create_clip(self, token: str | None = None, **params: Any) -> requests.Response:
        params.setdefault("broadcaster_id", BROADCASTER)
        return self.call("POST", "/clips", token or self.broadcaster_token, **params)

    def vod_clip(self, token: str | None = None, **params: Any) -> requests.Response:
        defaults = {
            "editor_id": BROADCASTER,
            "broadcaster_id": BROADCASTER,
            "vod_id": "900001",
            "vod_offset": "600",
            "duration": "30",
            "title": "great moment",
        }
        return self.call(
            "POST",
            "/videos/clips",
            token or self.broadcaster_token,
            **{
                **defaults,
                **params,
            },
        )

    def get_clips(self, **params: Any) -> requests.Response:
        return self.call("GET", "/clips", self.app_token, **params)

    def downloads(self, clip_ids: list[str], token: str | None = None, **params: Any) -> Any:
        params.setdefault("editor_id", BROADCASTER)
        params.setdefault("broadcaster_id", BROADCASTER)
        return self.call(
            "GET", "/clips/downloads", token or self.broadcaster_token, clip_id=clip_ids, **params
        )


def make_env(sim: HelixSimulator) -> Env:
    sim.add_app(CLIENT_ID, CLIENT_SECRET)
    sim.add_app(OTHER_CLIENT_ID, "othersecret")
    b_access, b_refresh = sim.add_user(
        BROADCASTER, "streamer", client_id=CLIENT_ID, scopes=CLIP_SCOPES
    )
    editor_access, _ = sim.add_user(
        EDITOR, "editor", client_id=CLIENT_ID, scopes=("editor:manage:clips",)
    )
    viewer_access, _ = sim.add_user(VIEWER, "viewer", client_id=CLIENT_ID, scopes=("chat:read",))
    sim.add_user(OTHER_BROADCASTER, "otherstreamer", client_id=CLIENT_ID, scopes=())
    sim.set_live(BROADCASTER, True, stream_id="5555")
    sim.add_vod("900001", BROADCASTER, duration_seconds=7200, stream_id="5555")
    sim.add_vod("900002", OTHER_BROADCASTER, duration_seconds=3600)
    sim.clip_visible_after = 0.0
    return Env(sim, b_access, b_refresh, editor_access, viewer_access, sim.add_app_token(CLIENT_ID))


@pytest.fixture
def env() -> Iterator[Env]:
    with HelixSimulator() as sim:
        yield make_env(sim)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def assert_helix_error(response: requests.Response, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["error"] == reason
    assert isinstance(body["message"], str) and body["message"]
    return body


# ------------------------------------------------------------------------- auth headers


def test_every_helix_call_needs_bearer_token_and_its_own_client_id(env: Env) -> None:
    ok = env.call("GET", "/streams", env.broadcaster_token, user_id=BROADCASTER)
    assert ok.status_code == 200
    failures = [
        env.call("GET", "/streams", None, user_id=BROADCASTER),
        env.call("GET", "/streams", env.broadcaster_token, client_id=None, user_id=BROADCASTER),
        env.call("GET", "/streams", "notarealtoken", user_id=BROADCASTER),
        env.call(
            "GET", "/streams", env.broadcaster_token, client_id=OTHER_CLIENT_ID, user_id=BROADCASTER
        ),
    ]
    for response in [ok, *failures]:
        assert all(name in response.headers for name in RATE_HEADERS)
    for response in failures:
        assert_helix_error(response, 401, "Unauthorized")
    assert "do not match" in failures[-1].json()["message"]


def test_create_clip_needs_user_token_with_clips_edit(env: Env) -> None:
    missing = assert_helix_error(env.create_clip(env.viewer_token), 401, "Unauthorized")
    assert missing["message"] == "Missing scope: clips:edit"
    assert_helix_error(env.create_clip(env.app_token), 401, "Unauthorized")


def test_expired_token_is_refused_by_helix_and_validate(env: Env) -> None:
    env.sim.expire_token(env.broadcaster_token)
    assert_helix_error(env.create_clip(), 401, "Unauthorized")
    validate = requests.get(
        env.sim.auth_base + "/validate",
        headers={"Authorization": f"OAuth {env.broadcaster_token}"},
        timeout=5,
    )
    assert validate.status_code == 401
    assert validate.json() == {"status": 401, "message": "invalid access token"}


# --------------------------------------------------------------------------- live clips


def test_live_clip_202_only_while_broadcaster_is_live(env: Env) -> None:
    created = env.create_clip(title="nice")
    assert created.status_code == 202
    [item] = created.json()["data"]
    assert set(item) == {"id", "edit_url"}
    assert item["edit_url"] == f"https://clips.twitch.tv/{item['id']}/edit"

    streams = env.call("GET", "/streams", env.app_token, user_id=BROADCASTER).json()["data"]
    assert streams[0]["id"] == "5555"
    assert streams[0]["type"] == "live"
    assert streams[0]["user_id"] == BROADCASTER
    assert streams[0]["started_at"].endswith("Z")

    env.sim.set_live(BROADCASTER, False)
    assert env.call("GET", "/streams", env.app_token, user_id=BROADCASTER).json()["data"] == []
    assert_helix_error(env.create_clip(), 404, "Not Found")


@pytest.mark.parametrize(
    ("duration", "status"),
    [
        ("4.9", 400),
        ("60.1", 400),
        ("12.34", 400),
        ("abc", 400),
        ("5", 202),
        ("60", 202),
        ("12.3", 202),
    ],
)
def test_create_clip_duration_bounds_and_precision(env: Env, duration: str, status: int) -> None:
    assert env.create_clip(duration=duration).status_code == status


def test_clip_defaults_to_30_seconds_and_carries_exactly_the_documented_fields(env: Env) -> None:
    clip_id = env.create_clip(title="hello").json()["data"][0]["id"]
    [clip] = env.get_clips(id=clip_id).json()["data"]
    assert set(clip) == CLIP_FIELDS
    assert clip["duration"] == 30.0
    assert clip["title"] == "hello"
    assert clip["broadcaster_id"] == BROADCASTER
    assert clip["creator_id"] == BROADCASTER
    assert clip["video_id"] == "900001"
    assert clip["url"] == f"https://clips.twitch.tv/{clip_id}"


@pytest.mark.parametrize("broadcaster_id", ["", "streamer"])
def test_create_clip_needs_numeric_broadcaster_id(env: Env, broadcaster_id: str) -> None:
    assert_helix_error(env.create_clip(broadcaster_id=broadcaster_id), 400, "Bad Request")


def test_channel_settings_refuse_clips(env: Env) -> None:
    env.sim.configure_channel(BROADCASTER, clips_disabled=True)
    assert_helix_error(env.create_clip(), 403, "Forbidden")
    env.sim.configure_channel(BROADCASTER, banned_user_ids=[BROADCASTER])
    assert_helix_error(env.create_clip(), 403, "Forbidden")
    env.sim.configure_channel(BROADCASTER, category_clippable=False)
    assert_helix_error(env.create_clip(), 400, "Bad Request")
    env.sim.configure_channel(BROADCASTER, automod_words=["badword"])
    assert_helix_error(env.create_clip(title="a BadWord here"), 400, "Bad Request")
    assert env.create_clip(title="all fine").status_code == 202


# ---------------------------------------------------------------------------- VOD clips


def test_vod_clip_rules(env: Env) -> None:
    assert_helix_error(env.vod_clip(vod_offset="29", duration="30"), 400, "Bad Request")
    assert_helix_error(env.vod_clip(title=""), 400, "Bad Request")
    assert_helix_error(env.vod_clip(vod_id="123"), 404, "Not Found")
    assert_helix_error(env.vod_clip(vod_id="900002"), 404, "Not Found")
    assert_helix_error(env.vod_clip(env.editor_token, editor_id=EDITOR), 403, "Forbidden")
    assert_helix_error(env.vod_clip(env.viewer_token, editor_id=VIEWER), 401, "Unauthorized")
    assert_helix_error(env.vod_clip(env.editor_token, editor_id=BROADCASTER), 401, "Unauthorized")

    created = env.vod_clip(vod_offset="30", duration="30")
    assert created.status_code == 202
    [item] = created.json()["data"]
    assert item["edit_url"] == f"https://clips.twitch.tv/{item['id']}/edit"
    [clip] = env.get_clips(id=item["id"]).json()["data"]
    assert (clip["video_id"], clip["vod_offset"], clip["duration"]) == ("900001", 0, 30.0)


def test_vod_clip_by_listed_editor_with_user_or_app_token(env: Env) -> None:
    env.sim.configure_channel(BROADCASTER, editor_user_ids=[EDITOR])
    assert env.vod_clip(env.editor_token, editor_id=EDITOR).status_code == 202
    by_app = env.vod_clip(env.app_token, editor_id=EDITOR, vod_offset="100", duration="20.5")
    assert by_app.status_code == 202
    [clip] = env.get_clips(id=by_app.json()["data"][0]["id"]).json()["data"]
    assert (clip["creator_id"], clip["vod_offset"], clip["duration"]) == (EDITOR, 79, 20.5)


# ---------------------------------------------------------------------- clip visibility


def test_clip_shows_in_get_clips_only_after_its_delay(env: Env) -> None:
    env.sim.clip_visible_after = 0.3
    clip_id = env.create_clip().json()["data"][0]["id"]
    assert env.get_clips(id=clip_id).json() == {"data": [], "pagination": {}}
    assert env.get_clips(broadcaster_id=BROADCASTER).json()["data"] == []
    time.sleep(0.35)
    assert [c["id"] for c in env.get_clips(id=clip_id).json()["data"]] == [clip_id]


def test_clip_that_twitch_never_confirms(clock: FakeClock) -> None:
    with HelixSimulator(clock=clock) as sim:
        env = make_env(sim)
        sim.next_clip_visible_after([None, 0.0])
        never = env.create_clip().json()["data"][0]["id"]
        shown = env.create_clip().json()["data"][0]["id"]
        clock.advance(3600)
        found = env.get_clips(id=[never, shown]).json()["data"]
        assert [c["id"] for c in found] == [shown]


def test_videos_list_archives_with_their_stream_and_duration(env: Env) -> None:
    env.sim.add_vod("900003", BROADCASTER, duration_seconds=11313)
    videos = env.call("GET", "/videos", env.app_token, user_id=BROADCASTER, type="archive")
    by_id = {v["id"]: v for v in videos.json()["data"]}
    assert by_id["900003"]["duration"] == "3h8m33s"
    assert by_id["900003"]["stream_id"] is None
    assert by_id["900001"]["stream_id"] == "5555"
    assert {v["type"] for v in by_id.values()} == {"archive"}
    assert set(by_id) == {"900001", "900003"}


def test_get_clips_needs_exactly_one_selector_and_pages_with_cursors(env: Env) -> None:
    assert_helix_error(env.get_clips(), 400, "Bad Request")
    assert_helix_error(env.get_clips(id="x", broadcaster_id=BROADCASTER), 400, "Bad Request")
    assert_helix_error(env.get_clips(broadcaster_id=BROADCASTER, first="101"), 400, "Bad Request")
    assert_helix_error(env.get_clips(id=[f"c{i}" for i in range(101)]), 400, "Bad Request")
    ids = [env.create_clip().json()["data"][0]["id"] for _ in range(3)]
    page1 = env.get_clips(broadcaster_id=BROADCASTER, first="2").json()
    page2 = env.get_clips(
        broadcaster_id=BROADCASTER, first="2", after=page1["pagination"]["cursor"]
    ).json()
    assert [c["id"] for c in page1["data"] + page2["data"]] == ids
    assert page2["pagination"] == {}
    opening = env.get_clips(broadcaster_id=BROADCASTER, first="1").json()
    middle = env.get_clips(
        broadcaster_id=BROADCASTER, first="1", after=opening["pagination"]["cursor"]
    ).json()
    assert [c["id"] for c in middle["data"]] == ids[1:2]
    back = env.get_clips(
        broadcaster_id=BROADCASTER, first="1", before=middle["pagination"]["cursor"]
    ).json()
    assert [c["id"] for c in back["data"]] == ids[:1]
    assert_helix_error(env.get_clips(broadcaster_id=BROADCASTER, after="@@"), 400, "Bad Request")
    by_game = env.get_clips(game_id=page1["data"][0]["game_id"]).json()["data"]
    assert len(by_game) == 3


# ---------------------------------------------------------------------------- downloads


def test_downloads_batch_size_scopes_and_editor_rules(env: Env) -> None:
    clip_id = env.create_clip().json()["data"][0]["id"]
    assert_helix_error(env.downloads([]), 400, "Bad Request")
    assert_helix_error(env.downloads([clip_id] * 11), 400, "Bad Request")
    assert_helix_error(
        env.downloads([clip_id], env.viewer_token, editor_id=VIEWER), 401, "Unauthorized"
    )
    assert_helix_error(
        env.downloads([clip_id], env.editor_token, editor_id=EDITOR), 403, "Forbidden"
    )
    assert env.downloads([clip_id] * 10).status_code == 200


def test_download_urls_are_null_at_first_then_present(env: Env) -> None:
    env.sim.download_urls_null_for = 0.3
    clip_id = env.create_clip().json()["data"][0]["id"]
    [early] = env.downloads([clip_id]).json()["data"]
    assert early == {
        "clip_id": clip_id,
        "landscape_download_url": None,
        "portrait_download_url": None,
    }
    time.sleep(0.35)
    [late] = env.downloads([clip_id]).json()["data"]
    assert late["landscape_download_url"].startswith("https://")
    assert late["portrait_download_url"].startswith("https://")


def test_downloads_have_their_own_per_minute_limit(clock: FakeClock) -> None:
    with HelixSimulator(downloads_per_minute=3, clock=clock) as sim:
        env = make_env(sim)
        clip_id = env.create_clip().json()["data"][0]["id"]
        assert [env.downloads([clip_id]).status_code for _ in range(3)] == [200, 200, 200]
        limited = env.downloads([clip_id])
        assert_helix_error(limited, 429, "Too Many Requests")
        assert limited.headers["Ratelimit-Remaining"] == "0"
        assert int(limited.headers["Ratelimit-Reset"]) == math.ceil(clock.now + 60)
        assert env.get_clips(id=clip_id).status_code == 200
        clock.advance(60)
        assert env.downloads([clip_id]).status_code == 200


# ---------------------------------------------------------------------------- rate limit


def test_token_bucket_headers_429_and_refill(clock: FakeClock) -> None:
    with HelixSimulator(bucket_size=5, clock=clock) as sim:
        env = make_env(sim)
        responses = [env.call("GET", "/streams", env.broadcaster_token) for _ in range(6)]
        assert [r.status_code for r in responses] == [200] * 5 + [429]
        assert [r.headers["Ratelimit-Remaining"] for r in responses] == list("432100")
        assert {r.headers["Ratelimit-Limit"] for r in responses} == {"5"}
        assert {int(r.headers["Ratelimit-Reset"]) for r in responses[4:]} == {int(clock.now) + 60}
        assert_helix_error(responses[-1], 429, "Too Many Requests")

        app = env.call("GET", "/streams", env.app_token)
        other_user = env.call("GET", "/streams", env.editor_token)
        assert (app.status_code, other_user.status_code) == (200, 200)

        clock.advance(12)
        refilled = env.call("GET", "/streams", env.broadcaster_token)
        assert refilled.status_code == 200
        assert refilled.headers["Ratelimit-Remaining"] == "0"


# ------------------------------------------------------------------------------- faults


def test_status_fault_answers_like_twitch_then_recovers(env: Env) -> None:
    env.sim.inject_fault("POST /helix/clips", "status", status=503, times=2)
    assert env.call("GET", "/clips", env.app_token, id="x").status_code == 200
    for _ in range(2):
        failed = env.create_clip()
        assert_helix_error(failed, 503, "Service Unavailable")
        assert all(name in failed.headers for name in RATE_HEADERS)
    assert env.create_clip().status_code == 202
    statuses = [c.status for c in env.sim.calls if c.path == "/helix/clips" and c.method == "POST"]
    assert statuses == [503, 503, 202]


def test_slow_fault_delays_then_answers(env: Env) -> None:
    env.sim.inject_fault("/helix/streams", "slow", delay=0.4, times=2)
    with pytest.raises(requests.Timeout):
        env.call("GET", "/streams", env.app_token, timeout=0.1)
    started = time.monotonic()
    assert env.call("GET", "/streams", env.app_token).status_code == 200
    assert time.monotonic() - started >= 0.4


def test_drop_fault_closes_the_connection(env: Env) -> None:
    env.sim.inject_fault("/helix/clips", "drop")
    with pytest.raises(requests.ConnectionError):
        env.create_clip()
    assert env.create_clip().status_code == 202
    assert [c.status for c in env.sim.calls if c.path == "/helix/clips"] == [None, 202]


def test_unknown_path_is_a_json_404(env: Env) -> None:
    assert_helix_error(env.call("GET", "/nothing", env.app_token), 404, "Not Found")


# -------------------------------------------------------------------------------- OAuth


def test_validate_user_and_app_tokens(env: Env) -> None:
    def validate(token: str) -> requests.Response:
        return requests.get(
            env.sim.auth_base + "/validate", headers={"Authorization": f"OAuth {token}"}, timeout=5
        )

    user = validate(env.broadcaster_token).json()
    assert user["client_id"] == CLIENT_ID
    assert (user["login"], user["user_id"]) == ("streamer", BROADCASTER)
    assert user["scopes"] == list(CLIP_SCOPES)
    assert 0 < user["expires_in"] <= 14400
    app = validate(env.app_token).json()
    assert app["client_id"] == CLIENT_ID
    assert "user_id" not in app and "login" not in app
    bad = validate("nope")
    assert (bad.status_code, bad.json()) == (
        401,
        {"status": 401, "message": "invalid access token"},
    )


def test_refresh_rotates_both_tokens(env: Env) -> None:
    def refresh(token: str, secret: str = CLIENT_SECRET) -> requests.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": CLIENT_ID,
            "client_secret": secret,
        }
        return requests.post(env.sim.auth_base + "/token", data=form, timeout=5)

    bad_secret = refresh(env.broadcaster_refresh, "wrong")
    assert (bad_secret.status_code, bad_secret.json()) == (
        403,
        {"status": 403, "message": "invalid client secret"},
    )
    body = refresh(env.broadcaster_refresh).json()
    assert body["token_type"] == "bearer"
    assert body["scope"] == list(CLIP_SCOPES)
    assert body["refresh_token"] != env.broadcaster_refresh
    assert body["access_token"] != env.broadcaster_token
    assert body["expires_in"] > 0
    assert env.create_clip(body["access_token"]).status_code == 202

    reused = refresh(env.broadcaster_refresh)
    assert (reused.status_code, reused.json()) == (
        400,
        {"status": 400, "message": "Invalid refresh token"},
    )
    assert refresh(body["refresh_token"]).status_code == 200


def test_authorization_code_flow_and_client_credentials(env: Env) -> None:
    env.sim.authorize_as(EDITOR)
    redirect_uri = "http://localhost:8501/callback"
    scopes = ["clips:edit", "editor:manage:clips"]
    consent = visit_consent(env.sim.auth_base, CLIENT_ID, redirect_uri, scopes, state="xyz")
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    assert query["scope"] == ["clips:edit editor:manage:clips"]
    code = query["code"][0]
    assert env.sim.authorize_url_codes == [code]

    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    wrong_uri = requests.post(
        env.sim.auth_base + "/token", data={**form, "redirect_uri": "http://x/"}, timeout=5
    )
    assert wrong_uri.status_code == 400
    tokens = requests.post(env.sim.auth_base + "/token", data=form, timeout=5).json()
    assert tokens["scope"] == ["clips:edit", "editor:manage:clips"]
    assert tokens["refresh_token"]
    validated = requests.get(
        env.sim.auth_base + "/validate",
        headers={"Authorization": f"OAuth {tokens['access_token']}"},
        timeout=5,
    ).json()
    assert (validated["user_id"], validated["login"]) == (EDITOR, "editor")
    assert requests.post(env.sim.auth_base + "/token", data=form, timeout=5).status_code == 400

    app = requests.post(
        env.sim.auth_base + "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
        timeout=5,
    ).json()
    assert app["token_type"] == "bearer"
    assert env.call("GET", "/streams", app["access_token"]).status_code == 200


# ----------------------------------------------------------------------------- call log


def test_call_log_counts_every_call_without_keeping_tokens(env: Env) -> None:
    env.sim.expire_token(env.viewer_token)
    env.create_clip()
    env.create_clip(env.viewer_token)
    env.get_clips(id="x")
    requests.post(
        env.sim.auth_base + "/token",
        params={"grant_type": "refresh_token", "refresh_token": env.broadcaster_refresh},
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=5,
    )
    assert env.sim.count("POST", "/helix/clips") == 2
    assert env.sim.count("GET", "/helix/clips") == 1
    assert env.sim.count("POST", "/oauth2/token") == 1
    calls = env.sim.calls
    assert [c.status for c in calls] == [202, 401, 200, 200]
    assert (calls[0].client_id, calls[0].user_id) == (CLIENT_ID, BROADCASTER)
    assert calls[3].user_id == BROADCASTER
    assert calls[3].query["refresh_token"] == ["***"]
    printed = repr(calls)
    for secret in (env.broadcaster_token, env.viewer_token, env.broadcaster_refresh):
        assert secret not in printed


# ---------------------------------------------------------------------------------- CLI


def test_cli_prints_bases_and_demo_seed_then_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "local.helix_simulator", "--port", "0", "--seed-demo"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["api_base"].endswith("/helix")
        assert info["auth_base"].endswith("/oauth2")
        assert (info["client_id"], info["broadcaster_id"], info["vod_id"]) == (
            "byteclips-local",
            "12345",
            "900001",
        )
        headers = {
            "Authorization": f"Bearer {info['user_access_token']}",
            "Client-Id": info["client_id"],
        }
        videos = requests.get(
            info["api_base"] + "/videos",
            params={"user_id": "12345", "type": "archive"},
            headers=headers,
            timeout=5,
        ).json()["data"]
        assert (videos[0]["id"], videos[0]["duration"]) == ("900001", "2h0m0s")
        created = requests.post(
            info["api_base"] + "/clips",
            params={"broadcaster_id": "12345"},
            headers=headers,
            timeout=5,
        )
        assert created.status_code == 202
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        if process.stdout is not None:
            process.stdout.close()
