"""Measures the figures docs/costs.md turns into a monthly bill, on the local stack.

    .venv/bin/python -m deploy.measure_costs [--jobs 20] [--frames 30]

Each deployable runs as its own process, as in production (functions under
functions-framework, the chat bot replaying chatbot/demo_chat.jsonl), with deploy/meter on its
PYTHONPATH so that its Firestore reads, writes and deletes are counted as Firestore bills them.
Measured: per clip job (approval in the app, the worker, the sweep that fetches its download
links), per idle sweep, per token validation, per vision frame (FAKE classifier: the model's
own time and price are not measured here), and the chat bot's CPU time, peak memory and
Firestore operations per hour of chat. A measurement, not a test: it prints JSON and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from local.chat_host import replay_chat_log
from local.clip_harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    connect_channel,
    function_env,
    wait_for_job,
)
from local.firestore_emulator import FirestoreEmulator
from local.functions_host import FunctionServer
from local.helix_simulator import HelixSimulator
from local.trigger_relay import TriggerRelay
from local.worker_proxy import WorkerProxy
from shared.domain.vision import CAPTURE_HEADER
from shared.store.firestore_client import LOCAL_PROJECT, make_client
from shared.vision_model.fake import labelled_png

ROOT = Path(__file__).resolve().parent.parent
METER = ROOT / "deploy" / "meter"
CHANNEL = "31337"
CHAT_LOG = ROOT / "chatbot" / "demo_chat.jsonl"
VISION_TOKEN = "measure-vision-token"

APPROVE_SCRIPT = """
import sys, time
from local.clip_harness import approve_moment
from shared.store.firestore_client import LOCAL_PROJECT, make_client
db = make_client(LOCAL_PROJECT)
for n in range(int(sys.argv[1])):
    print(approve_moment(db, sys.argv[2], suggested_title=f"cost moment {n}").job_id, flush=True)
    time.sleep(0.5)
"""


def counts(path: Path) -> dict[str, int]:
    return json.loads(path.read_text()) if path.exists() else {}


def per(total: dict[str, int], n: int) -> dict[str, float]:
    return {k: round(v / n, 2) for k, v in sorted(total.items()) if k != "commits"}


def minus(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


@contextmanager
def served(server: ThreadingHTTPServer) -> Iterator[None]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()


def timed_post(url: str, **kwargs: Any) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = requests.post(url, timeout=120, **kwargs)
    return time.monotonic() - started, response


def measure_clips(emulator: FirestoreEmulator, meters: Path, jobs: int) -> dict[str, Any]:
    with HelixSimulator() as sim:
        db = make_client(LOCAL_PROJECT)
        sim.add_app(CLIENT_ID, CLIENT_SECRET)
        connect_channel(sim, db, CHANNEL)
        sim.next_clip_visible_after([2.0] * jobs)
        env = function_env(sim, emulator.host)
        servers = {
            target: FunctionServer(
                target, env=env | {"BYTECLIPS_COST_METER": str(meters / f"{target}.json")}
            )
            for target in ("on_clip_job_written", "sweep_clip_jobs", "validate_tokens")
        }
        for server in servers.values():
            server.start()
        try:
            proxy = WorkerProxy(servers["on_clip_job_written"].url)
            with served(proxy), TriggerRelay(db, proxy.url, skip_existing=True, lanes=8):
                approve_env = {
                    **os.environ,
                    "BYTECLIPS_COST_METER": str(meters / "approve.json"),
                    "FIRESTORE_EMULATOR_HOST": emulator.host,
                }
                ids = subprocess.run(
                    [sys.executable, "-c", APPROVE_SCRIPT, str(jobs), CHANNEL],
                    env=approve_env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                finished = [wait_for_job(db, job_id, timeout=90) for job_id in ids]
                time.sleep(1.0)
            worker = counts(meters / "on_clip_job_written.json")
            sweep_url, tokens_url = servers["sweep_clip_jobs"].url, servers["validate_tokens"].url
            busy_seconds, _ = timed_post(sweep_url, json={})  # fetches the new clips' links
            after_busy = counts(meters / "sweep_clip_jobs.json")
            idle_seconds = [timed_post(sweep_url, json={})[0] for _ in range(5)]
            idle = minus(counts(meters / "sweep_clip_jobs.json"), after_busy)
            validate_seconds = [timed_post(tokens_url, json={})[0] for _ in range(3)]
        finally:
            for server in servers.values():
                server.stop()
    ready = sum(1 for job in finished if job.status.value == "ready")
    return {
        "jobs": jobs,
        "ready": ready,
        "approval_per_job": per(counts(meters / "approve.json"), jobs),
        "worker_per_job": per(worker, jobs),
        "worker_invocations_per_job": round(len(proxy.durations) / jobs, 2),
        "worker_seconds_per_invocation": round(sum(proxy.durations) / len(proxy.durations), 3),
        "worker_seconds_per_job": round(sum(proxy.durations) / jobs, 3),
        "links_sweep_per_job": per(minus(after_busy, per_idle_total(idle, 5)), jobs),
        "links_sweep_seconds": round(busy_seconds, 3),
        "idle_sweep": per(idle, 5),
        "idle_sweep_seconds": round(sum(idle_seconds) / 5, 3),
        "validate": per(counts(meters / "validate_tokens.json"), 3),
        "validate_seconds": round(sum(validate_seconds) / 3, 3),
    }


def per_idle_total(idle: dict[str, int], n: int) -> dict[str, int]:
    """One idle sweep's counts (what the busy sweep would have cost with nothing to do)."""
    return {k: round(v / n) for k, v in idle.items()}


