"""A real loopback HTTP server in front of ``HelixState``, so clients use their normal HTTP code."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.helix_simulator.state import (
    ALL_CLIP_SCOPES,
    DEFAULT_GAME_ID,
    USER_TOKEN_TTL,
    Call,
    Clock,
    HelixState,
    Request,
)

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


class _Handler(BaseHTTPRequestHandler):
    """Translates HTTP to ``HelixState`` calls; applies slow and dropped-connection faults."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # pooled clients otherwise wait ~40 ms per call
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
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
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
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines may carry codes or tokens, which must never reach a log."""


class HelixSimulator:
    """Twitch Helix + OAuth simulator on a loopback port; see SPEC.md section 5."""

    def __init__(
        self,
        port: int = 0,
        bucket_size: int = 800,
        downloads_per_minute: int = 100,
        *,
        host: str = "127.0.0.1",
        clock: Clock = time.time,
    ) -> None:
        self.state = HelixState(
            bucket_size=bucket_size, downloads_per_minute=downloads_per_minute, clock=clock
        )
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------- lifecycle

    def start(self) -> HelixSimulator:
        """Bind and serve in a daemon thread; returns self for chaining."""
        if self._server is not None:
            return self
        self._server = _Server(self._address, self.state)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="helix-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

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

    def __enter__(self) -> HelixSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (known only once started, since port 0 picks a free one)."""
        if self._server is None:
            raise RuntimeError("HelixSimulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._address[0]}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``TWITCH_API_BASE`` should be set to."""
        return f"{self.base_url}/helix"

    @property
    def auth_base(self) -> str:
        """What ``TWITCH_AUTH_BASE`` should be set to."""
        return f"{self.base_url}/oauth2"

    # -------------------------------------------------------------- configuration

    def add_app(self, client_id: str, client_secret: str) -> None:
        self.state.add_app(client_id, client_secret)

    def add_user(
        self,
        user_id: str,
        login: str,
        *,
        client_id: str,
        scopes: Iterable[str],
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_in: int = USER_TOKEN_TTL,
    ) -> tuple[str, str]:
        return self.state.add_user(
            user_id,
            login,
            client_id=client_id,
            scopes=scopes,
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=expires_in,
        )

    def add_app_token(self, client_id: str, access_token: str | None = None) -> str:
        return self.state.add_app_token(client_id, access_token)

    def set_live(
        self, broadcaster_id: str, live: bool, *, stream_id: str | None = None
    ) -> str | None:
        return self.state.set_live(broadcaster_id, live, stream_id=stream_id)

    def add_vod(
        self,
        vod_id: str,
        broadcaster_id: str,
        *,
        duration_seconds: int,
        stream_id: str | None = None,
    ) -> None:
        self.state.add_vod(
            vod_id, broadcaster_id, duration_seconds=duration_seconds, stream_id=stream_id
        )

    def configure_channel(
        self,
        broadcaster_id: str,
        *,
        clips_disabled: bool = False,
        category_clippable: bool = True,
        automod_words: Iterable[str] = (),
        banned_user_ids: Iterable[str] = (),
        editor_user_ids: Iterable[str] = (),
        game_id: str = DEFAULT_GAME_ID,
    ) -> None:
        self.state.configure_channel(
            broadcaster_id,
            clips_disabled=clips_disabled,
            category_clippable=category_clippable,
            automod_words=automod_words,
            banned_user_ids=banned_user_ids,
            editor_user_ids=editor_user_ids,
            game_id=game_id,
        )

    @property
    def clip_visible_after(self) -> float | None:
        """Seconds before a new clip shows in Get Clips; None means it never does."""
        return self.state.clip_visible_after

    @clip_visible_after.setter
    def clip_visible_after(self, value: float | None) -> None:
        self.state.clip_visible_after = value

    @property
    def download_urls_null_for(self) -> float:
        """Seconds after creation during which Get Clips Download returns null URLs."""
        return self.state.download_urls_null_for

    @download_urls_null_for.setter
    def download_urls_null_for(self, value: float) -> None:
        self.state.download_urls_null_for = value

    def next_clip_visible_after(self, values: float | Iterable[float | None] | None) -> None:
        self.state.next_clip_visible_after(values)

    def inject_fault(
        self,
        path: str,
        kind: str,
        *,
        status: int = 503,
        delay: float = 0.0,
        times: int = 1,
        reset_after: float | None = None,
    ) -> None:
        self.state.inject_fault(
            path, kind, status=status, delay=delay, times=times, reset_after=reset_after
        )

    def expire_token(self, access_token: str) -> None:
        self.state.expire_token(access_token)

    def authorize_as(self, user_id: str) -> None:
        self.state.authorize_as(user_id)

    @property
    def authorize_url_codes(self) -> list[str]:
        return self.state.authorize_url_codes

    @property
    def calls(self) -> list[Call]:
        return self.state.calls

    def count(self, method: str, path: str) -> int:
        return self.state.count(method, path)

    def clip_timeline(self, clip_id: str) -> tuple[float, float | None] | None:
        return self.state.clip_timeline(clip_id)

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
        stream_id = self.set_live(DEMO_BROADCASTER_ID, True, stream_id=DEMO_STREAM_ID) or ""
        self.add_vod(
            DEMO_VOD_ID, DEMO_BROADCASTER_ID, duration_seconds=DEMO_VOD_SECONDS, stream_id=stream_id
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
