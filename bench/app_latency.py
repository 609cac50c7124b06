"""Benchmark: how soon the operator sees a change, and what an open Queue page costs in reads.

    .venv/bin/python bench/app_latency.py [--levels 1,20,100] [--samples 20] [--job-samples 10]
                                          [--idle-seconds 60] [--json out.json]

Starts what the local stack (`bash local/run`) starts for the app: the Firestore emulator, the
Helix simulator with its demo channel connected (so live cards ask it what approving now would
make), and `streamlit run streamlit_app/app.py`, then drives the app in headless Chromium
(selenium, as tests/browser/ does). It measures:

- candidate written -> its title on the Queue page, p50/p95/max, with 1, 20 and 100 pending
  (each probe is rejected again, so every sample sees the same queue length);
- a job's status change (polling -> ready with its clip link) -> visible on the Jobs page;
- Firestore reads per minute with one open Queue page and an idle queue (empty, and 20
  pending), and with one open Jobs page: `deploy/meter` is loaded into the app's process
  and counts what its client reads, as Firestore bills it.

Appearance is timed in the page itself: a MutationObserver notes when the text first shows
up, against the same wall clock as the write. Targets (issue 20): Queue p95 <= 1 s at 20
pending, <= 1.5 s at 100; Jobs <= 2 s; idle reads no higher than before. A measurement, not
a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.cloud import firestore  # noqa: E402

from local.firestore_emulator import FirestoreEmulator  # noqa: E402
from local.helix_simulator import HelixSimulator  # noqa: E402
from shared.domain.twitch_models import TokenGrant  # noqa: E402
from shared.domain.twitch_scopes import CONNECT_SCOPES  # noqa: E402
from shared.pipeline.approve import approve  # noqa: E402
from shared.store.action_queue import ActionQueue  # noqa: E402
from shared.store.clip_jobs import ClipJobStore  # noqa: E402
from shared.store.firestore_client import LOCAL_PROJECT, make_client  # noqa: E402
from shared.store.twitch_tokens import TwitchTokenStore  # noqa: E402
from tests.browser.streamlit_browser import (  # noqa: E402
    appeared_after,
    browser_missing,
    chromium,
    login,
    open_page,
    streamlit_server,
    wait_for_text,
    watch_for,
)

METER_DIR = Path(__file__).resolve().parent.parent / "deploy" / "meter"
PASSWORD = "bench-password"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: p95 of 20 samples is the 19th."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else math.nan,
        "samples": [round(value, 3) for value in values],
    }


def candidate(broadcaster_id: str, title: str, age: float = 3.0) -> dict[str, Any]:
    moment = datetime.now(UTC) - timedelta(seconds=age)
    return {
        "broadcaster_id": broadcaster_id,
        "mode": "live",
        "suggested_duration": 30.0,
        "suggested_title": title,
        "source": "chat_spike",
        "source_ts": moment.isoformat(),
        "context_excerpt": "POG POG what a play",
        "score": 0.8,
    }


def wait(check: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def card_gone(driver: Any, action_id: str) -> bool:
    """The candidate's card left the page (its title may stay in a list of decisions)."""
    return not driver.execute_script(
        "return document.getElementsByClassName('st-key-card_' + arguments[0]).length", action_id
    )


def reads(meter: Path) -> int:
    try:
        return int(json.loads(meter.read_text()).get("reads", 0))
    except (OSError, ValueError):
        return 0


def reads_per_minute(meter: Path, seconds: float, settle: float = 10.0) -> float:
    time.sleep(settle)
    time.sleep(1.0)  # let what the page is still reading land in the meter's file
    before = reads(meter)
    time.sleep(seconds)
    time.sleep(1.0)
    return (reads(meter) - before) * 60.0 / seconds


def fill_queue(queue: ActionQueue, broadcaster_id: str, pending: int, have: int) -> int:
    for n in range(have, pending):
        queue.submit(candidate(broadcaster_id, f"Filler moment {n}", age=5.0 + n))
    return max(pending, have)


def queue_latency(
    driver: Any, queue: ActionQueue, broadcaster_id: str, samples: int, pending: int
) -> list[float]:
    """Each probe makes `pending` items; it is rejected again before the next."""
    latencies = []
    for n in range(samples):
        title = f"Probe {pending}-{n} {secrets.token_hex(3)}"
        watch_for(driver, title)
        time.sleep(random.uniform(0.0, 0.5))
        started = time.time()
        action_id = queue.submit(candidate(broadcaster_id, title)).action_id
        latencies.append(appeared_after(driver, title, started))
        queue.reject(action_id, by="bench")
        wait(partial(card_gone, driver, action_id), 15, f"{title} to leave the page")
    return latencies


def make_polling_jobs(db: firestore.Client, broadcaster_id: str, count: int) -> list[str]:
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    ids = []
    for n in range(count):
        moment = candidate(broadcaster_id, f"Job moment {n}", age=400 + n)
        action_id = queue.submit(moment).action_id
        job = approve(queue, jobs, action_id, by="bench")
        db.collection("clip_jobs").document(job.job_id).update(
            {"status": "polling", "updated_at": datetime.now(UTC)}
        )
        ids.append(job.job_id)
    return ids


