"""The local Eventarc and Cloud Scheduler stand-ins, over real processes and real sockets.

The relay listens on the emulator (whichever conftest started) and POSTs to either a real
functions-framework process running tests/fixtures_functions/echo_main.py or a stdlib HTTP
server that records what it got; the ticker calls a stdlib HTTP server.
"""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.http import from_http
from google.cloud import firestore

from local.functions_host import FunctionServer
from local.scheduler_ticker import ScheduledCall, SchedulerTicker, parse_call
from local.trigger_relay import TriggerRelay
from shared.events.firestore_document import WRITTEN_TYPE, decode_document_written

ROOT = Path(__file__).resolve().parent.parent
ECHO_SOURCE = ROOT / "tests" / "fixtures_functions" / "echo_main.py"


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- a recording HTTP server ------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    ended: float = 0.0


@dataclass
class Recorder:
    """A stdlib HTTP server; `answer(request) -> (status, delay_seconds)` decides each reply."""

    answer: Callable[[Received], tuple[int, float]] = lambda _: (204, 0.0)
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    self.rfile.read(length),
                    time.monotonic(),
                )
                with recorder.lock:
                    recorder.in_flight += 1
                    recorder.max_in_flight = max(recorder.max_in_flight, recorder.in_flight)
                status, delay = recorder.answer(received)
                time.sleep(delay)
                received.ended = time.monotonic()
                with recorder.lock:
                    recorder.in_flight -= 1
                    recorder.requests.append(received)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Callable[..., Recorder]]:
    made: list[Recorder] = []

    def make(answer: Callable[[Received], tuple[int, float]] | None = None) -> Recorder:
        made.append(Recorder(answer) if answer else Recorder())
        return made[-1]

    yield make
    for server in made:
        server.close()


# --- a real functions-framework process ---------------------------------------------------------


@dataclass
class EchoFunction:
    url: str
    events_file: Path

    def events(self) -> list[dict]:
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_text().splitlines()]


@pytest.fixture
def echo_function(tmp_path: Path) -> Iterator[EchoFunction]:
    events_file = tmp_path / "events.jsonl"
    server = FunctionServer(
        "record_event",
        env={"ECHO_EVENTS_FILE": str(events_file)},
        source=ECHO_SOURCE,
        signature_type="cloudevent",
    )
    with server:
        yield EchoFunction(server.url, events_file)


# --- relay → functions-framework, end to end ------------------------------------------------------


def test_writes_reach_the_function_as_ordered_written_events(
    db: firestore.Client, echo_function: EchoFunction
) -> None:
    jobs = db.collection("clip_jobs")
    with TriggerRelay(db, echo_function.url, backoff_seconds=0.05) as relay:
        first = jobs.document("job-1")
        first.set({"status": "queued", "attempts": 0, "source_ts": firestore.SERVER_TIMESTAMP})
        jobs.document("job-2").set({"status": "queued", "attempts": 0})
        first.update({"status": "creating", "attempts": 1})
        first.update({"status": "polling", "twitch_clip_id": "Clip1"})
        jobs.document("job-2").update({"status": "failed", "error_code": "clip_forbidden"})
        first.update({"status": "ready", "clip_url": "https://clips.twitch.tv/Clip1"})
        first.delete()
        db.collection("elsewhere").document("x").set({"ignored": True})
        assert wait_for(lambda: relay.delivered >= 7), relay.delivered
        assert wait_for(lambda: len(echo_function.events()) >= 7)
        time.sleep(0.2)
        assert (relay.delivered, relay.failed) == (7, 0)

    events = echo_function.events()
    assert len(events) == 7
    assert {e["collection"] for e in events} == {"clip_jobs"}
    assert {e["content_type"] for e in events} == {"application/protobuf"}
    assert len({e["event_id"] for e in events}) == 7

    job1 = [e for e in events if e["id"] == "job-1"]
    assert [e["kind"] for e in job1] == ["create", "update", "update", "update", "delete"]
    assert [e["after"] and e["after"]["status"] for e in job1] == [
        "queued",
        "creating",
        "polling",
        "ready",
        None,
    ]
    assert job1[0]["before"] is None
    for previous, current in itertools.pairwise(job1):
        assert current["before"] == previous["after"]
    assert job1[-1]["before"]["clip_url"] == "https://clips.twitch.tv/Clip1"
    assert job1[1]["changed_fields"] == ["attempts", "status"]
    assert job1[0]["after"]["source_ts"].endswith("+00:00")
    assert job1[0]["path"] == "clip_jobs/job-1"

    job2 = [e for e in events if e["id"] == "job-2"]
    assert [e["kind"] for e in job2] == ["create", "update"]
    assert job2[1]["before"] == {"status": "queued", "attempts": 0}
    assert job2[1]["after"] == {
        "status": "failed",
        "attempts": 0,
        "error_code": "clip_forbidden",
    }


