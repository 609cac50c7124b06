"""What every local stand-in shares: `with` for start/stop, and running in the foreground.

The simulator, the relay, the ticker and the hosted processes all start, stop, and (run as
`python -m ...`) print one JSON line for scripts, then serve until SIGTERM or SIGINT. The HTTP
stand-ins (Helix simulator, Discord stand-in) serve the same way, from a daemon thread.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, ClassVar, Self


class Lifecycle:
    """Context management for anything with `start()` (returning itself) and `stop()`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServedInThread:
    """An HTTP server on `address` (port 0: a free one), served from a daemon thread.

    `make` builds the bound server once `start()` is called; `owner` names the stand-in in
    the error for asking its port before it started.
    """

    def __init__(
        self,
        owner: str,
        address: tuple[str, int],
        make: Callable[[tuple[str, int]], ThreadingHTTPServer],
    ) -> None:
        self.owner = owner
        self.host = address[0]
        self._address = address
        self._make = make
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (known only once started, since port 0 picks a free one)."""
        if self._server is None:
            raise RuntimeError(f"{self.owner} is not started")
        return int(self._server.server_address[1])

    def start(self, thread_name: str) -> None:
        """Bind and serve; nothing happens when it already serves."""
        if self._server is not None:
            return
        self._server = self._make(self._address)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=thread_name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None


class LoopbackServer(ThreadingHTTPServer):
    """A stand-in HTTP server that the test or measurement starting it serves itself: bound
    to a free loopback port at once, each request in a daemon thread, reached at `url`."""

    daemon_threads = True
    url_path: ClassVar[str] = "/"

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{self.url_path}"


class JsonHandler(BaseHTTPRequestHandler):
    """Request bodies in, JSON answers out, over keep-alive HTTP/1.1, for the HTTP stand-ins.

    Request lines are never logged: they may carry codes or tokens (OAuth, webhook URLs).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # pooled clients otherwise wait ~40 ms per call

    def read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        """`body` as JSON (None: an empty body) with `headers`."""
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: see the class docstring."""


def serve_until_signal(
    announce: Mapping[str, Any], *, alive: Callable[[], bool] = lambda: True
) -> bool:
    """Print `announce` as one JSON line, then block until SIGTERM/SIGINT (True) or until
    `alive()` turns false (False)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(json.dumps(dict(announce)), flush=True)
    while not stop.wait(0.5):
        if not alive():
            return False
    return True
