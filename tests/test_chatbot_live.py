"""`python -m chatbot` as Cloud Run runs it: `/healthz` on `$PORT`, clean SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from chatbot.health import HealthServer
from chatbot.live import live_env
from local.firestore_emulator import free_port
from shared.store.firestore_client import LOCAL_PROJECT

ROOT = Path(__file__).resolve().parent.parent


def chatbot_env(firestore_host: str, port: int, **overrides: str) -> dict[str, str]:
    """`python -m chatbot`'s environment: made-up app credentials, no LLM key, `$PORT`."""
    env = os.environ | {
        "FIRESTORE_EMULATOR_HOST": firestore_host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "TWITCH_CLIENT_ID": "local-client",
        "TWITCH_CLIENT_SECRET": "local-secret-value",
        "TWITCH_BROADCASTER_ID": "12345",
        "TWITCH_BOT_USER_ID": "777001",
        "PORT": str(port),
    }
    env.pop("GEMINI_API_KEY", None)
    return env | overrides


def start_chatbot(env: dict[str, str], **output: Any) -> subprocess.Popen[str]:
    """The live chat bot in its own process; its output is discarded unless `output` says
    where (stderr follows stdout)."""
    output = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "text": True} | output
    return subprocess.Popen([sys.executable, "-m", "chatbot"], cwd=ROOT, env=env, **output)


def get_health(
    port: int, timeout: float = 20.0, until: Callable[[dict], bool] = lambda body: True
) -> tuple[int, dict]:
    """The first `/healthz` answer for which `until(body)` holds (the last one at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                status, body = r.status, json.loads(r.read())
        except urllib.error.HTTPError as error:
            status, body = error.code, json.loads(error.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            continue
        if until(body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def test_live_process_serves_healthz_and_stops_cleanly_on_sigterm(firestore_emulator, db):
    """The made-up app credentials never get a Twitch token (offline: DNS fails; online:
    Twitch refuses them), so chat stays `connecting` and is retried with backoff, while
    `/healthz` answers and SIGTERM stops everything."""
    port = free_port()
    process = start_chatbot(chatbot_env(firestore_emulator.host, port), stdout=subprocess.PIPE)
    try:
        # /healthz answers before the control plane listener is up; wait for it.
        status, body = get_health(port, until=lambda body: body["control_plane_listening"])
        assert status == 200 and body["ok"] is True
        assert body["chat"] == "connecting"
        assert body["llm_goal"].startswith("off: GEMINI_API_KEY is not set")
        assert body["control_plane_listening"] is True
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out
    logs = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    messages = [entry["message"] for entry in logs]
    assert "chat bot stopped" in messages and "LLM goal is off" in messages
    assert "local-secret-value" not in out


def test_healthz_answers_before_firestore_does():
    """Cloud Run probes `/healthz` from the start: it must answer while Firestore is slow or
    unreachable (here: nothing listens where the emulator should be)."""
    port = free_port()
    started = time.monotonic()
    process = start_chatbot(chatbot_env(f"127.0.0.1:{free_port()}", port))
    try:
        status, body = get_health(port, timeout=12)
        assert time.monotonic() - started < 12
        assert status in (200, 503) and body["control_plane_listening"] in (True, False)
    finally:
        process.kill()
        process.wait(10)


def test_live_env_names_every_problem():
    with pytest.raises(SystemExit) as stop:
        live_env({"TWITCH_BROADCASTER_ID": "bytestreamer", "PORT": "http"})
    message = str(stop.value)
    for name in ("TWITCH_CLIENT_ID", "TWITCH_CLIENT_SECRET", "TWITCH_BOT_USER_ID", "PORT"):
        assert name in message
    assert "login name" in message
    env = live_env(
        {
            "TWITCH_CLIENT_ID": "c",
            "TWITCH_CLIENT_SECRET": "s",
            "TWITCH_BROADCASTER_ID": "12345",
            "TWITCH_BOT_USER_ID": "777001",
        }
    )
    assert (env.port, env.gemini_api_key) == (8080, None)


def test_healthz_answers_503_when_unhealthy():
    state = {"ok": True}

    async def scenario() -> list[tuple[int, dict]]:
        server = await HealthServer(lambda: (state["ok"], {"chat": "x"}), port=0).start()
        answers = []
        async with ClientSession() as session:
            for ok in (True, False):
                state["ok"] = ok
                async with session.get(f"http://127.0.0.1:{server.port}/healthz") as response:
                    answers.append((response.status, await response.json()))
        await server.stop()
        return answers

    assert asyncio.run(scenario()) == [
        (200, {"ok": True, "chat": "x"}),
        (503, {"ok": False, "chat": "x"}),
    ]


def test_candidates_not_written_at_shutdown_are_logged_as_dropped_with_the_count(caplog):
    """SIGTERM while Firestore is slow: each `!clip` seen is a written candidate or counted
    in the "dropped" error and in the last log line's accounting."""
    from chatbot.chat_line import ChatLine
    from chatbot.control import StaticConfig
    from chatbot.live import chat_accounting, close_sink
    from chatbot.outbox import ChatOutbox
    from chatbot.runtime import ChatRuntime
    from chatbot.sink import CandidateSink
    from shared.store.action_queue import EnqueueResult

    written: list[str] = []

    class SlowQueue:
        def submit(self, fields, *, dedupe_window_seconds=0):
            time.sleep(0.6)
            written.append(str(fields.get("source_ts")))
            return EnqueueResult(f"a{len(written)}", duplicate=False)

    config = StaticConfig()
    sink = CandidateSink(SlowQueue(), config, workers=1)
    outbox = ChatOutbox(lambda text: asyncio.sleep(0))
    runtime = ChatRuntime(config, sink, outbox)
    start = time.time() - 600
    for i in range(4):  # minutes apart and from different moderators: no cooldown applies
        runtime.handle(
            ChatLine(
                ts=start + 120 * i,
                broadcaster_id="12345",
                user_id=str(4000 + i),
                user=f"mod{i}",
                text=f"!clip moment {i}",
                roles=frozenset({"moderator"}),
                message_id=f"m{i}",
            )
        )
    with caplog.at_level("ERROR", logger="chatbot.live"):
        unwritten = close_sink(sink, 0.3)
    summary = chat_accounting(None, runtime, sink, outbox, unwritten)
    dropped = [r for r in caplog.records if r.getMessage().endswith(": dropped")]
    assert unwritten == 4 and [r.dropped for r in dropped] == [4]
    assert summary["messages_seen"] == 4 and summary["candidates_dropped"] == 4
    assert summary["candidates"].get("enqueued", 0) + summary["candidates_dropped"] == 4