def measure_vision(emulator: FirestoreEmulator, meters: Path, frames: int) -> dict[str, Any]:
    env = {
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "VISION_INGEST_TOKEN": VISION_TOKEN,
        "BYTECLIPS_VISION_CLASSIFIER": "fake",
        "BYTECLIPS_COST_METER": str(meters / "vision_ingest.json"),
    }
    frame = labelled_png(None)
    seconds, statuses = [], []
    with FunctionServer("vision_ingest", env=env) as server:
        for n in range(frames):
            # Ten frames per channel stay under the 12-a-minute limit: every frame is admitted.
            channel = str(40000 + n // 10)
            took, response = timed_post(
                f"{server.url}?broadcaster_id={channel}",
                data=frame,
                headers={
                    "Content-Type": "image/png",
                    "Authorization": f"Bearer {VISION_TOKEN}",
                    CAPTURE_HEADER: datetime.now(UTC).isoformat(timespec="milliseconds"),
                },
            )
            seconds.append(took)
            statuses.append(response.status_code)
    return {
        "frames": frames,
        "admitted": statuses.count(200),
        "per_frame": per(counts(meters / "vision_ingest.json"), frames),
        "seconds_per_frame": round(sum(seconds) / frames, 3),
    }


def measure_chatbot(emulator: FirestoreEmulator, meters: Path) -> dict[str, Any]:
    lines = [json.loads(line) for line in CHAT_LOG.read_text().splitlines() if line.strip()]
    first, last = (datetime.fromisoformat(lines[i]["ts"].replace("Z", "+00:00")) for i in (0, -1))
    chat_hours = (last - first).total_seconds() / 3600
    meter = {"BYTECLIPS_COST_METER": str(meters / "chatbot.json")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    replay_chat_log(CHAT_LOG, emulator.host, speed=0, timeout=600, env=meter).check_returncode()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "chat_lines": len(lines),
        "chat_minutes": round(chat_hours * 60, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_seconds_per_chat_hour": round(cpu / chat_hours, 1),
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        "firestore_total": counts(meters / "chatbot.json"),
        "firestore_per_chat_hour": {
            k: round(v / chat_hours, 1)
            for k, v in counts(meters / "chatbot.json").items()
            if k != "commits"
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(METER), os.environ.get("PYTHONPATH")])
    )
    with tempfile.TemporaryDirectory() as folder, FirestoreEmulator(project=LOCAL_PROJECT) as emu:
        meters = Path(folder)
        os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
        result = {
            "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "emulator": emu.kind,
            "clips": measure_clips(emu, meters, args.jobs),
            "vision": measure_vision(emu, meters, args.frames),
            "chatbot": measure_chatbot(emu, meters),
        }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
