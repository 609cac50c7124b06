"""A real loopback HTTP server in front of ``HelixState``, so clients use their normal HTTP code."""

from __future__ import annotations

import sys
import time
from http.server import ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from local.helix_simulator.chat import ChatSimulator
from local.helix_simulator.eventsub import EventSubServer
from local.helix_simulator.state import ALL_CLIP_SCOPES, Clock, HelixState, Request
from local.lifecycle import JsonHandler, Lifecycle, ServedInThread

DEMO_CLIENT_ID = "byteclips-local"
DEMO_CLIENT_SECRET = "local-secret"
DEMO_BROADCASTER_ID = "12345"
DEMO_LOGIN = "bytestreamer"
DEMO_STREAM_ID = "40000000001"
DEMO_VOD_ID = "900001"
DEMO_VOD_SECONDS = 2 * 3600
DEMO_USER_ACCESS_TOKEN = "byteclipslocaluseraccesstoken0"
DEMO_USER_REFRESH_TOKEN = "byteclipslocaluserrefreshtoken"
DEMO_APP_ACCESS_TOKEN = "byteclipslocalappaccesstoken00"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: HelixState) -> None:
        super().__init__(address, _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout after a slow fault) is expected, not an error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(JsonHandler):
    """Translates HTTP to ``HelixState`` calls; applies slow and dropped-connection faults."""

    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        split = urlsplit(self.path)
        body = self.read_body()
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        state = self.server.state
        fault = state.take_fault(request.method, request.path)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        response = state.handle(request, fault)
        if response is None:
            self.close_connection = True
            return
        self.send_json(response.status, response.body, response.headers)


class HelixSimulator(HelixState, Lifecycle):
    """Twitch Helix + OAuth simulator on a loopback port; see docs/architecture.md §6.1.

    It is the `HelixState` itself (set up and inspected directly), plus the HTTP lifecycle.
    """

    def __init__(
        self,
        port: int = 0,
        bucket_size: int = 800,
        downloads_per_minute: int = 100,
        *,
        host: str = "127.0.0.1",
        clock: Clock = time.time,
    ) -> None:
        super().__init__(
            bucket_size=bucket_size, downloads_per_minute=downloads_per_minute, clock=clock
        )
        self._http = ServedInThread("HelixSimulator", (host, port), lambda at: _Server(at, self))
        # Known once started (port 0 picks a free port): what TWITCH_API_BASE and
        # TWITCH_AUTH_BASE should be set to.
        self.api_base = self.auth_base = ""
        # EventSub over WebSocket (its own ports) and the chat routes the chat bot uses.
        self.eventsub = EventSubServer(host=host, clock=clock)
        self.chat = ChatSimulator(self, self.eventsub, clock=clock)
        self.chat.install()
        self.eventsub_url = ""  # TWITCH_EVENTSUB_WS_URL, once started

    def start(self) -> Self:
        """Bind and serve in a daemon thread; returns self for chaining."""
        if self._http.running:
            return self
        self._http.start("helix-simulator")
        base = f"http://{self._http.host}:{self.port}"
        self.api_base, self.auth_base = f"{base}/helix", f"{base}/oauth2"
        self.eventsub_url = self.eventsub.start().url
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if not self._http.running:
            return
        self.eventsub.stop()
        self._http.stop()

    @property
    def port(self) -> int:
        """The bound port (known only once started, since port 0 picks a free one)."""
        return self._http.port

    def seed_demo(self) -> dict[str, str]:
        """Seed the local demo channel used by ``python -m local.helix_simulator --seed-demo``."""
        self.add_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        access, refresh = self.add_user(
            DEMO_BROADCASTER_ID,
            DEMO_LOGIN,
            client_id=DEMO_CLIENT_ID,
            scopes=ALL_CLIP_SCOPES,
            access_token=DEMO_USER_ACCESS_TOKEN,
            refresh_token=DEMO_USER_REFRESH_TOKEN,
        )
        app_token = self.add_app_token(DEMO_CLIENT_ID, DEMO_APP_ACCESS_TOKEN)
        # Live for DEMO_VOD_SECONDS, its archive recording since the start (as on Twitch), so a
        # moment's offset in the demo VOD is its time since the broadcast began.
        stream_id, _ = self.start_broadcast(
            DEMO_BROADCASTER_ID,
            started_ago=DEMO_VOD_SECONDS,
            stream_id=DEMO_STREAM_ID,
            vod_id=DEMO_VOD_ID,
        )
        return {
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "broadcaster_id": DEMO_BROADCASTER_ID,
            "login": DEMO_LOGIN,
            "stream_id": stream_id,
            "vod_id": DEMO_VOD_ID,
            "user_access_token": access,
            "user_refresh_token": refresh,
            "app_access_token": app_token,
        }
