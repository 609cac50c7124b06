"""The OBS script against a fake obs-websocket v5 server and a fake `vision_ingest` on
loopback: what it sends, how it backs off, how it survives OBS restarting, and where its
secrets may come from."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local.lifecycle import JsonHandler, LoopbackServer
from obs.frame_sender import FrameSender, ObsScreens, SenderSettings, parse_args
from shared.vision_model.fake import labelled_png
from tests.deploy_fakes import serving
from tests.fake_obs_websocket import FakeObs

TOKEN = "obs-script-token-0123456789abcdef"
OBS_PASSWORD = "obs-websocket-password-42"
IMAGE = labelled_png({"event": "victory", "confidence": 0.9})
CAPTURED = datetime(2026, 11, 24, 20, 0, 1, 250000, tzinfo=UTC)


class FakeVision(LoopbackServer):
    """Answers each POST with the next scripted (status, headers, body); records them."""

    url_path = "/vision_ingest"

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.posts: list[dict[str, Any]] = []
        super().__init__(_VisionHandler)


class _VisionHandler(JsonHandler):
    server: FakeVision

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.server.posts.append(
            {
                "path": url.path,
                "query": parse_qs(url.query),
                "headers": dict(self.headers),
                "body": self.read_body(),
            }
        )
        status, headers, answer = (
            self.server.script.pop(0) if self.server.script else (200, {}, {"ok": True})
        )
        self.send_json(status, answer, headers)


@pytest.fixture
def vision() -> Iterator[FakeVision]:
    with serving(FakeVision()) as server:
        yield server


@pytest.fixture
def obs() -> Iterator[FakeObs]:
    with FakeObs(image=IMAGE, password=OBS_PASSWORD) as server:
        yield server


def settings(vision: FakeVision, obs: FakeObs, **changes: Any) -> SenderSettings:
    fields: dict[str, Any] = {
        "url": vision.url,
        "broadcaster_id": "12345",
        "token": TOKEN,
        "interval": 5.0,
        "obs_port": obs.port,
        "obs_host": "127.0.0.1",
        "obs_password": OBS_PASSWORD,
        "image_format": "png",
        "width": 640,
        "height": 360,
        "post_timeout": 5.0,
    }
    return SenderSettings(**(fields | changes))


def sender(config: SenderSettings, *, jitter: float = 0.999) -> FrameSender:
    return FrameSender(
        config,
        ObsScreens(config, connect_timeout=2.0),
        now=lambda: CAPTURED,
        monotonic=lambda: 0.0,
        jitter=lambda: jitter,
    )


def test_each_step_posts_the_program_scene_with_token_type_and_capture_time(vision, obs, caplog):
    caplog.set_level(logging.DEBUG)
    vision.script.append((200, {}, {"ok": True, "scene": {"event": "victory", "confidence": 0.9}}))
    frames = sender(settings(vision, obs))
    assert frames.step() == 5.0
    (post,) = vision.posts
    assert post["body"] == IMAGE
    assert post["query"] == {"broadcaster_id": ["12345"]}
    assert post["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert post["headers"]["Content-Type"] == "image/png"
    assert post["headers"]["X-Capture-Time"] == "2026-11-24T20:00:01.250+00:00"
    assert [kind for kind, _ in obs.requests] == ["GetCurrentProgramScene", "GetSourceScreenshot"]
    shot = obs.requests[1][1]
    assert shot == {
        "sourceName": "Gameplay",
        "imageFormat": "png",
        "imageWidth": 640,
        "imageHeight": 360,
        "imageCompressionQuality": 70,
    }
    assert obs.identified == 1
    assert TOKEN not in caplog.text and OBS_PASSWORD not in caplog.text


def test_429_waits_what_retry_after_says(vision, obs):
    vision.script += [
        (429, {"Retry-After": "42"}, {"ok": False, "message": "slow down"}),
        (429, {"Retry-After": "Tue, 24 Nov 2026 20:02:01 GMT"}, {}),
        (429, {}, {}),
    ]
    frames = sender(settings(vision, obs))
    assert frames.step() == 42.0
    assert frames.step() == 119.75
    assert frames.step() == 5.0
    assert len(vision.posts) == 3


def test_errors_back_off_longer_each_time_then_recover(vision, obs):
    vision.script += [(500, {}, {}), (502, {}, {}), (503, {}, {}), (504, {}, {}), (200, {}, {})]
    frames = sender(settings(vision, obs))
    waits = [frames.step() for _ in range(5)]
    assert waits[0] >= 5.0
    assert waits[0] < waits[1] < waits[2] < waits[3] <= 300.0
    assert waits[4] == 5.0 and frames.post_failures == 0


def test_a_refused_token_backs_off(vision, obs, caplog):
    vision.script += [(401, {}, {"ok": False, "message": "bad token"})] * 3
    frames = sender(settings(vision, obs))
    waits = [frames.step() for _ in range(3)]
    assert waits[0] < waits[1] < waits[2]
    assert "VISION_INGEST_TOKEN" in caplog.text and TOKEN not in caplog.text


def test_an_unreachable_function_backs_off(obs):
    frames_settings = SenderSettings(
        url="http://127.0.0.1:9/nowhere",
        broadcaster_id="1",
        token=TOKEN,
        obs_port=obs.port,
        obs_host="127.0.0.1",
        obs_password=OBS_PASSWORD,
        post_timeout=2.0,
    )
    frames = sender(frames_settings)
    first, second = frames.step(), frames.step()
    assert first >= 5.0 and second > first


def test_it_keeps_going_when_obs_restarts(vision):
    first = FakeObs(image=IMAGE, password=OBS_PASSWORD).start()
    port = first.port
    frames = sender(settings(vision, first))
    try:
        assert frames.step() == 5.0
        first.stop()
        waits = [frames.step(), frames.step(), frames.step()]
        assert waits == [1.0, 2.0, 4.0] and frames.obs_failures == 3
        with FakeObs(image=IMAGE, password=OBS_PASSWORD, port=port) as again:
            assert frames.step() == 5.0
            assert again.identified == 1 and frames.obs_failures == 0
    finally:
        first.stop()
    assert len(vision.posts) == 2


def test_a_wrong_obs_password_is_an_obs_failure_and_never_logged(vision, obs, caplog):
    caplog.set_level(logging.DEBUG)
    frames = sender(settings(vision, obs, obs_password="not-the-obs-password"))
    assert frames.step() == 1.0
    assert obs.refused_auth == 1 and vision.posts == []
    assert "not-the-obs-password" not in caplog.text


def test_run_stops_when_told(vision, obs):
    stop = threading.Event()
    frames = sender(settings(vision, obs, interval=1.0))
    thread = threading.Thread(target=frames.run, args=(stop,))
    thread.start()
    for _ in range(100):
        if vision.posts:
            break
        threading.Event().wait(0.05)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and vision.posts


BASE_ARGS = ["--url", "https://example.test/vision", "--broadcaster-id", "12345"]


@pytest.mark.parametrize(
    "secret_args",
    [
        ["--token", "s3cr3t-value"],
        ["--token=s3cr3t-value"],
        ["--tok", "s3cr3t-value"],
        ["--obs-password", "s3cr3t-value"],
        ["--password=s3cr3t-value"],
    ],
)
def test_secrets_are_refused_on_the_command_line(secret_args, monkeypatch, capsys):
    monkeypatch.setenv("VISION_INGEST_TOKEN", TOKEN)
    with pytest.raises(SystemExit) as caught:
        parse_args(BASE_ARGS + secret_args)
    said = str(caught.value) + capsys.readouterr().err
    assert "s3cr3t-value" not in said


def test_the_token_comes_from_the_environment_or_a_file(monkeypatch, tmp_path):
    monkeypatch.setenv("VISION_INGEST_TOKEN", TOKEN)
    monkeypatch.setenv("OBS_WEBSOCKET_PASSWORD", OBS_PASSWORD)
    config = parse_args([*BASE_ARGS, "--interval", "3"])
    assert config.token == TOKEN and config.obs_password == OBS_PASSWORD and config.interval == 3
    assert TOKEN not in repr(config) and OBS_PASSWORD not in repr(config)
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file-token\n")
    monkeypatch.delenv("VISION_INGEST_TOKEN")
    assert parse_args([*BASE_ARGS, "--token-file", str(token_file)]).token == "from-a-file-token"


def test_no_token_at_all_is_refused(monkeypatch):
    monkeypatch.delenv("VISION_INGEST_TOKEN", raising=False)
    with pytest.raises(SystemExit):
        parse_args(BASE_ARGS)
