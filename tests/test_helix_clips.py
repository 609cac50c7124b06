"""The clips Helix client over real HTTP against the local simulator (docs/architecture.md §6.4 and
5).

Time is fake: the simulator and the client share one clock, and the client's injected sleep
records each wait and moves that clock, so rate-limit and backoff waits cost nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from local.helix_simulator import HelixSimulator
from shared.domain.errors import (
    ClipBadRequest,
    ClipError,
    ClipForbidden,
    ClipNotFound,
    ClipRateLimited,
    ClipUnauthorized,
    ClipUnknown,
    ErrorCode,
    InvalidInput,
    operator_message,
)
from shared.logs import JsonFormatter
from shared.twitch.helix_clips import (
    DEFAULT_API_BASE,
    DEFAULT_AUTH_BASE,
    Clip,
    ClipDownload,
    CreatedClip,
    CreateUnanswered,
    HelixClips,
    TokenGrant,
    TokenInfo,
)
from tests.consent_page import visit_consent

CLIENT_ID = "clipsclient"
CLIENT_SECRET = "clipsclientsecret-xyz"
BROADCASTER, EDITOR, VIEWER = "2001", "2002", "2003"
VOD_ID = "910001"
CLIP_SCOPES = ("clips:edit", "editor:manage:clips", "channel:manage:clips")
T0 = 1_800_000_000.0
HELIX_CLIPS = ("POST", "/helix/clips")
GET_CLIPS = ("GET", "/helix/clips")
DOWNLOADS = ("GET", "/helix/clips/downloads")


class FakeTime:
    """One clock for simulator and client; `sleep` records the wait and moves the clock."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class MemoryTokens:
    """A token source held in memory; `refresh` decides what the one refresh hands back."""

    def __init__(self, access: str, refresh: Callable[[str], str] | None = None) -> None:
        self.current = access
        self.refresh = refresh
        self.asked = 0
        self.refreshes: list[str] = []

    def access_token(self) -> str:
        self.asked += 1
        return self.current

    def refreshed_access_token(self, rejected: str) -> str:
        self.refreshes.append(rejected)
        if self.refresh is None:
            raise AssertionError("this test expected no token refresh")
        self.current = self.refresh(rejected)
        return self.current


@dataclass
class World:
    sim: HelixSimulator
    client: HelixClips
    time: FakeTime
    access: str
    refresh: str
    editor_access: str
    viewer_access: str
    app_token: str
    secrets: list[str] = field(default_factory=list)

    def tokens(self, refresh: Callable[[str], str] | None = None) -> MemoryTokens:
        return MemoryTokens(self.access, refresh)

    def refreshing_tokens(self) -> MemoryTokens:
        """Refreshes for real through the client, as the Firestore-backed source will."""
        holder = {"refresh": self.refresh}

        def refresh(_: str) -> str:
            grant = self.client.refresh_token(holder["refresh"], client_secret=CLIENT_SECRET)
            holder["refresh"] = grant.refresh_token
            self.secrets += [grant.access_token, grant.refresh_token]
            return grant.access_token

        return MemoryTokens(self.access, refresh)

    def count(self, call: tuple[str, str]) -> int:
        return self.sim.count(*call)

    def statuses(self, call: tuple[str, str]) -> list[int | None]:
        return [c.status for c in self.sim.calls if (c.method, c.path) == call]

    def create_clip_directly(self) -> str:
        response = requests.post(
            self.sim.api_base + "/clips",
            params={"broadcaster_id": BROADCASTER},
            headers={"Authorization": f"Bearer {self.access}", "Client-Id": CLIENT_ID},
            timeout=5,
        )
        assert response.status_code == 202
        return str(response.json()["data"][0]["id"])


def sim_client(sim: HelixSimulator, fake: FakeTime, **client_args: Any) -> HelixClips:
    """A client of the simulator that waits and reads the time on the test's fake clock."""
    return HelixClips(
        CLIENT_ID,
        api_base=sim.api_base,
        auth_base=sim.auth_base,
        sleep=fake.sleep,
        clock=fake.clock,
        **client_args,
    )


def build_world(
    sim: HelixSimulator, fake: FakeTime, *, read_timeout: float = 2.0, **client_args: Any
) -> World:
    sim.add_app(CLIENT_ID, CLIENT_SECRET)
    access, refresh = sim.add_user(BROADCASTER, "streamer", client_id=CLIENT_ID, scopes=CLIP_SCOPES)
    editor_access, _ = sim.add_user(
        EDITOR, "editor", client_id=CLIENT_ID, scopes=("editor:manage:clips",)
    )
    viewer_access, _ = sim.add_user(VIEWER, "viewer", client_id=CLIENT_ID, scopes=())
    sim.set_live(BROADCASTER, True, stream_id="7777")
    sim.add_vod(VOD_ID, BROADCASTER, duration_seconds=7200, stream_id="7777")
    sim.clip_visible_after = 0.0
    client = sim_client(sim, fake, timeout=(2.0, read_timeout), **client_args)
    app_token = sim.add_app_token(CLIENT_ID)
    world = World(sim, client, fake, access, refresh, editor_access, viewer_access, app_token)
    world.secrets += [access, refresh, editor_access, viewer_access, app_token, CLIENT_SECRET]
    return world


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@contextmanager
def opened_world(fake: FakeTime) -> Iterator[World]:
    """A simulator on fake time and a client to it, closed afterwards (shared by Helix tests)."""
    with HelixSimulator(clock=fake.clock) as sim:
        built = build_world(sim, fake)
        yield built
        built.client.close()


