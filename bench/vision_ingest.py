"""Benchmark: frames per second one `vision_ingest` instance accepts with the FAKE classifier,
and the overhead per frame beyond the model call.

    .venv/bin/python bench/vision_ingest.py [--seconds 20] [--clients 8] [--model-ms 0]

One functions-framework process on the Firestore emulator, the FAKE classifier answering
after `--model-ms`, `--clients` senders posting labelled PNG frames back to back for
`--seconds`, each frame for a different channel (so the per-channel rate limit never bites;
the hourly cap is set out of the way). Every answer carries `Server-Timing` (`model` and
`total`), so the overhead beyond the model call is measured inside the function: checks,
the two limit slots, the config read, the scene and the counters. A measurement, not a
test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import percentile
from local.firestore_emulator import FirestoreEmulator
from local.vision_demo import post_frame, running_vision, vision_env
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import LOCAL_PROJECT, make_client
from shared.vision_model.fake import labelled_png

TOKEN = "bench-vision-token-0123456789"


def server_timing(header: str) -> dict[str, float]:
    timings = {}
    for part in header.split(","):
        name, _, rest = part.strip().partition(";")
        if rest.startswith("dur="):
            timings[name] = float(rest.removeprefix("dur="))
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model-ms", type=float, default=0.0, help="FAKE model latency")
    parser.add_argument("--warmup", type=int, default=20, help="frames not counted")
    args = parser.parse_args()
    frame = labelled_png(
        {"game": "Bench", "scene": "gameplay", "event": "none", "confidence": 0.9},
        width=1280,
        height=720,
    )

    with FirestoreEmulator(project=LOCAL_PROJECT) as emulator:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        db = make_client(LOCAL_PROJECT)
        ControlPlaneStore(db).write(
            {"vision": {"frames_per_minute": 120, "max_model_calls_per_hour": 100_000}},
            by="bench",
        )
        env = vision_env(
            emulator.host,
            TOKEN,
            THREADS=str(max(8, args.clients * 2)),
            BYTECLIPS_FAKE_CLASSIFIER_SECONDS=str(args.model_ms / 1000),
        )
        with running_vision(env) as server:
            channels = itertools.count(900_000)
            lock = threading.Lock()
            statuses: Counter[int] = Counter()
            overheads: list[float] = []
            models: list[float] = []
            round_trips: list[float] = []

            def one(session: requests.Session) -> None:
                with lock:
                    bid = str(next(channels))
                started = time.perf_counter()
                answer = post_frame(server.url, TOKEN, bid, frame, session=session)
                elapsed = (time.perf_counter() - started) * 1000
                timing = server_timing(answer.headers.get("Server-Timing", ""))
                with lock:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 200:
                        round_trips.append(elapsed)
                        models.append(timing.get("model", 0.0))
                        overheads.append(timing["total"] - timing.get("model", 0.0))

            warm = requests.Session()
            for _ in range(args.warmup):
                one(warm)
            statuses.clear()
            overheads.clear()
            models.clear()
            round_trips.clear()
            deadline = time.monotonic() + args.seconds

            def client() -> None:
                session = requests.Session()
                while time.monotonic() < deadline:
                    one(session)

            threads = [threading.Thread(target=client) for _ in range(args.clients)]
            began = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            took = time.monotonic() - began

    accepted = statuses[200]
    print(f"Byte Clips vision_ingest benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"one functions-framework instance, FAKE classifier at {args.model_ms:g} ms, "
        f"{args.clients} clients for {took:.1f} s, frame {len(frame)} bytes (PNG 1280x720), "
        f"emulator {emulator.kind}, {os.cpu_count()} CPUs shared with the emulator"
    )
    print(f"answers: {dict(statuses)}")
    print(f"accepted frames per second: {accepted / took:.1f}")
    if overheads:
        print(
            f"overhead per frame beyond the model call (in the function): p50 "
            f"{percentile(overheads, 50):.1f} ms, p95 {percentile(overheads, 95):.1f} ms, "
            f"max {max(overheads):.1f} ms"
        )
        print(
            f"model call (FAKE): p50 {percentile(models, 50):.1f} ms; client round trip: p50 "
            f"{percentile(round_trips, 50):.1f} ms, p95 {percentile(round_trips, 95):.1f} ms"
        )
    print(
        "Firestore per accepted frame: 2 reads (limit counters) + 4 writes (2 slot batches, "
        "scene context, hour counters); +1 write when a candidate is queued"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