def jobs_latency(driver: Any, db: firestore.Client, job_ids: list[str]) -> list[float]:
    latencies = []
    for n, job_id in enumerate(job_ids):
        probe = f"BenchProbe{n}x{secrets.token_hex(3)}"
        watch_for(driver, probe)
        time.sleep(random.uniform(0.5, 1.0))
        now = datetime.now(UTC)
        started = time.time()
        db.collection("clip_jobs").document(job_id).update(
            {
                "status": "ready",
                "twitch_clip_id": probe,
                "clip_url": f"https://clips.twitch.tv/{probe}",
                "ready_at": now,
                "updated_at": now,
            }
        )
        latencies.append(appeared_after(driver, probe, started))
    return latencies


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"root": str(ROOT), "started": datetime.now(UTC).isoformat()}
    work = Path(tempfile.mkdtemp(prefix="app-latency-"))
    meter = work / "reads.json"
    with FirestoreEmulator(project=LOCAL_PROJECT) as emulator, HelixSimulator(port=0) as sim:
        demo = sim.seed_demo()
        channel = demo["broadcaster_id"]
        env = {
            "FIRESTORE_EMULATOR_HOST": emulator.host,
            "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
            "DASHBOARD_PASSWORD": PASSWORD,
            "TWITCH_CLIENT_ID": demo["client_id"],
            "TWITCH_CLIENT_SECRET": demo["client_secret"],
            "TWITCH_API_BASE": sim.api_base,
            "TWITCH_AUTH_BASE": sim.auth_base,
            "TWITCH_BROADCASTER_ID": channel,
        }
        os.environ.update(env)
        db = make_client(LOCAL_PROJECT)
        grant = TokenGrant(
            access_token=demo["user_access_token"],
            refresh_token=demo["user_refresh_token"],
            expires_in=4 * 3600,
            scopes=CONNECT_SCOPES,
        )
        TwitchTokenStore(db).save_grant(
            grant, user_id=channel, login=demo["login"], client_id=demo["client_id"]
        )
        app_env = env | {
            "PYTHONPATH": str(METER_DIR),
            "BYTECLIPS_COST_METER": str(meter),
        }
        queue = ActionQueue(db)
        with streamlit_server(app_env, work / "streamlit.log") as base, chromium() as driver:
            login(driver, base, "Bench", PASSWORD)
            wait_for_text(driver, "Nothing is waiting for approval", timeout=60)
            idle = {"queue_empty": reads_per_minute(meter, args.idle_seconds)}
            print(f"idle Queue page, empty queue: {idle['queue_empty']:.0f} reads/min", flush=True)
            have = 0
            for level in args.levels:
                have = fill_queue(queue, channel, level - 1, have)
                # Measure the steady state: the page has caught up with the fill first.
                if level > 1:
                    wait_for_text(driver, f"Filler moment {level - 2}", 120)
                time.sleep(3.0)
                found = queue_latency(driver, queue, channel, args.samples, level)
                results[f"queue_{level}"] = summary(found)
                print(f"queue, {level} pending: {fmt(results[f'queue_{level}'])}", flush=True)
                if level == 20:
                    idle["queue_20_pending"] = reads_per_minute(meter, args.idle_seconds)
                    print(
                        f"idle Queue page, 20 pending: {idle['queue_20_pending']:.0f} reads/min",
                        flush=True,
                    )
            job_ids = make_polling_jobs(db, channel, args.job_samples)
            open_page(driver, "Jobs")
            wait_for_text(driver, job_ids[-1], timeout=30)
            time.sleep(3.0)
            results["jobs"] = summary(jobs_latency(driver, db, job_ids))
            print(f"jobs, status change: {fmt(results['jobs'])}", flush=True)
            idle["jobs_page"] = reads_per_minute(meter, args.idle_seconds)
            print(f"idle Jobs page: {idle['jobs_page']:.0f} reads/min", flush=True)
            results["idle_reads_per_minute"] = idle
    results["meter"] = json.loads(meter.read_text()) if meter.exists() else {}
    return results


def fmt(stats: dict[str, Any]) -> str:
    return (
        f"p50 {stats['p50']:.2f} s, p95 {stats['p95']:.2f} s, max {stats['max']:.2f} s "
        f"over {stats['n']:.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/app_latency.py", description=__doc__)
    parser.add_argument(
        "--levels",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1, 20, 100],
        help="queue lengths to measure at (default 1,20,100)",
    )
    parser.add_argument("--samples", type=int, default=20, help="probes per level (default 20)")
    parser.add_argument("--job-samples", type=int, default=10, help="job changes (default 10)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="default 60")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"cannot run: {missing}")
        return 0
    random.seed(7)
    results = run(args)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