@pytest.fixture
def world(fake: FakeTime) -> Iterator[World]:
    with opened_world(fake) as built:
        yield built


# The three operations every error row of docs/architecture.md §6.1 is checked against.
Operation = Callable[[World, MemoryTokens, bool], object]


def op_create(world: World, tokens: MemoryTokens, retry: bool) -> object:
    return world.client.create_clip(tokens, broadcaster_id=BROADCASTER, retry=retry)


def op_get_clips(world: World, tokens: MemoryTokens, retry: bool) -> object:
    return world.client.get_clips(tokens, ["SomeClipSlug-abc"], retry=retry)


def op_downloads(world: World, tokens: MemoryTokens, retry: bool) -> object:
    return world.client.get_clip_downloads(
        tokens,
        editor_id=BROADCASTER,
        broadcaster_id=BROADCASTER,
        clip_ids=["SomeClipSlug-abc"],
        retry=retry,
    )


OPERATIONS: dict[str, tuple[Operation, tuple[str, str]]] = {
    "create": (op_create, HELIX_CLIPS),
    "get_clips": (op_get_clips, GET_CLIPS),
    "downloads": (op_downloads, DOWNLOADS),
}
STATUS_ROWS: dict[int, type[ClipError]] = {
    400: ClipBadRequest,
    401: ClipUnauthorized,
    403: ClipForbidden,
    404: ClipNotFound,
    429: ClipRateLimited,
    500: ClipUnknown,
    503: ClipUnknown,
}
CODES: dict[type[ClipError], ErrorCode] = {
    ClipBadRequest: ErrorCode.BAD_REQUEST,
    ClipUnauthorized: ErrorCode.UNAUTHORIZED,
    ClipForbidden: ErrorCode.FORBIDDEN,
    ClipNotFound: ErrorCode.NOT_FOUND,
    ClipRateLimited: ErrorCode.RATE_LIMITED,
    ClipUnknown: ErrorCode.UNKNOWN,
}


@pytest.fixture(params=sorted(OPERATIONS))
def operation(request: pytest.FixtureRequest) -> str:
    """Each of the client's operations in turn (a key of OPERATIONS)."""
    return str(request.param)


def failing(
    world: World, operation: str, status: int, times: int
) -> tuple[Operation, tuple[str, str]]:
    """`operation` and its call, its next `times` calls answering HTTP `status`."""
    run, call = OPERATIONS[operation]
    world.sim.inject_fault(f"{call[0]} {call[1]}", "status", status=status, times=times)
    return run, call


def assert_clip_error(error: ClipError, cls: type[ClipError], status: int | None) -> None:
    """The error's class, docs/architecture.md §3.2 code, operator sentence and Twitch's HTTP
    status."""
    assert type(error) is cls
    assert error.code == CODES[cls].value
    assert error.operator_message == operator_message(CODES[cls])
    assert error.http_status == status


def wait_for_count(world: World, call: tuple[str, str], expected: int) -> None:
    """Slow faults record their call only after the delay; wait (really) until they have."""
    deadline = time.monotonic() + 3.0
    while world.count(call) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)


# --------------------------------------------------------------------------- happy paths


def test_live_clip_sends_only_what_was_given_with_bearer_and_client_id(world: World) -> None:
    tokens = world.tokens()
    created = world.client.create_clip(tokens, broadcaster_id=BROADCASTER)
    assert isinstance(created, CreatedClip)
    assert created.edit_url == f"https://clips.twitch.tv/{created.id}/edit"
    world.client.create_clip(
        tokens, broadcaster_id=BROADCASTER, title="  big   play ", duration=12.3
    )
    plain, full = world.sim.calls
    assert plain.query == {"broadcaster_id": [BROADCASTER]}
    assert full.query == {
        "broadcaster_id": [BROADCASTER],
        "title": ["big play"],
        "duration": ["12.3"],
    }
    assert {(c.client_id, c.user_id, c.status) for c in world.sim.calls} == {
        (CLIENT_ID, BROADCASTER, 202)
    }


def test_has_delay_is_never_sent_nor_accepted(world: World) -> None:
    """Twitch removed has_delay from Create Clip (docs/architecture.md §6.1): the client cannot
    send it."""
    with pytest.raises(TypeError, match="has_delay"):
        world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER, has_delay=True)  # type: ignore[call-arg]
    assert world.sim.calls == []


