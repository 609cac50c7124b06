"""Benchmark: approvals through the real local pipeline with faults drawn at random (issue 10).

    .venv/bin/python bench/clip_faults.py [--jobs 300] [--spacing 0.4] [--sweep-every 15]
        [--lease 60] [--minutes 12] [--seed 10] [--details jobs.jsonl]

The pipeline is the local one (Firestore emulator, Helix simulator, the three clip functions
as functions-framework processes, the trigger relay), with, drawn at random:

- on every Helix call (VOD creates included: a job planned again late may become one): 5xx
  answers, timeouts (an answer slower than the client's 10 s read timeout; Twitch still does
  what was asked) and 429 with a `Ratelimit-Reset` a few seconds ahead;
- the worker process killed at random points (`BYTECLIPS_BENCH_CRASH_POINTS`): before the
  create call, between Twitch's 202 and the save, after the save; every job in flight in that
  process dies with it, and the server starts a new process;
- duplicate deliveries (the same event twice at once) and late ones (again, 5-60 s later);
- visibility delays: most clips 1-6 s, `--slow-share` of them 6-60 s (past the 15 s verdict
  when over 15 s: late confirmation has to find them);
- a token refresh in the middle: every channel's access token expires halfway.

The sweeper runs every `--sweep-every` seconds (Cloud Scheduler's minute, sped up). Prints
jobs terminal and how long the slowest took, duplicate creates, clips made but not `ready`
(lost), failed jobs whose clip exists (false failures), Helix calls per clip and the approval
-> ready overhead beyond visibility. Targets: 100 % terminal within 12 minutes; 0 duplicates,
0 lost, 0 false failures; calls per clip p95 <= 3; overhead p95 <= 0.5 s. A measurement, not a
test: it prints and exits 0. Try `--jobs 40` first. It also prints, step by step, where the
time from approval to the saved 202 went (when the relay's listener heard of the job, its first
delivery, then the worker's stages from its log), and the overhead counted from that first
delivery, which leaves out the local relay's lag (its Firestore listener falls behind as the
collection grows: seconds at a few hundred jobs; Eventarc has no such term). `--details`
writes one JSON line per job (times, stages, claims, creates, every Get Clips look at it) and
the worker's log next to it, to find which jobs make a tail.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import clip_stack, percentile
from local.clip_harness import approve_moment, function_env, running_functions
from local.helix_simulator import HelixSimulator
from local.lifecycle import LoopbackServer
from local.trigger_relay import TriggerRelay
from shared.domain.clip_job import TERMINAL, ClipJob, JobStatus
from shared.pipeline.create import CRASH_ENV
from shared.store.clip_jobs import ClipJobStore

CHANNEL = "41001"
HELIX_PATHS = (
    "POST /helix/clips",
    "POST /helix/videos/clips",
    "GET /helix/clips",
    "GET /helix/streams",
    "GET /helix/videos",
    "GET /helix/clips/downloads",
)
# A job planned again after a long wait may become a VOD clip: its create counts too.
CREATE_PATHS = ("/helix/clips", "/helix/videos/clips")
TIMEOUT_DELAY = 11.0  # over the client's 10 s read timeout
CRASH_POINTS = "before_create=0.003,after_create=0.003,after_save=0.003"


class FaultyDelivery(LoopbackServer):
    """Between the relay and the worker: passes every event on, some of them twice at once
    (duplicates) and some again later (late deliveries), as Eventarc may."""

    def __init__(self, target: str, rng: random.Random, duplicate: float, late: float) -> None:
        self.target = target
        self.rng = rng
        self.duplicate = duplicate
        self.late = late
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.first_delivery: dict[str, float] = {}
        self.stopped = threading.Event()
        super().__init__(_DeliveryHandler)

    def forward(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            answer = requests.post(self.target, data=body, headers=headers, timeout=120)
        except requests.RequestException:
            return 502
        return answer.status_code

    def again_later(self, body: bytes, headers: dict[str, str], delay: float) -> None:
        def deliver() -> None:
            if not self.stopped.wait(delay):
                self.forward(body, headers)

        threading.Thread(target=deliver, daemon=True).start()


class _DeliveryHandler(BaseHTTPRequestHandler):
    server: FaultyDelivery

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = dict(self.headers)
        server = self.server
        document = self.headers.get("ce-subject", "").rsplit("/", 1)[-1]
        with server.lock:
            server.first_delivery.setdefault(document, time.time())
            twice = server.rng.random() < server.duplicate
            late = server.rng.random() < server.late
            delay = server.rng.uniform(5.0, 60.0)
            server.counts["events"] += 1
            server.counts["duplicate"] += twice
            server.counts["late"] += late
        if twice:
            threading.Thread(target=server.forward, args=(body, headers), daemon=True).start()
        if late:
            server.again_later(body, headers, delay)
        status = server.forward(body, headers)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def visibility_delays(rng: random.Random, count: int, slow_share: float) -> list[float]:
    return [
        round(rng.uniform(6.0, 60.0) if rng.random() < slow_share else rng.uniform(1.0, 6.0), 3)
        for _ in range(count)
    ]


def inject_helix_faults(sim: HelixSimulator, args: argparse.Namespace) -> None:
    for n, path in enumerate(HELIX_PATHS):
        seed = args.seed if n == 0 else None
        sim.random_fault(path, "status", args.p_5xx, status=503, seed=seed)
        sim.random_fault(path, "slow", args.p_timeout, delay=TIMEOUT_DELAY)
        sim.random_fault(path, "status", args.p_429, status=429, reset_after=3.0)


def sweep_every(url: str, seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        try:
            requests.post(url, json={}, timeout=120)
        except requests.RequestException:
            continue


def settled(job: ClipJob, now: datetime) -> bool:
    """Terminal, and no longer looked for (a `clip_create_timeout` is re-checked 10 min)."""
    checking = job.late_check_until is not None and job.late_check_until > now
    return job.status in TERMINAL and not checking


# The steps from approval to the create's saved answer, as the bench and the worker saw them.
STAGE_ORDER = (
    "approved",
    "heard",
    "delivered",
    "started",
    "read",
    "planned",
    "claimed",
    "marked",
    "answered",
    "saved",
)


def create_runs(worker_log: str) -> dict[str, dict[str, float]]:
    """Per job, the stage times of the worker run that got Create Clip's answer (the outcome
    line's `stages`); jobs whose create run died or never came are absent."""
    runs: dict[str, dict[str, float]] = {}
    for line in worker_log.splitlines():
        if '"stages"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        stages = entry.get("stages") or {}
        if "answered" in stages:
            runs[entry.get("job_id", "")] = stages
    return runs


