"""Local stand-in for Cloud Scheduler's HTTP targets: call each URL on its own period.

In production Cloud Scheduler calls `validate_tokens` every hour, `sweep_clip_jobs` every
minute and `tune_chat_detection` once a day (`deploy/scheduler_jobs.py`); the local stack
calls the tuning every TUNE_EVERY_SECONDS, so a demo stream that ended is tuned while the stack
runs (the function tunes each ended stream once). Locally this ticker calls them with the
request shape of an HTTP target job: POST, body `{}`, `Content-Type: application/json`,
`User-Agent: Google-Cloud-Scheduler`, plus the `X-CloudScheduler-JobName` /
`X-CloudScheduler-ScheduleTime` headers.

Each job has its own thread, so one job's slow call never delays another, and a job never
overlaps itself: a tick that comes due while the previous call is still running is skipped
(counted in `skipped`), and the next call happens on the next period boundary.

    python -m local.scheduler_ticker --call sweep=http://127.0.0.1:8081/@60 \\
        --call validate=http://127.0.0.1:8082/@3600 --call tune=http://127.0.0.1:8083/@900
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

import requests

from local.lifecycle import Lifecycle, serve_until_signal

logger = logging.getLogger("local.scheduler_ticker")

USER_AGENT = "Google-Cloud-Scheduler"
TUNE_EVERY_SECONDS = 900.0


@dataclass(frozen=True)
class ScheduledCall:
    """One Cloud Scheduler job: call `url` every `every_seconds`, first after `initial_delay`."""

    name: str
    url: str
    every_seconds: float
    initial_delay: float = 0.0
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a scheduled call needs a name")
        if not self.every_seconds > 0:
            raise ValueError(f"{self.name}: every_seconds must be positive")
        if self.initial_delay < 0:
            raise ValueError(f"{self.name}: initial_delay cannot be negative")


class SchedulerTicker(Lifecycle):
    """Run several ScheduledCalls until stopped; counts calls, failures and skipped ticks."""

    def __init__(self, calls: Iterable[ScheduledCall]) -> None:
        self.jobs = list(calls)
        names = [job.name for job in self.jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"scheduled call names must be unique, got {names}")
        self._lock = threading.Lock()
        self._calls = dict.fromkeys(names, 0)
        self._failures = dict.fromkeys(names, 0)
        self._skipped = dict.fromkeys(names, 0)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def calls(self) -> dict[str, int]:
        """Completed calls per job (successful or not)."""
        with self._lock:
            return dict(self._calls)

    @property
    def failures(self) -> dict[str, int]:
        """Calls that raised or answered a non-2xx status, per job."""
        with self._lock:
            return dict(self._failures)

    @property
    def skipped(self) -> dict[str, int]:
        """Ticks dropped because the job's previous call was still running."""
        with self._lock:
            return dict(self._skipped)

    def start(self) -> Self:
        if self._threads:
            raise RuntimeError("SchedulerTicker already started")
        self._stop.clear()
        for job in self.jobs:
            thread = threading.Thread(target=self._run, args=(job,), name=f"ticker-{job.name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling; a call in flight finishes (bounded by the job's timeout)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning(
                    "scheduler ticker job still running at stop", extra={"thread": thread.name}
                )
        self._threads = []

    def _run(self, job: ScheduledCall) -> None:
        origin = time.monotonic() + job.initial_delay
        due = origin
        with requests.Session() as session:
            while not self._stop.wait(max(0.0, due - time.monotonic())):
                self._call(session, job)
                # Next period boundary strictly after now: missed ticks are skipped, not burst.
                elapsed = time.monotonic() - origin
                next_index = math.floor(elapsed / job.every_seconds) + 1
                previous_index = round((due - origin) / job.every_seconds)
                missed = next_index - previous_index - 1
                if missed > 0:
                    with self._lock:
                        self._skipped[job.name] += missed
                    logger.warning(
                        "scheduled call overran its period; ticks skipped",
                        extra={"job": job.name, "skipped": missed},
                    )
                due = origin + next_index * job.every_seconds

    def _call(self, session: requests.Session, job: ScheduledCall) -> None:
        schedule_time = datetime.now(UTC)
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "X-CloudScheduler-JobName": job.name,
            "X-CloudScheduler-ScheduleTime": schedule_time.isoformat().replace("+00:00", "Z"),
        }
        started = time.monotonic()
        context: dict[str, object] = {"job": job.name, "url": job.url}
        ok = False
        try:
            response = session.post(
                job.url, headers=headers, data=b"{}", timeout=job.timeout_seconds
            )
            ok = 200 <= response.status_code < 300
            context["status"] = response.status_code
            if not ok:
                context["response"] = response.text[:200]
        except requests.RequestException as exc:
            context["error"] = f"{type(exc).__name__}: {exc}"
        context["duration_ms"] = round((time.monotonic() - started) * 1000)
        with self._lock:
            self._calls[job.name] += 1
            if not ok:
                self._failures[job.name] += 1
        if ok:
            logger.info("scheduled call succeeded", extra=context)
        else:
            logger.warning("scheduled call failed", extra=context)


def parse_call(spec: str, initial_delay: float = 0.0) -> ScheduledCall:
    """`name=URL@seconds` (the last `@` separates the period, so URLs may contain `@`)."""
    name, sep, rest = spec.partition("=")
    url, at, seconds = rest.rpartition("@")
    if not sep or not at or not name or not url:
        raise ValueError(f"--call {spec!r}: expected name=URL@seconds")
    try:
        every = float(seconds)
    except ValueError:
        raise ValueError(f"--call {spec!r}: {seconds!r} is not a number of seconds") from None
    return ScheduledCall(name=name, url=url, every_seconds=every, initial_delay=initial_delay)


def main(argv: list[str] | None = None) -> int:
    """Run in the foreground until SIGINT/SIGTERM."""
    from shared.logs import configure_logging

    parser = argparse.ArgumentParser(prog="python -m local.scheduler_ticker", description=__doc__)
    parser.add_argument(
        "--call",
        action="append",
        required=True,
        metavar="NAME=URL@SECONDS",
        help="a job; repeat for several",
    )
    parser.add_argument(
        "--initial-delay", type=float, default=0.0, help="seconds before the first call"
    )
    args = parser.parse_args(argv)
    try:
        jobs = [parse_call(spec, args.initial_delay) for spec in args.call]
        ticker = SchedulerTicker(jobs)
    except ValueError as exc:
        parser.error(str(exc))
    configure_logging()
    with ticker:
        serve_until_signal(
            {
                "ticker": [
                    {"name": j.name, "url": j.url, "every_seconds": j.every_seconds} for j in jobs
                ]
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