def test_the_simulator_ignores_create_clip_params_twitch_does_not_document(world: World) -> None:
    """As Twitch does: an unknown query parameter (has_delay is no longer in the Create Clip
    reference) is ignored, whatever its value, and the clip is made."""
    answer = requests.post(
        f"{world.sim.api_base}/clips",
        params={"broadcaster_id": BROADCASTER, "has_delay": "maybe", "unknown": "x"},
        headers={"Authorization": f"Bearer {world.access}", "Client-Id": CLIENT_ID},
        timeout=5,
    )
    assert answer.status_code == 202, answer.text
    assert len(world.sim.clips_made()) == 1


def test_created_clip_is_confirmed_by_get_clips_with_its_fields(world: World) -> None:
    tokens = world.tokens()
    created = world.client.create_clip(tokens, broadcaster_id=BROADCASTER, title="gg", duration=20)
    [clip] = world.client.get_clips(tokens, [created.id, created.id])
    assert isinstance(clip, Clip)
    assert (clip.id, clip.title, clip.duration, clip.broadcaster_id) == (
        created.id,
        "gg",
        20.0,
        BROADCASTER,
    )
    assert clip.url == f"https://clips.twitch.tv/{created.id}"
    assert clip.created_at == datetime.fromtimestamp(T0, tz=UTC)
    assert clip.video_id == VOD_ID and clip.vod_offset is None
    assert world.sim.calls[-1].query == {"id": [created.id]}


def test_get_clips_splits_more_than_100_ids(world: World) -> None:
    real = world.create_clip_directly()
    ids = [f"Slug-{n}" for n in range(230)] + [real]
    clips = world.client.get_clips(world.tokens(), ids)
    assert [c.id for c in clips] == [real]
    sizes = [len(c.query["id"]) for c in world.sim.calls if (c.method, c.path) == GET_CLIPS]
    assert sizes == [100, 100, 31]


def test_clips_by_broadcaster_pages_with_the_cursor(world: World) -> None:
    ids = [world.create_clip_directly() for _ in range(3)]
    tokens = world.tokens()
    first = world.client.get_clips_by_broadcaster(tokens, BROADCASTER, first=2)
    assert first.cursor is not None
    last = world.client.get_clips_by_broadcaster(tokens, BROADCASTER, first=2, after=first.cursor)
    assert [c.id for c in first.clips + last.clips] == ids
    assert last.cursor is None


def test_vod_clip_sends_offset_as_whole_seconds_rounded_up(world: World) -> None:
    created = world.client.create_clip_from_vod(
        world.tokens(),
        editor_id=BROADCASTER,
        broadcaster_id=BROADCASTER,
        vod_id=VOD_ID,
        vod_offset=630.4,
        title="the play",
        duration=30,
    )
    assert created.edit_url.endswith("/edit")
    assert world.sim.calls[-1].query == {
        "editor_id": [BROADCASTER],
        "broadcaster_id": [BROADCASTER],
        "vod_id": [VOD_ID],
        "vod_offset": ["631"],
        "title": ["the play"],
        "duration": ["30"],
    }


def test_downloads_may_be_null_then_present(world: World) -> None:
    world.sim.download_urls_null_for = 30.0
    clip_id = world.create_clip_directly()
    tokens = world.tokens()
    args = {"editor_id": BROADCASTER, "broadcaster_id": BROADCASTER, "clip_ids": [clip_id]}
    assert world.client.get_clip_downloads(tokens, **args) == [ClipDownload(clip_id, None, None)]
    world.time.now += 31
    [ready] = world.client.get_clip_downloads(tokens, **args)
    assert ready.landscape_download_url and ready.portrait_download_url


def test_25_clip_ids_make_3_download_calls(world: World) -> None:
    real = [world.create_clip_directly() for _ in range(3)]
    ids = real + [f"Missing-{n}" for n in range(22)]
    downloads = world.client.get_clip_downloads(
        world.tokens(), editor_id=BROADCASTER, broadcaster_id=BROADCASTER, clip_ids=ids
    )
    assert [d.clip_id for d in downloads] == real
    sizes = [len(c.query["clip_id"]) for c in world.sim.calls if c.path == "/helix/clips/downloads"]
    assert sizes == [10, 10, 5]


def test_100_per_minute_download_limit_holds_under_a_burst(world: World) -> None:
    ids = [f"Burst-{n}" for n in range(1010)]
    world.client.get_clip_downloads(
        world.tokens(), editor_id=BROADCASTER, broadcaster_id=BROADCASTER, clip_ids=ids
    )
    assert world.statuses(DOWNLOADS) == [200] * 101
    assert world.time.sleeps == [60.0]
    times = [c.at for c in world.sim.calls if c.path == "/helix/clips/downloads"]
    assert times[100] - times[0] >= 60.0


