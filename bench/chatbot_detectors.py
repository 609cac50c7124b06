"""Benchmark: chat detectors on one core, and the bot's reply latency under clipping load.

    .venv/bin/python bench/chatbot_detectors.py [--messages 300000] [--seconds 8] [--seed 7]

Prints (1) detector throughput in messages per second through the whole pure pipeline
(`ChatBrain`: moment detector + `!clip` + one moment one candidate), the moment detector
alone and the per-message reading (reaction tokens, clip calls, decoy keys) alone, on one core,
target >= 50,000 msg/s; (2) per-message latency p50/p99/max; (3) the chat reply latency of
`!clip` (message in -> reply handed to Twitch's send call) through the real `ChatRuntime`,
sink and outbox, with and without 20 clip jobs running at the same time in the process
(simulated: blocking Helix calls, JSON work, Firestore writes, then the clip-ready
announcement posting to chat). The reply path must not change. Twitch and Firestore are
simulated in-process; a measurement, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.brain import ChatBrain
from chatbot.chat_line import ChatLine
from chatbot.control import LiveConfig, StaticConfig
from chatbot.detectors.moments import MomentDetector
from chatbot.detectors.reactions import read_message
from chatbot.outbox import ChatOutbox
from chatbot.runtime import ChatRuntime
from chatbot.sink import CandidateSink
from shared.domain.chat_settings import DEFAULTS
from shared.store.action_queue import ActionStatus, EnqueueResult, MergeResult

CHANNEL = "12345"
T0 = 1_795_550_400.0
CASUAL = [
    "hi chat",
    "gg",
    "what game is this",
    "lol",
    "nice",
    "o7",
    "true",
    "how long today",
    "that was close",
    "LUL",
    "first time here",
    "hydrate",
    "based",
    "nice shot",
    "rip",
]
HYPE = ["POG", "NO WAY", "CLIP IT", "PogChamp", "HOLY", "KEKW", "OMEGALUL", "insane", "WHAT"]


def synthetic_chat(count: int, seed: int) -> list[ChatLine]:
    """A busy channel: 150 msg/s from 20k viewers, a burst every 2 min, a spammer, !clip."""
    rng = random.Random(seed)
    lines: list[ChatLine] = []
    at = 0.0
    while len(lines) < count:
        at += rng.expovariate(150.0)
        phase = at % 120.0
        if 60.0 <= phase < 68.0 and rng.random() < 0.6:
            text, user = rng.choice(HYPE), 100_000 + rng.randrange(20_000)
        elif rng.random() < 0.02:
            text, user = "KEKW KEKW KEKW CLIP IT", 99
        elif rng.random() < 0.001:
            text, user = "!clip what a play", 100_000 + rng.randrange(20_000)
        else:
            text, user = rng.choice(CASUAL), 100_000 + rng.randrange(20_000)
        roles = frozenset({"subscriber"}) if user % 3 == 0 else frozenset()
        lines.append(ChatLine(T0 + at, CHANNEL, str(user), f"u{user}", text, roles))
    return lines


def throughput(lines: list[ChatLine]) -> None:
    settings = DEFAULTS
    brain = ChatBrain()
    started = time.perf_counter()
    found = 0
    for line in lines:
        found += len(brain.observe(line, settings, pipeline_enabled=True).detections)
    whole = len(lines) / (time.perf_counter() - started)
    detector = MomentDetector()
    recent = [lines[0]]
    started = time.perf_counter()
    for line in lines:
        detector.observe(line, settings, recent)
    moment_rate = len(lines) / (time.perf_counter() - started)
    keywords, known = settings.keywords, frozenset[str]()
    started = time.perf_counter()
    for line in lines:
        read_message(line.text, line.fragments, keywords, known, line.broadcaster_id)
    reading_rate = len(lines) / (time.perf_counter() - started)
    brain = ChatBrain()
    samples = []
    clock = time.perf_counter_ns
    for line in lines:
        before = clock()
        brain.observe(line, settings, pipeline_enabled=True)
        samples.append(clock() - before)
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"messages: {len(lines):,} ({(lines[-1].ts - lines[0].ts) / 60:.0f} min of busy chat)")
    print(f"  candidates found: {found}")
    print(f"  pipeline (all detectors): {whole:,.0f} msg/s  (target >= 50,000)")
    print(f"  moment detector alone:    {moment_rate:,.0f} msg/s")
    print(f"  message reading alone:    {reading_rate:,.0f} msg/s")
    print(f"  per message: p50 {p50:.1f} us, p99 {p99:.1f} us, max {samples[-1] / 1000:.0f} us")


class SlowQueue:
    """Firestore stand-in: every enqueue blocks its worker thread 20-80 ms."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def merge_request(self, action_id, *, requested_by, score, title=None):
        time.sleep(self.rng.uniform(0.02, 0.08))
        return MergeResult(action_id, merged=True, status=ActionStatus.PENDING)

    def submit(self, fields, *, dedupe_window_seconds=30):
        time.sleep(self.rng.uniform(0.02, 0.08))
        self.count += 1
        return EnqueueResult(f"cc_{self.count}", duplicate=False)