def note_heard(relay: TriggerRelay) -> dict[str, float]:
    """When the relay's listener first heard of each job document (its snapshot enqueued the
    event): splits the listener's lag from the wait for a free delivery lane."""
    heard: dict[str, float] = {}
    enqueue = relay._enqueue

    def noting(change: Any) -> None:
        heard.setdefault(change.path.rsplit("/", 1)[-1], time.time())
        enqueue(change)

    relay._enqueue = noting  # type: ignore[method-assign]
    return heard


def stage_times(
    approved: dict[str, float],
    heard: dict[str, float],
    delivered: dict[str, float],
    runs: dict[str, dict[str, float]],
) -> dict[str, dict[str, float]]:
    """Per job, every stage time known: approval, the relay hearing of it and the first
    delivery (the bench's), then the worker's create run."""
    times = {}
    for job_id, at in approved.items():
        row = {"approved": at}
        if job_id in heard:
            row["heard"] = heard[job_id]
        if job_id in delivered:
            row["delivered"] = delivered[job_id]
        times[job_id] = row | runs.get(job_id, {})
    return times


def terminal_at(job: ClipJob) -> datetime:
    return job.ready_at if job.status is JobStatus.READY and job.ready_at else job.updated_at


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--spacing", type=float, default=0.4, help="seconds between approvals")
    parser.add_argument("--sweep-every", type=float, default=15.0, help="seconds (prod: 60)")
    parser.add_argument("--lease", type=float, default=60.0, help="worker lease, seconds")
    parser.add_argument("--minutes", type=float, default=12.0, help="give up waiting after")
    parser.add_argument("--slow-share", type=float, default=0.03, help="clips visible in 6-60 s")
    parser.add_argument("--p-5xx", type=float, default=0.01, help="per Helix call")
    parser.add_argument("--p-timeout", type=float, default=0.003, help="per Helix call")
    parser.add_argument("--p-429", type=float, default=0.005, help="per Helix call")
    parser.add_argument("--p-duplicate", type=float, default=0.05, help="per event")
    parser.add_argument("--p-late", type=float, default=0.05, help="per event")
    parser.add_argument("--crash-points", default=CRASH_POINTS)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--details", type=Path, help="write one JSON line per job here")
    args = parser.parse_args()
    # A killed worker makes the relay retry its deliveries: expected here, not news.
    logging.getLogger("local.trigger_relay").setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    delays = visibility_delays(rng, args.jobs, args.slow_share)

    with clip_stack(CHANNEL, delays) as stack:
        sim, db, access = stack.sim, stack.db, stack.access_token
        env = function_env(
            sim,
            stack.emulator.host,
            THREADS="64",
            BYTECLIPS_WORKER_LEASE_SECONDS=f"{args.lease:g}",
            **{CRASH_ENV: args.crash_points},
        )
        stop = threading.Event()
        with running_functions(env) as functions:
            delivery = FaultyDelivery(
                functions.worker.url, random.Random(args.seed + 1), args.p_duplicate, args.p_late
            )
            threading.Thread(target=delivery.serve_forever, daemon=True).start()
            threading.Thread(
                target=sweep_every,
                args=(functions.sweeper.url, args.sweep_every, stop),
                daemon=True,
            ).start()
            inject_helix_faults(sim, args)
            approved: dict[str, float] = {}
            started = time.time()
            relay = TriggerRelay(db, delivery.url, skip_existing=True, lanes=32)
            heard = note_heard(relay)
            with relay:
                for n in range(args.jobs):
                    if n == args.jobs // 2:
                        sim.expire_token(access)
                    at = time.time()
                    job = approve_moment(db, CHANNEL, suggested_title=f"fault bench {n}")
                    approved[job.job_id] = at
                    time.sleep(args.spacing)
                store = ClipJobStore(db)
                give_up = started + args.minutes * 60
                jobs: dict[str, ClipJob] = {}
                while time.time() < give_up:
                    jobs = {job_id: store.require(job_id) for job_id in approved}
                    if all(settled(job, datetime.now(UTC)) for job in jobs.values()):
                        break
                    time.sleep(5.0)
                waited = time.time() - started
            stop.set()
            delivery.stopped.set()
            delivery.shutdown()
            worker_log = functions.worker.log_tail(10**9)
            stages = stage_times(approved, heard, delivery.first_delivery, create_runs(worker_log))
            crashes = worker_log.count("bench crash point")
            if args.details:
                args.details.with_suffix(".worker.log").write_text(worker_log)
        made = sim.clips_made()
        calls = sim.calls
        served = sim.random_faults_served
    counts = delivery.counts | Counter(served)
    report(args, jobs, approved, made, calls, counts, crashes, waited, stages)
    return 0