def test_small_download_limiter_shared_by_calls_of_one_client(fake: FakeTime) -> None:
    with HelixSimulator(clock=fake.clock, downloads_per_minute=3) as sim:
        world = build_world(sim, fake, downloads_per_minute=3)
        tokens = world.tokens()
        args = {"editor_id": BROADCASTER, "broadcaster_id": BROADCASTER}
        world.client.get_clip_downloads(tokens, clip_ids=[f"A-{n}" for n in range(25)], **args)
        world.client.get_clip_downloads(tokens, clip_ids=[f"B-{n}" for n in range(15)], **args)
        assert world.statuses(DOWNLOADS) == [200] * 5
        assert world.time.sleeps == [60.0]


# ------------------------------------------------------------------- docs/architecture.md §6.1
# error rows


@pytest.mark.parametrize("status", sorted(STATUS_ROWS))
def test_every_error_status_maps_to_its_code_with_one_call_when_not_retrying(
    world: World, operation: str, status: int
) -> None:
    run, call = failing(world, operation, status, times=2)
    tokens = world.tokens(refresh=lambda rejected: rejected)
    with pytest.raises(ClipError) as caught:
        run(world, tokens, False)
    assert_clip_error(caught.value, STATUS_ROWS[status], status)
    assert caught.value.twitch_message == "Simulated fault"
    assert "Simulated fault" in str(caught.value)
    # Without retries a 401 still gets its one refresh and one retry (nothing was created).
    assert world.count(call) == (2 if status == 401 else 1)
    assert len(tokens.refreshes) == (1 if status == 401 else 0)
    assert world.time.sleeps == []
    if status == 429:
        assert caught.value.reset_at is not None
    else:
        assert caught.value.reset_at is None


@pytest.mark.parametrize("status", [400, 403, 404])
def test_400_403_404_are_final_even_when_retrying(
    world: World, operation: str, status: int
) -> None:
    run, call = failing(world, operation, status, times=5)
    with pytest.raises(ClipError) as caught:
        run(world, world.tokens(), True)
    assert_clip_error(caught.value, STATUS_ROWS[status], status)
    assert world.count(call) == 1
    assert world.time.sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_gets_at_most_3_tries_with_backoff(world: World, operation: str, status: int) -> None:
    run, call = failing(world, operation, status, times=10)
    with pytest.raises(ClipUnknown) as caught:
        run(world, world.tokens(), True)
    assert_clip_error(caught.value, ClipUnknown, status)
    assert world.count(call) == 3
    assert world.time.sleeps == [1.0, 2.0]


def test_5xx_then_success_returns_the_answer(world: World) -> None:
    world.sim.inject_fault("POST /helix/clips", "status", status=503, times=2)
    created = world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER)
    assert created.id
    assert world.statuses(HELIX_CLIPS) == [503, 503, 202]


@pytest.mark.parametrize(("retry", "tries"), [(True, 3), (False, 1)])
def test_timeouts_get_at_most_3_tries_and_map_to_unknown(
    fake: FakeTime, operation: str, retry: bool, tries: int
) -> None:
    """With retry, 3 tries and backoff; without (a timeout without retry), one call. A create
    is the exception: Twitch may have made the clip, so it is never sent again (issue 10)."""
    if operation == "create":
        tries = 1
    with HelixSimulator(clock=fake.clock) as sim:
        world = build_world(sim, fake, read_timeout=0.1)
        run, call = OPERATIONS[operation]
        sim.inject_fault(call[1], "slow", delay=0.25, times=5)
        with pytest.raises(ClipUnknown) as caught:
            run(world, world.tokens(), retry)
        if operation == "create":
            assert isinstance(caught.value, CreateUnanswered)
            assert caught.value.error_code is ErrorCode.UNKNOWN
            assert world.time.sleeps == []
        else:
            assert_clip_error(caught.value, ClipUnknown, None)
        if retry and operation != "create":
            assert any("timed out" in note for note in caught.value.__notes__)
            assert world.time.sleeps == [1.0, 2.0]
        wait_for_count(world, call, tries)
        assert world.count(call) == tries


def test_dropped_connection_is_retried_like_a_timeout(world: World, operation: str) -> None:
    run, call = OPERATIONS[operation]
    world.sim.inject_fault(call[1], "drop", times=2)
    if operation == "create":
        # Dropped after sending: the clip may exist, so the create is not sent again.
        with pytest.raises(CreateUnanswered):
            run(world, world.tokens(), True)
        assert world.statuses(call) == [None]
        return
    run(world, world.tokens(), True)
    assert world.statuses(call) == [None, None, 200 if call[0] == "GET" else 202]
    assert world.time.sleeps == [1.0, 2.0]


