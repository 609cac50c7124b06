"""`vision_ingest` as real functions-framework processes on one emulator, with the FAKE
classifier: HTTP refusals write nothing, and the rate limit and the hourly cap hold across
two processes. The function starts without any of the clip functions' Twitch settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from local.firestore_emulator import FirestoreEmulator
from local.functions_host import FunctionServer
from local.vision_demo import DEMO_FRAMES, post_frame, running_vision, send_demo, vision_env
from obs.frame_sender import FrameSender, ObsScreens, SenderSettings
from shared.domain.vision import MAX_FRAME_BYTES
from shared.store.control_plane import ControlPlaneStore
from shared.store.scene_context import SceneContextStore
from shared.vision_model.fake import labelled_png
from tests.fake_obs_websocket import FakeObs
from tests.test_vision_ingest import everything, queued

TOKEN = "vision-e2e-token-0123456789abcdef"
VICTORY = {"game": "Demo Arena", "scene": "end", "event": "victory", "confidence": 0.95}
_channels = iter(range(880_000, 890_000))


def channel() -> str:
    return str(next(_channels))


@pytest.fixture(scope="module")
def pair(firestore_emulator: FirestoreEmulator) -> Iterator[tuple[FunctionServer, FunctionServer]]:
    env = vision_env(
        firestore_emulator.host,
        TOKEN,
        BYTECLIPS_CONTROL_PLANE_CACHE_SECONDS="0",
        BYTECLIPS_VISION_MODEL_TIMEOUT_SECONDS="1",
    )
    with ExitStack() as stack:
        first = stack.enter_context(running_vision(env))
        second = stack.enter_context(running_vision(env))
        yield first, second


@pytest.fixture(scope="module")
def keyless(firestore_emulator: FirestoreEmulator) -> Iterator[FunctionServer]:
    """The production classifier (Gemini) without GEMINI_API_KEY."""
    env = vision_env(firestore_emulator.host, TOKEN, BYTECLIPS_VISION_CLASSIFIER="gemini")
    with running_vision(env) as server:
        yield server


def set_vision(db: Any, **settings: Any) -> None:
    current = ControlPlaneStore(db).read(fresh=True).vision.model_dump(mode="json")
    ControlPlaneStore(db).write({"vision": current | settings}, by="e2e@example.com")


def away_from_window_edges() -> None:
    """Counting windows are wall-clock minutes and hours: start a burst well inside one."""
    now = datetime.now(UTC)
    if now.second >= 45 or (now.minute == 59 and now.second >= 40):
        time.sleep(61 - now.second)


def post(server: FunctionServer, frame: bytes, bid: str, **kwargs: Any) -> requests.Response:
    return post_frame(server.url, TOKEN, bid, frame, **kwargs)


def test_http_refusals_write_nothing(db, pair):
    server = pair[0]
    png = labelled_png(VICTORY)
    bid = channel()
    no_token = requests.post(
        server.url,
        params={"broadcaster_id": bid},
        data=png,
        timeout=30,
        headers={"Content-Type": "image/png"},
    )
    wrong = post_frame(server.url, "not-the-token", bid, png)
    in_query = requests.post(
        server.url,
        params={"broadcaster_id": bid, "token": TOKEN},
        data=png,
        timeout=30,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/png"},
    )
    oversize = post(server, png + b"\0" * MAX_FRAME_BYTES, bid)
    text = post(server, b"this is text, not a PNG", bid)
    bad_id = post(server, png, "streamer_login")
    statuses = [r.status_code for r in (no_token, wrong, in_query, oversize, text, bad_id)]
    assert statuses == [401, 401, 401, 413, 415, 400]
    assert no_token.headers["WWW-Authenticate"].startswith("Bearer")
    assert all(TOKEN not in r.text for r in (no_token, wrong, in_query))
    assert everything(db) == []


def test_no_model_key_is_503_with_a_clear_message(db, keyless):
    answer = post(keyless, labelled_png(VICTORY), channel())
    assert answer.status_code == 503
    assert "GEMINI_API_KEY is not set" in answer.json()["message"]
    assert everything(db) == []


def test_the_rate_limit_holds_across_two_processes(db, pair):
    set_vision(db, frames_per_minute=3)
    bid = channel()
    frame = labelled_png(None)
    away_from_window_edges()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: post(pair[i % 2], frame, bid), range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 3 + [429] * 5, [a.text for a in answers]
    served_by = {i % 2 for i, a in enumerate(answers) if a.status_code in (200, 429)}
    assert served_by == {0, 1}
    for limited in (a for a in answers if a.status_code == 429):
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_the_hourly_cap_holds_across_two_processes(db, pair):
    set_vision(db, frames_per_minute=120, max_model_calls_per_hour=4)
    frame = labelled_png(None)
    away_from_window_edges()
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda i: post(pair[i % 2], frame, channel()), range(10)))
    assert sorted(a.status_code for a in answers) == [200] * 4 + [429] * 6
    capped = [a for a in answers if a.status_code == 429]
    assert {a.json()["error"] for a in capped} == {"cost_cap"}
    assert all(60 <= int(a.headers["Retry-After"]) <= 3600 for a in capped)


def test_a_victory_is_one_candidate_even_through_both_processes(db, pair):
    bid = channel()
    captured = datetime.now(UTC) - timedelta(seconds=2)
    first = post(pair[0], labelled_png(VICTORY), bid, captured_at=captured)
    second = post(pair[1], labelled_png(VICTORY), bid, captured_at=captured)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["action_id"] and not first.json()["duplicate"]
    assert second.json()["duplicate"] and second.json()["action_id"] == first.json()["action_id"]
    (item,) = queued(db)
    assert item["payload"]["source"] == "vision"
    assert item["payload"]["source_ts"] == captured
    low = post(pair[0], labelled_png(VICTORY | {"confidence": 0.3}), channel())
    assert low.status_code == 200 and not low.json()["triggered"]
    assert len(queued(db)) == 1


def test_a_model_timeout_is_504_with_no_scene_and_no_candidate(db, pair):
    bid = channel()
    answer = post(pair[0], labelled_png(VICTORY | {"fail": "timeout"}), bid)
    assert answer.status_code == 504 and answer.json()["error"] == "model_timeout"
    assert queued(db) == [] and SceneContextStore(db).get(bid) is None


def test_the_demo_sequence_makes_exactly_one_candidate(db, pair):
    bid = channel()
    sent = send_demo(pair[0].url, TOKEN, bid, spacing=0)
    assert [r.status_code for _, r in sent] == [200] * len(DEMO_FRAMES)
    triggered = [frame.note for frame, r in sent if r.json()["triggered"]]
    assert len(triggered) == 2  # the victory, then the same moment again
    assert sent[-1][1].json()["duplicate"]
    assert len(queued(db)) == 1


def test_the_obs_script_feeds_the_function(db, pair):
    bid = channel()
    with FakeObs(image=labelled_png(VICTORY)) as obs:
        settings = SenderSettings(
            url=pair[1].url,
            broadcaster_id=bid,
            token=TOKEN,
            obs_host="127.0.0.1",
            obs_port=obs.port,
            image_format="png",
        )
        screens = ObsScreens(settings)
        try:
            assert FrameSender(settings, screens).step() <= settings.interval
        finally:
            screens.close()
    (item,) = queued(db)
    assert item["payload"]["broadcaster_id"] == bid
    scene = SceneContextStore(db).get(bid)
    assert (
        scene is not None and scene.event == "victory" and scene.at == item["payload"]["source_ts"]
    )