def report(
    args: argparse.Namespace,
    jobs: dict[str, ClipJob],
    approved: dict[str, float],
    made: list[dict],
    calls: list,
    counts: Counter[str],
    crashes: int,
    waited: float,
    stages: dict[str, dict[str, float]],
) -> None:
    clips_by_title: defaultdict[str, list[dict]] = defaultdict(list)
    for clip in made:
        clips_by_title[clip["title"]].append(clip)
    terminal = [job for job in jobs.values() if job.status in TERMINAL]
    slowest = max(
        ((terminal_at(job).timestamp() - approved[job.job_id]) for job in terminal), default=0.0
    )
    duplicates = sum(max(0, len(clips) - 1) for clips in clips_by_title.values())
    ready_ids = {job.twitch_clip_id for job in jobs.values() if job.status is JobStatus.READY}
    lost = [clip for clip in made if clip["id"] not in ready_ids]
    false_failures = [
        job
        for job in jobs.values()
        if job.status is JobStatus.FAILED and clips_by_title.get(job.requested_title or "")
    ]
    ready = [job for job in jobs.values() if job.status is JobStatus.READY]
    creates: Counter[str] = Counter()
    shares: defaultdict[str, float] = defaultdict(float)
    helix = [c for c in calls if c.path.startswith("/helix/")]
    looks: defaultdict[str, list[tuple[float, int]]] = defaultdict(list)
    for call in helix:
        if (call.method, call.path) == ("GET", "/helix/clips") and call.query.get("id"):
            for clip_id in call.query["id"]:
                looks[clip_id].append((round(call.at, 2), len(call.query["id"])))
        if call.method == "POST" and call.path in CREATE_PATHS:
            creates[(call.query.get("title") or [""])[0]] += 1
        elif (call.method, call.path) == ("GET", "/helix/clips") and call.query.get("id"):
            for clip_id in call.query["id"]:
                shares[clip_id] += 1 / len(call.query["id"])
    per_clip = [
        creates[job.requested_title or ""] + shares[job.twitch_clip_id or ""] for job in ready
    ]
    visible_at = {clip["id"]: clip for clip in made}
    overheads, to_create, after_visible, from_delivery = [], [], [], []
    for job in ready:
        made_clip = visible_at.get(job.twitch_clip_id or "")
        if made_clip is None or made_clip["visible_at"] is None or job.ready_at is None:
            continue
        delay = made_clip["visible_at"] - made_clip["created_at"]
        overheads.append(job.ready_at.timestamp() - approved[job.job_id] - delay)
        delivered = stages.get(job.job_id, {}).get("delivered")
        if delivered is not None:
            from_delivery.append(job.ready_at.timestamp() - delivered - delay)
        to_create.append(made_clip["created_at"] - approved[job.job_id])
        after_visible.append(job.ready_at.timestamp() - made_clip["visible_at"])
    failed_codes = Counter(
        job.error_code.value if job.error_code else "?"
        for job in jobs.values()
        if job.status is JobStatus.FAILED
    )
    late = sum(1 for job in ready if job.late_confirmed_at is not None)
    n = len(jobs)

    print(f"Byte Clips fault benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"{n} jobs approved {args.spacing:g} s apart; sweeper every {args.sweep_every:g} s; "
        f"lease {args.lease:g} s; waited {waited / 60:.1f} min"
    )
    print(
        f"faults: of {len(helix)} Helix calls {counts['status 503']} answered 503, "
        f"{counts['status 429']} answered 429, {counts['slow']} timed out; "
        f"{crashes} worker processes killed; of {counts['events']} events "
        f"{counts['duplicate']} duplicated, {counts['late']} delivered again late; "
        f"{args.slow_share:.0%} of clips visible after 6-60 s; the access token expired halfway"
    )
    rows = [
        ("jobs terminal", f"{len(terminal)}/{n} ({len(terminal) / max(n, 1):.0%})", "100 %"),
        ("slowest approval -> terminal", f"{slowest / 60:.1f} min", "<= 12 min"),
        ("duplicate creates (extra clips)", str(duplicates), "0"),
        ("clips made but not ready (lost)", str(len(lost)), "0"),
        ("failed jobs whose clip exists", str(len(false_failures)), "0"),
        (
            "Helix calls per clip p50 / p95",
            f"{percentile(per_clip, 50):.2f} / {percentile(per_clip, 95):.2f}",
            "p95 <= 3",
        ),
        (
            "overhead beyond visibility p50 / p95",
            f"{percentile(overheads, 50):.2f} s / {percentile(overheads, 95):.2f} s",
            "p95 <= 0.5 s",
        ),
    ]
    width = max(len(name) for name, _, _ in rows)
    print(f"{'measure'.ljust(width)}  {'result':>18}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>18}  {target}")
    codes = ", ".join(f"{count} {code}" for code, count in failed_codes.most_common())
    print(
        f"outcomes: ready {len(ready)} ({late} confirmed late), failed "
        f"{sum(failed_codes.values())}{f' ({codes})' if codes else ''}; all Helix calls per "
        f"ready clip {len(helix) / max(len(ready), 1):.2f}"
    )
    print(
        f"  overhead parts: approval -> create p50 {percentile(to_create, 50):.2f} s, p95 "
        f"{percentile(to_create, 95):.2f} s; visible -> ready p50 "
        f"{percentile(after_visible, 50):.2f} s, p95 {percentile(after_visible, 95):.2f} s"
    )
    print(
        f"  overhead beyond visibility from the first delivery (the local relay's lag left out): "
        f"p50 {percentile(from_delivery, 50):.2f} s, p95 {percentile(from_delivery, 95):.2f} s"
    )
    print_stages(stages)
    if args.details:
        write_details(args.details, jobs, approved, visible_at, creates, shares, looks, stages)
    if lost:
        print("lost:", ", ".join(f"{c['title']} ({c['id']})" for c in lost[:10]))
    if false_failures:
        print("false failures:", ", ".join(job.job_id for job in false_failures[:10]))
    stuck = [job for job in jobs.values() if job.status not in TERMINAL]
    if stuck:
        print("not terminal:", ", ".join(f"{j.job_id} {j.status.value}" for j in stuck[:10]))