def test_twitch_own_refusals_carry_twitch_message(world: World) -> None:
    tokens = world.tokens()
    world.sim.configure_channel(BROADCASTER, automod_words=["badword"])
    with pytest.raises(ClipBadRequest) as automod:
        world.client.create_clip(tokens, broadcaster_id=BROADCASTER, title="a badword")
    assert automod.value.twitch_message == "The title was rejected by AutoMod."
    world.sim.configure_channel(BROADCASTER, clips_disabled=True)
    with pytest.raises(ClipForbidden) as disabled:
        world.client.create_clip(tokens, broadcaster_id=BROADCASTER)
    assert "restricted" in disabled.value.twitch_message
    world.sim.configure_channel(BROADCASTER)
    world.sim.set_live(BROADCASTER, False)
    with pytest.raises(ClipNotFound) as offline:
        world.client.create_clip(tokens, broadcaster_id=BROADCASTER)
    assert offline.value.twitch_message == "The broadcaster is not live."
    with pytest.raises(ClipNotFound):
        world.client.create_clip_from_vod(
            tokens,
            editor_id=BROADCASTER,
            broadcaster_id=BROADCASTER,
            vod_id="999999",
            vod_offset=60,
            title="x",
            duration=30,
        )
    with pytest.raises(ClipForbidden) as not_editor:
        world.client.get_clip_downloads(
            MemoryTokens(world.editor_access),
            editor_id=EDITOR,
            broadcaster_id=BROADCASTER,
            clip_ids=["x"],
        )
    assert "not an editor" in not_editor.value.twitch_message
    assert world.count(HELIX_CLIPS) == 3
    assert world.time.sleeps == []


# ------------------------------------------------------------------------------- 429


def exhaust_bucket(world: World) -> int:
    """Spend the token's points from outside the client, as another process would."""
    reset = 0
    for _ in range(6):
        response = requests.get(
            world.sim.api_base + "/streams",
            headers={"Authorization": f"Bearer {world.access}", "Client-Id": CLIENT_ID},
            timeout=5,
        )
        reset = int(response.headers["Ratelimit-Reset"])
    assert response.status_code == 429
    return reset


def test_429_is_retried_only_after_ratelimit_reset(fake: FakeTime, operation: str) -> None:
    with HelixSimulator(clock=fake.clock, bucket_size=5) as sim:
        world = build_world(sim, fake)
        run, call = OPERATIONS[operation]
        reset = exhaust_bucket(world)
        assert reset > fake.now
        run(world, world.tokens(), True)
        first, second = [c for c in sim.calls if (c.method, c.path) == call]
        assert (first.status, second.status) == (429, 200 if call[0] == "GET" else 202)
        assert world.time.sleeps == [reset - first.at]
        assert second.at >= reset


def test_429_without_retry_carries_reset_at(fake: FakeTime) -> None:
    with HelixSimulator(clock=fake.clock, bucket_size=5) as sim:
        world = build_world(sim, fake)
        reset = exhaust_bucket(world)
        with pytest.raises(ClipRateLimited) as caught:
            world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER, retry=False)
        assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
        assert caught.value.http_status == 429
        assert world.count(HELIX_CLIPS) == 1
        assert world.time.sleeps == []


def test_429_that_keeps_coming_stops_at_the_policy_limit(world: World) -> None:
    world.sim.inject_fault("GET /helix/clips", "status", status=429, times=20)
    with pytest.raises(ClipRateLimited) as caught:
        world.client.get_clips(world.tokens(), ["x"])
    assert_clip_error(caught.value, ClipRateLimited, 429)
    assert world.count(GET_CLIPS) == 5


def test_bucket_slows_the_client_down_before_twitch_answers_429(fake: FakeTime) -> None:
    with HelixSimulator(clock=fake.clock, bucket_size=5) as sim:
        world = build_world(sim, fake)
        tokens = world.tokens()
        for _ in range(12):
            world.client.get_clips(tokens, ["x"])
        assert world.statuses(GET_CLIPS) == [200] * 12
        assert world.time.sleeps and all(s > 0 for s in world.time.sleeps)


# ------------------------------------------------------------------------------- 401


def test_401_refreshes_once_then_retries_once(world: World, operation: str) -> None:
    run, call = OPERATIONS[operation]
    world.sim.expire_token(world.access)
    tokens = world.refreshing_tokens()
    run(world, tokens, True)
    assert tokens.refreshes == [world.access]
    assert world.statuses(call) == [401, 200 if call[0] == "GET" else 202]
    assert world.count(("POST", "/oauth2/token")) == 1


def test_401_after_the_refresh_is_final_never_a_loop(world: World, operation: str) -> None:
    run, call = OPERATIONS[operation]
    world.sim.expire_token(world.access)
    world.sim.expire_token(world.viewer_access)
    tokens = world.tokens(refresh=lambda _: world.viewer_access)
    with pytest.raises(ClipUnauthorized) as caught:
        run(world, tokens, True)
    assert_clip_error(caught.value, ClipUnauthorized, 401)
    assert caught.value.twitch_message == "Invalid OAuth token"
    assert len(tokens.refreshes) == 1
    assert world.statuses(call) == [401, 401]