def clip_job(slot: int, post, stop: threading.Event, rng: random.Random) -> None:
    """Keeps one clip job in flight: Helix create (blocking), polling with JSON work until the
    clip is visible (2-8 s), Firestore writes, then the ready announcement (claim write, chat
    post as a non-urgent message); then the next job starts."""
    body = json.dumps({"data": [{"id": f"c{slot}", "url": "https://clips.twitch.tv/" + "x" * 60}]})
    number = 0
    while not stop.is_set():
        number += 1
        time.sleep(rng.uniform(0.2, 0.6))  # POST /helix/clips -> 202
        visible_after = rng.uniform(2.0, 8.0)
        waited = 0.0
        while waited < visible_after and not stop.is_set():  # GET /helix/clips?id= every 1 s
            json.loads(body)
            time.sleep(1.0)
            waited += 1.0
        time.sleep(rng.uniform(0.02, 0.06))  # job -> ready (Firestore transaction)
        time.sleep(rng.uniform(0.02, 0.06))  # announcement claim (commit_led_by_create)
        post(f"Clip ready: job {slot}-{number} · https://clips.twitch.tv/c{slot}")


async def reply_latency(seconds: float, jobs: int, seed: int) -> tuple[list[float], int, int]:
    rng = random.Random(seed)
    settings = DEFAULTS.model_copy(
        update={"clip_user_cooldown_seconds": 0.0, "clip_global_cooldown_seconds": 0.0}
    )
    config = StaticConfig(LiveConfig(chat=settings))
    asked: dict[str, float] = {}
    latencies: list[float] = []

    async def send(text: str) -> None:
        started = asked.pop(text.split(" ", 1)[0].lstrip("@"), None)
        if started is not None:
            latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.03)  # Send Chat Message round trip, off the handler

    outbox = ChatOutbox(send)
    outbox.set_privileged(True)
    outbox.start()
    sink = CandidateSink(SlowQueue(rng), config, workers=4)
    runtime = ChatRuntime(config, sink, outbox)
    stop = threading.Event()

    def announce(text: str) -> None:
        outbox.post(text, urgent=False)

    workers = [
        threading.Thread(target=clip_job, args=(i, announce, stop, random.Random(seed + i)))
        for i in range(jobs)
    ]
    for worker in workers:
        worker.start()
    start = time.perf_counter()
    sent_at = 0.0
    n = 0
    while time.perf_counter() - start < seconds:
        now = time.perf_counter()
        ts = T0 + (now - start)
        for _ in range(6):  # ~300 msg/s of background chat
            user = 100_000 + rng.randrange(5_000)
            runtime.handle(ChatLine(ts, CHANNEL, str(user), f"u{user}", rng.choice(CASUAL)))
        if now - sent_at >= 0.3:
            sent_at, n = now, n + 1
            name = f"mod{n}"
            asked[name] = time.perf_counter()
            runtime.handle(
                ChatLine(ts, CHANNEL, f"m{n}", name, "!clip bench", frozenset({"moderator"}))
            )
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.sleep(0.3)
    await outbox.stop()
    sink.close(5)
    for worker in workers:
        worker.join()
    announced = outbox.sent - len(latencies)
    return latencies, announced, outbox.dropped


def describe(label: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[int(len(ms) * 0.95)] if ms else float("nan")
    return (
        f"  {label:<28} n={len(ms):3d}  p50 {statistics.median(ms):6.2f} ms  "
        f"p95 {p95:6.2f} ms  max {ms[-1]:6.2f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print("== detector throughput (one core)")
    throughput(synthetic_chat(args.messages, args.seed))
    print("== !clip reply latency (message in -> send call), 300 msg/s of chat")
    logging.getLogger("chatbot").setLevel(logging.ERROR)
    quiet, _, _ = asyncio.run(reply_latency(args.seconds, 0, args.seed))
    busy, announced, dropped = asyncio.run(reply_latency(args.seconds, 20, args.seed))
    print(describe("no clip jobs", quiet))
    print(describe("20 clip jobs running", busy))
    print(f"  with 20 jobs: {announced} clip-ready announcements sent, {dropped} dropped")
    delta = statistics.median(busy) - statistics.median(quiet)
    print(f"  median change with 20 jobs: {delta * 1000:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