def print_stages(stages: dict[str, dict[str, float]]) -> None:
    """Approval -> saved 202, step by step, over the jobs whose create run is known (a step
    missing from a job, `heard` with the relay in its own process, joins its neighbours)."""
    spans: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for row in stages.values():
        present = [name for name in STAGE_ORDER if name in row]
        for start, end in pairwise(present):
            spans[(start, end)].append(row[end] - row[start])
    order = {name: n for n, name in enumerate(STAGE_ORDER)}
    parts = [
        f"{start}->{end} {percentile(values, 50):.2f}/{percentile(values, 95):.2f}"
        f"/{max(values):.2f}"
        for (start, end), values in sorted(spans.items(), key=lambda item: order[item[0][0]])
        if len(values) >= max(1, len(stages) // 20)
    ]
    print("  steps to the saved 202, p50/p95/max s: " + "; ".join(parts))


def write_details(
    path: Path,
    jobs: dict[str, ClipJob],
    approved: dict[str, float],
    made: dict[str, dict],
    creates: Counter[str],
    shares: dict[str, float],
    looks: dict[str, list[tuple[float, int]]],
    stages: dict[str, dict[str, float]],
) -> None:
    """Per job, what the table summarises: to find which jobs make a tail."""
    with path.open("w") as out:
        for job in jobs.values():
            clip = made.get(job.twitch_clip_id or "") or {}
            created, visible = clip.get("created_at"), clip.get("visible_at")
            ready = job.ready_at.timestamp() if job.ready_at else None
            overhead = None
            if ready is not None and created is not None and visible is not None:
                overhead = ready - approved[job.job_id] - (visible - created)
            row = {
                "job": job.job_id,
                "title": job.requested_title,
                "status": job.status.value,
                "code": job.error_code.value if job.error_code else None,
                "late": job.late_confirmed_at is not None,
                "lease_seq": job.lease_seq,
                "attempts": job.attempts,
                "approved": approved[job.job_id],
                "planned": job.planned_at.timestamp() if job.planned_at else None,
                "created": created,
                "visible": visible,
                "ready": ready,
                "overhead": overhead,
                "creates": creates[job.requested_title or ""],
                "shares": round(shares.get(job.twitch_clip_id or "", 0.0), 3),
                "looks": looks.get(job.twitch_clip_id or "", []),
                "stages": stages.get(job.job_id, {}),
            }
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