def test_missing_scope_refreshes_once_then_stops(world: World) -> None:
    tokens = MemoryTokens(world.viewer_access, refresh=lambda rejected: rejected)
    with pytest.raises(ClipUnauthorized) as caught:
        world.client.create_clip(tokens, broadcaster_id=BROADCASTER)
    assert caught.value.twitch_message == "Missing scope: clips:edit"
    assert world.statuses(HELIX_CLIPS) == [401, 401]


# ------------------------------------------------------------------- local validation


def vod_call(**changes: Any) -> Callable[[HelixClips, MemoryTokens], object]:
    """A Create Clip From VOD call with valid arguments but for `changes`."""
    args: dict[str, Any] = {"editor_id": "1", "broadcaster_id": "1", "vod_id": "2"}
    args |= {"vod_offset": 60, "title": "t", "duration": 30} | changes
    return lambda c, t: c.create_clip_from_vod(t, **args)


BAD_CALLS: dict[str, tuple[Callable[[HelixClips, MemoryTokens], object], set[str]]] = {
    "login name": (lambda c, t: c.create_clip(t, broadcaster_id="streamer"), {"broadcaster_id"}),
    "empty id": (lambda c, t: c.create_clip(t, broadcaster_id=""), {"broadcaster_id"}),
    "short": (lambda c, t: c.create_clip(t, broadcaster_id="1", duration=4.9), {"duration"}),
    "long": (lambda c, t: c.create_clip(t, broadcaster_id="1", duration=60.1), {"duration"}),
    "precision": (lambda c, t: c.create_clip(t, broadcaster_id="1", duration=9.25), {"duration"}),
    "long title": (lambda c, t: c.create_clip(t, broadcaster_id="1", title="x" * 101), {"title"}),
    "vod offset": (vod_call(vod_offset=29.9), {"vod_offset"}),
    "vod everything": (
        vod_call(
            editor_id="", broadcaster_id="x", vod_id="v1", vod_offset=-1, title="  ", duration=61
        ),
        {"editor_id", "broadcaster_id", "vod_id", "vod_offset", "title", "duration"},
    ),
    "no clip ids": (lambda c, t: c.get_clips(t, []), {"ids"}),
    "one string": (lambda c, t: c.get_clips(t, "abc"), {"ids"}),
    "blank clip id": (lambda c, t: c.get_clips(t, ["a", " "]), {"ids"}),
    "first": (lambda c, t: c.get_clips_by_broadcaster(t, "1", first=101), {"first"}),
    "cursors": (
        lambda c, t: c.get_clips_by_broadcaster(t, "1", after="a", before="b"),
        {"before"},
    ),
    "no downloads": (
        lambda c, t: c.get_clip_downloads(t, editor_id="1", broadcaster_id="1", clip_ids=[]),
        {"clip_ids"},
    ),
    "download ids": (
        lambda c, t: c.get_clip_downloads(t, editor_id="e", broadcaster_id="", clip_ids=["a"]),
        {"editor_id", "broadcaster_id"},
    ),
    "validate": (lambda c, t: c.validate_token(""), {"access_token"}),
    "refresh": (
        lambda c, t: c.refresh_token("", client_secret=""),
        {"refresh_token", "client_secret"},
    ),
    "code": (
        lambda c, t: c.exchange_code(
            "unused-code-1", redirect_uri="nope", client_secret="unused-secret"
        ),
        {"redirect_uri"},
    ),
}


def test_local_validation_refuses_before_any_http(world: World) -> None:
    tokens = world.tokens()
    for case, (call, fields) in BAD_CALLS.items():
        with pytest.raises(InvalidInput) as caught:
            call(world.client, tokens)
        assert set(caught.value.fields) == fields, case
        assert all(name in str(caught.value) for name in fields), case
    assert world.sim.calls == []
    assert tokens.asked == 0


# ------------------------------------------------------------------------------ OAuth


def test_validate_token_reports_scopes_and_refuses_a_bad_token(world: World) -> None:
    info = world.client.validate_token(world.access)
    assert info == TokenInfo(CLIENT_ID, "streamer", CLIP_SCOPES, BROADCASTER, 14400)
    app = world.client.validate_token(world.app_token)
    assert (app.login, app.user_id, app.client_id) == (None, None, CLIENT_ID)
    world.sim.expire_token(world.access)
    with pytest.raises(ClipUnauthorized) as caught:
        world.client.validate_token(world.access)
    assert_clip_error(caught.value, ClipUnauthorized, 401)
    assert caught.value.twitch_message == "invalid access token"
    assert world.count(("GET", "/oauth2/validate")) == 3


