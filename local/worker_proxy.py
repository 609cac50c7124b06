"""A loopback proxy between the trigger relay and the worker function, for the measurements
(`deploy/measure_costs.py`, `bench/clip_pipeline.py`): it forwards each `written` CloudEvent
and records how many invocations each clip job took and how long each one ran."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler

import requests

from local.lifecycle import LoopbackServer


class WorkerProxy(LoopbackServer):
    """Point the relay at `url`; `invocations` counts per job document, `durations` holds
    each invocation's seconds, in the order they ended."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.invocations: Counter[str] = Counter()
        self.durations: list[float] = []
        self.lock = threading.Lock()
        self.session = requests.Session()
        super().__init__(_ForwardHandler)


class _ForwardHandler(BaseHTTPRequestHandler):
    server: WorkerProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        document = self.headers.get("ce-subject", "").rsplit("/", 1)[-1]
        with self.server.lock:
            self.server.invocations[document] += 1
        started = time.monotonic()
        answer = self.server.session.post(
            self.server.target, data=body, headers=dict(self.headers), timeout=90
        )
        with self.server.lock:
            self.server.durations.append(time.monotonic() - started)
        self.send_response(answer.status_code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return