# --- relay → recorder: existing documents, headers, retries ---------------------------------


def decoded(received: list[Received]) -> list:
    return [decode_document_written(from_http(r.headers, r.body)) for r in received]


def test_existing_documents_are_creates_unless_skipped(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    jobs = db.collection("clip_jobs")
    jobs.document("old").set({"status": "ready"})

    replaying = recorder()
    with TriggerRelay(db, replaying.url) as relay:
        assert wait_for(lambda: relay.delivered == 1)
    (event,) = decoded(replaying.snapshot())
    assert (event.document_id, event.kind, event.after) == ("old", "create", {"status": "ready"})

    skipping = recorder()
    with TriggerRelay(db, skipping.url, skip_existing=True) as relay:
        jobs.document("old").update({"status": "failed"})
        assert wait_for(lambda: relay.delivered == 1)
    (event,) = decoded(skipping.snapshot())
    assert event.kind == "update"
    assert (event.before, event.after) == ({"status": "ready"}, {"status": "failed"})


def test_events_have_eventarc_binary_mode_headers(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    server = recorder()
    with TriggerRelay(db, server.url, project="byte-clips-local") as relay:
        ref = db.collection("clip_jobs").document("h1")
        ref.set({"status": "queued"})
        ref.delete()
        assert wait_for(lambda: relay.delivered == 2)
    created, deleted = server.snapshot()
    snapshot_time = None
    for received, kind in ((created, "create"), (deleted, "delete")):
        headers = {k.lower(): v for k, v in received.headers.items()}
        assert received.method == "POST"
        assert headers["content-type"] == "application/protobuf"
        assert headers["ce-specversion"] == "1.0"
        assert headers["ce-type"] == WRITTEN_TYPE
        assert headers["ce-source"] == (
            "//firestore.googleapis.com/projects/byte-clips-local/databases/(default)"
        )
        assert headers["ce-subject"] == "documents/clip_jobs/h1"
        assert headers["ce-document"] == "clip_jobs/h1"
        assert headers["ce-database"] == "(default)"
        assert headers["ce-project"] == "byte-clips-local"
        assert headers["ce-dataschema"].endswith("/firestore/v1/data.proto")
        assert headers["ce-time"].endswith("Z")
        event = decode_document_written(from_http(received.headers, received.body))
        assert event.kind == kind
        assert event.time is not None
        if snapshot_time is not None:
            assert event.time >= snapshot_time
        snapshot_time = event.time


def test_failed_posts_are_retried_with_the_same_event_and_order_is_kept(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    seen_ids: set[str] = set()

    def flaky(received: Received) -> tuple[int, float]:
        event = decode_document_written(from_http(received.headers, received.body))
        if event.document_id == "broken":
            return 500, 0.0
        if event.document_id == "rejected":
            return 400, 0.0
        event_id = received.headers["ce-id"]
        if event_id not in seen_ids:
            seen_ids.add(event_id)
            return 503, 0.0
        return 204, 0.0

    server = recorder(flaky)
    with TriggerRelay(db, server.url, max_attempts=3, backoff_seconds=0.02, lanes=1) as relay:
        jobs = db.collection("clip_jobs")
        jobs.document("a").set({"n": 1})
        jobs.document("broken").set({"n": 1})
        jobs.document("rejected").set({"n": 1})
        jobs.document("a").update({"n": 2})
        assert wait_for(lambda: relay.delivered + relay.failed == 4)
        assert relay.wait_idle(5)
        assert (relay.delivered, relay.failed, relay.pending) == (2, 2, 0)

    received = server.snapshot()
    by_doc: dict[str, list[tuple[str, dict | None]]] = {}
    for r in received:
        event = decode_document_written(r.body)
        by_doc.setdefault(event.document_id, []).append((r.headers["ce-id"], event.after))
    # a: 503 then 204 for each of its two writes, in order; broken: 500 three times (same
    # event); rejected: one 400 (final).
    a = by_doc["a"]
    assert [after for _, after in a] == [{"n": 1}, {"n": 1}, {"n": 2}, {"n": 2}]
    assert a[0][0] == a[1][0] != a[2][0] == a[3][0]
    assert len(by_doc["broken"]) == 3 and len({ce_id for ce_id, _ in by_doc["broken"]}) == 1
    assert len(by_doc["rejected"]) == 1


def test_each_failed_try_is_a_warning_and_giving_up_an_error(
    db: firestore.Client, recorder: Callable[..., Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    server = recorder(lambda _: (503, 0.0))
    caplog.set_level(logging.INFO, logger="local.trigger_relay")
    with TriggerRelay(db, server.url, max_attempts=3, backoff_seconds=0.01) as relay:
        db.collection("clip_jobs").document("down").set({"n": 1})
        assert wait_for(lambda: relay.failed == 1)
    tries = [r for r in caplog.records if "trigger delivery failed" in r.getMessage()]
    assert [(r.levelname, getattr(r, "attempt", None)) for r in tries] == [
        ("WARNING", 1),
        ("WARNING", 2),
        ("ERROR", 3),
    ]
    assert len({r.headers["ce-id"] for r in server.snapshot()}) == 1


def test_stop_does_not_sit_out_a_retry_backoff(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    server = recorder(lambda _: (503, 0.0))
    relay = TriggerRelay(db, server.url, max_attempts=5, backoff_seconds=30.0).start()
    try:
        db.collection("clip_jobs").document("down").set({"n": 1})
        assert wait_for(lambda: len(server.snapshot()) == 2)
    finally:
        started = time.monotonic()
        relay.stop(timeout=0.1)
    assert time.monotonic() - started < 1.5
    assert (relay.delivered, relay.failed, len(server.snapshot())) == (0, 1, 2)


def test_an_unreachable_target_is_counted_not_fatal(db: firestore.Client) -> None:
    target = f"http://127.0.0.1:{free_port()}/"
    with TriggerRelay(db, target, max_attempts=2, backoff_seconds=0.01) as relay:
        db.collection("clip_jobs").document("x").set({"n": 1})
        assert wait_for(lambda: relay.failed == 1)
        assert relay.listening
    assert relay.delivered == 0
    assert not relay.listening


def test_stop_is_bounded_and_counts_what_it_abandoned(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    server = recorder(lambda _: (204, 0.6))
    relay = TriggerRelay(db, server.url, lanes=1).start()
    try:
        for name in ("one", "two", "three"):
            db.collection("clip_jobs").document(name).set({"n": 1})
        assert wait_for(lambda: relay.pending == 3 and server.in_flight == 1)
    finally:
        started = time.monotonic()
        relay.stop(timeout=0.1)
    assert time.monotonic() - started < 1.5
    assert (relay.delivered, relay.failed, relay.abandoned) == (1, 0, 2)
    assert not relay.listening


def test_a_slow_document_does_not_hold_up_others_and_each_keeps_its_order(
    db: firestore.Client, recorder: Callable[..., Recorder]
) -> None:
    def slow_for_one(received: Received) -> tuple[int, float]:
        event = decode_document_written(from_http(received.headers, received.body))
        return 204, (3.0 if event.document_id == "slow" else 0.0)

    server = recorder(slow_for_one)
    with TriggerRelay(db, server.url, lanes=8) as relay:
        jobs = db.collection("clip_jobs")
        jobs.document("slow").set({"n": 1})
        assert wait_for(lambda: server.in_flight == 1)
        for n in range(1, 4):
            jobs.document("fast").set({"n": n})
        assert wait_for(lambda: fast_seen(server)[-1:] == [3], 2.5)
        assert server.in_flight == 1
        jobs.document("slow").update({"n": 2})
        assert relay.wait_idle(10)
    events = [decode_document_written(r.body) for r in server.snapshot()]
    fast = [e.after["n"] for e in events if e.document_id == "fast"]
    assert fast == sorted(set(fast)) and fast[-1] == 3, fast
    assert [e.after["n"] for e in events if e.document_id == "slow"] == [1, 2]


def fast_seen(server: Recorder) -> list[int]:
    """A listener may merge writes that land between two snapshots (see the relay's docstring)."""
    events = [decode_document_written(r.body) for r in server.snapshot()]
    return [e.after["n"] for e in events if e.document_id == "fast"]


# --- scheduler ticker ---------------------------------------------------------------------------


def test_ticker_calls_like_cloud_scheduler_on_its_period(recorder: Callable[..., Recorder]) -> None:
    server = recorder()
    ticker = SchedulerTicker([ScheduledCall("sweep", server.url + "sweep", every_seconds=0.2)])
    with ticker:
        assert wait_for(lambda: len(server.snapshot()) >= 1, 1.0)
        time.sleep(0.9)
    calls = server.snapshot()
    assert 5 <= len(calls) <= 7, len(calls)
    assert ticker.calls == {"sweep": len(calls)}
    assert ticker.failures == {"sweep": 0}
    first = calls[0]
    assert (first.method, first.path, first.body) == ("POST", "/sweep", b"{}")
    assert first.headers["User-Agent"] == "Google-Cloud-Scheduler"
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["X-CloudScheduler-JobName"] == "sweep"
    gaps = [b.started - a.started for a, b in itertools.pairwise(calls)]
    assert all(0.1 < gap < 0.4 for gap in gaps), gaps


def test_a_slow_job_never_overlaps_itself_nor_delays_others(
    recorder: Callable[..., Recorder],
) -> None:
    slow_server = recorder(lambda _: (200, 0.45))
    fast_server = recorder(lambda _: (500, 0.0))
    ticker = SchedulerTicker(
        [
            ScheduledCall("slow", slow_server.url, every_seconds=0.1),
            ScheduledCall("fast", fast_server.url, every_seconds=0.1, initial_delay=0.3),
        ]
    )
    started = time.monotonic()
    with ticker:
        time.sleep(1.2)
    slow, fast = slow_server.snapshot(), fast_server.snapshot()
    assert slow_server.max_in_flight == 1
    for a, b in itertools.pairwise(slow):
        assert b.started >= a.ended - 0.01
    assert 2 <= len(slow) <= 3, len(slow)
    assert ticker.skipped["slow"] >= 4
    assert fast[0].started - started >= 0.28
    assert len(fast) >= 6
    assert ticker.failures["fast"] == ticker.calls["fast"] == len(fast)
    assert ticker.calls["slow"] == len(slow)


def test_call_specs_parse_and_bad_ones_are_refused() -> None:
    call = parse_call("sweep=http://user@127.0.0.1:8081/path@60")
    assert (call.name, call.url, call.every_seconds) == (
        "sweep",
        "http://user@127.0.0.1:8081/path",
        60,
    )
    for bad in ("sweep", "sweep=http://x", "=http://x@5", "sweep=http://x@soon", "s=http://x@0"):
        with pytest.raises(ValueError):
            parse_call(bad)
    with pytest.raises(ValueError, match="unique"):
        SchedulerTicker([parse_call("a=http://x@1"), parse_call("a=http://y@1")])