def test_refresh_token_rotates_and_refusals_are_unauthorized(world: World) -> None:
    grant = world.client.refresh_token(world.refresh, client_secret=CLIENT_SECRET)
    assert isinstance(grant, TokenGrant)
    assert grant.scopes == CLIP_SCOPES and grant.expires_in > 0
    assert grant.access_token != world.access and grant.refresh_token != world.refresh
    assert grant.access_token not in repr(grant) and grant.refresh_token not in repr(grant)
    with pytest.raises(ClipUnauthorized) as spent:
        world.client.refresh_token(world.refresh, client_secret=CLIENT_SECRET)
    assert (spent.value.http_status, spent.value.twitch_message) == (400, "Invalid refresh token")
    with pytest.raises(ClipUnauthorized) as wrong_secret:
        world.client.refresh_token(grant.refresh_token, client_secret="not-the-secret")
    assert wrong_secret.value.http_status == 403
    assert world.count(("POST", "/oauth2/token")) == 3


def test_exchange_code_ends_the_connect_flow(world: World) -> None:
    world.sim.authorize_as(EDITOR)
    redirect = "http://localhost:8501/callback"
    consent = visit_consent(world.sim.auth_base, CLIENT_ID, redirect, ["editor:manage:clips"])
    [code] = world.sim.authorize_url_codes
    assert consent.status_code == 302
    grant = world.client.exchange_code(code, redirect_uri=redirect, client_secret=CLIENT_SECRET)
    assert grant.scopes == ("editor:manage:clips",)
    assert world.client.validate_token(grant.access_token).user_id == EDITOR
    with pytest.raises(ClipUnauthorized):
        world.client.exchange_code(code, redirect_uri=redirect, client_secret=CLIENT_SECRET)


def test_oauth_5xx_is_retried_by_the_same_policy(world: World) -> None:
    world.sim.inject_fault("/oauth2/validate", "status", status=502, times=5)
    with pytest.raises(ClipUnknown):
        world.client.validate_token(world.access)
    assert world.count(("GET", "/oauth2/validate")) == 3
    assert world.time.sleeps == [1.0, 2.0]


# ------------------------------------------------------------------ odd Twitch answers


class StubAdapter(BaseAdapter):
    """Answers every request with one canned response, for shapes the simulator never sends."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__()
        self.status = status
        self.body = body
        self.sent = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent += 1
        response = requests.Response()
        response.status_code = self.status
        response._content = json.dumps(self.body).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        """Nothing to release."""


@pytest.mark.parametrize(
    ("status", "body"),
    [(202, {"data": []}), (202, {}), (202, {"data": [{"edit_url": "x"}]}), (200, {"data": []})],
)
def test_create_clip_without_a_202_and_an_id_is_unknown(
    fake: FakeTime, status: int, body: object
) -> None:
    session = requests.Session()
    adapter = StubAdapter(status, body)
    session.mount("https://", adapter)
    client = HelixClips(
        CLIENT_ID,
        api_base="https://helix.invalid/helix",
        session=session,
        sleep=fake.sleep,
        clock=fake.clock,
    )
    with pytest.raises(ClipUnknown) as caught:
        client.create_clip(MemoryTokens("sometoken123"), broadcaster_id=BROADCASTER)
    assert caught.value.http_status == status
    assert adapter.sent == 1


def test_bases_and_client_id_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWITCH_API_BASE", raising=False)
    monkeypatch.delenv("TWITCH_AUTH_BASE", raising=False)
    monkeypatch.setenv("TWITCH_CLIENT_ID", "fromenv")
    default = HelixClips()
    assert (default.client_id, default.api_base, default.auth_base) == (
        "fromenv",
        DEFAULT_API_BASE,
        DEFAULT_AUTH_BASE,
    )
    monkeypatch.setenv("TWITCH_API_BASE", "http://127.0.0.1:9/helix/")
    monkeypatch.setenv("TWITCH_AUTH_BASE", "http://127.0.0.1:9/oauth2")
    local = HelixClips("explicit")
    assert (local.client_id, local.api_base, local.auth_base) == (
        "explicit",
        "http://127.0.0.1:9/helix",
        "http://127.0.0.1:9/oauth2",
    )
    monkeypatch.delenv("TWITCH_CLIENT_ID")
    with pytest.raises(ValueError):
        HelixClips()


# ------------------------------------------------------------------------------ secrets


def test_no_token_or_secret_reaches_a_log_line_or_an_exception(
    fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.setFormatter(JsonFormatter())
    texts: list[str] = []

    def expect_failure(call: Callable[[], object]) -> None:
        with pytest.raises(Exception) as caught:
            call()
        texts.extend(
            [str(caught.value), repr(caught.value), *getattr(caught.value, "__notes__", [])]
        )

    with HelixSimulator(clock=fake.clock) as sim:
        world = build_world(sim, fake, read_timeout=0.1)
        client = world.client
        world.client.validate_token(world.access)
        world.sim.expire_token(world.access)
        tokens = world.refreshing_tokens()
        client.create_clip(tokens, broadcaster_id=BROADCASTER, title="gg")
        expect_failure(lambda: client.validate_token(world.access))
        expect_failure(lambda: client.refresh_token(world.refresh, client_secret=CLIENT_SECRET))
        expect_failure(
            lambda: client.refresh_token("someotherrefresh", client_secret="wrongsecret")
        )
        world.sim.expire_token(world.viewer_access)
        stuck = MemoryTokens(world.viewer_access, refresh=lambda rejected: rejected)
        expect_failure(lambda: client.create_clip(stuck, broadcaster_id=BROADCASTER))
        sim.inject_fault("/helix/clips", "slow", delay=0.2, times=1)
        expect_failure(lambda: client.get_clips(tokens, ["x"], retry=False))
        sim.inject_fault("/oauth2/token", "status", status=500, times=3)
        expect_failure(lambda: client.refresh_token("third-refresh", client_secret=CLIENT_SECRET))
        expect_failure(lambda: client.create_clip(tokens, broadcaster_id="streamer"))
        secrets = [*world.secrets, "someotherrefresh", "wrongsecret", "third-refresh"]

    formatter = JsonFormatter()
    records = [r for r in caplog.records if r.name == "shared.twitch.helix_clips"]
    lines = [formatter.format(r) for r in records] + [r.getMessage() for r in records]
    lines += [json.dumps(vars(r), default=str) for r in records]
    lines.append(caplog.text)
    assert len(records) >= 10
    for secret in secrets:
        for text in lines + texts:
            assert secret not in text
    entry = json.loads(formatter.format(records[0]))
    assert {"method", "path", "status", "duration_ms", "attempt"} <= set(entry)
    assert entry["path"] == "/validate" and entry["status"] == 200 and entry["attempt"] == 1
    for record in records:
        assert "Authorization" not in record.getMessage()


def test_every_call_is_one_structured_log_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shared.twitch.helix_clips")
    world.sim.inject_fault("POST /helix/clips", "status", status=503, times=1)
    world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER)
    records = [r for r in caplog.records if r.name == "shared.twitch.helix_clips"]
    fields = ("method", "path", "status", "attempt", "levelname")
    summary = [tuple(getattr(r, name) for name in fields) for r in records]
    assert summary == [
        ("POST", "/clips", 503, 1, "WARNING"),
        ("POST", "/clips", 202, 2, "INFO"),
    ]
    assert vars(records[0])["error_code"] == ErrorCode.UNKNOWN.value
    assert all(isinstance(vars(r)["duration_ms"], int) for r in records)


def test_a_backoff_longer_than_allowed_is_left_to_the_caller(fake: FakeTime) -> None:
    with HelixSimulator(clock=fake.clock) as sim:
        world = build_world(sim, fake, max_inline_wait=0.5)
        sim.inject_fault("POST /helix/clips", "status", status=503)
        with pytest.raises(ClipError) as caught:
            world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER)
        world.client.close()
    assert world.count(HELIX_CLIPS) == 1
    assert world.time.sleeps == []
    assert caught.value.retry_at is not None
    assert caught.value.retry_at.timestamp() - fake.now == pytest.approx(1.0, abs=0.01)


def test_a_rate_limit_wait_longer_than_allowed_is_left_to_the_caller(fake: FakeTime) -> None:
    with HelixSimulator(clock=fake.clock, bucket_size=1) as sim:
        world = build_world(sim, fake)
        world.client.get_clips(world.tokens(), ["Spend-1"])
        patient = sim_client(sim, fake, max_inline_wait=10)
        with pytest.raises(ClipError) as caught:
            patient.create_clip(world.tokens(), broadcaster_id=BROADCASTER)
        patient.close()
        world.client.close()
    assert world.statuses(HELIX_CLIPS) == [429]
    assert world.time.sleeps == []
    error = caught.value
    assert error.http_status == 429
    assert error.reset_at is not None and error.reset_at.timestamp() > fake.now + 10
    assert error.retry_at == error.reset_at


def test_final_errors_carry_no_retry_time(world: World) -> None:
    world.sim.inject_fault("POST /helix/clips", "status", status=404)
    with pytest.raises(ClipError) as caught:
        world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER)
    assert caught.value.retry_at is None


def test_before_send_runs_after_the_bucket_wait_and_can_stop_the_create(fake: FakeTime) -> None:
    """The worker marks its create sent in `before_send`: only once every wait is over, right
    before the try goes out; an exception there sends nothing."""
    with HelixSimulator(clock=fake.clock, bucket_size=5) as sim:
        world = build_world(sim, fake)
        for _ in range(5):  # the last answer says no point is left until the reset
            world.client.get_clips(world.tokens(), ["x"])
        fake.sleeps.clear()
        before = fake.now
        marked: list[float] = []
        world.client.create_clip(
            world.tokens(),
            broadcaster_id=BROADCASTER,
            retry=False,
            before_send=lambda: marked.append(fake.now),
        )
        assert fake.sleeps and marked == [before + sum(fake.sleeps)]
        creates = world.count(HELIX_CLIPS)

        def refuse() -> None:
            raise RuntimeError("fenced off")

        with pytest.raises(RuntimeError):
            world.client.create_clip(world.tokens(), broadcaster_id=BROADCASTER, before_send=refuse)
        assert world.count(HELIX_CLIPS) == creates
