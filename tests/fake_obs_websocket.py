"""A fake OBS Studio speaking obs-websocket v5 on loopback, for the OBS script's tests.

Enough of the protocol for `obs/frame_sender.py`: Hello (with the salted-challenge
authentication when a password is set), Identify/Identified, and the two requests the script
makes, GetCurrentProgramScene and GetSourceScreenshot (answered with a data URI).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Self

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from local.lifecycle import Lifecycle


def auth_response(password: str, salt: str, challenge: str) -> str:
    secret = base64.b64encode(hashlib.sha256((password + salt).encode()).digest())
    return base64.b64encode(hashlib.sha256(secret + challenge.encode()).digest()).decode()


@dataclass(kw_only=True, eq=False)
class FakeObs(Lifecycle):
    image: bytes
    mime: str = "image/png"
    password: str = ""
    port: int = 0
    scene: str = "Gameplay"
    requests: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list, init=False)
    identified: int = field(default=0, init=False)
    refused_auth: int = field(default=0, init=False)
    _server: Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        self.port = sock.getsockname()[1]
        self._server = serve(self._handle, sock=sock, close_timeout=0.2)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """OBS quits: the listener closes and every client is disconnected."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _handle(self, conn: ServerConnection) -> None:
        salt, challenge = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
        hello: dict[str, Any] = {"obsWebSocketVersion": "5.5.2", "rpcVersion": 1}
        if self.password:
            hello["authentication"] = {"challenge": challenge, "salt": salt}
        try:
            conn.send(json.dumps({"op": 0, "d": hello}))
            identify = json.loads(conn.recv())
            given = identify.get("d", {}).get("authentication")
            if identify.get("op") != 1 or (
                self.password and given != auth_response(self.password, salt, challenge)
            ):
                self.refused_auth += 1
                conn.close(4009, "Authentication failed.")
                return
            self.identified += 1
            conn.send(json.dumps({"op": 2, "d": {"negotiatedRpcVersion": 1}}))
            for message in conn:
                request = json.loads(message)
                if request.get("op") == 6:
                    conn.send(json.dumps({"op": 7, "d": self._answer(request["d"])}))
        except ConnectionClosed:
            return

    def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        kind = request["requestType"]
        data = request.get("requestData")
        self.requests.append((kind, data))
        reply: dict[str, Any] = {"requestType": kind, "requestId": request["requestId"]}
        if kind == "GetCurrentProgramScene":
            reply["responseData"] = {
                "currentProgramSceneName": self.scene,
                "sceneName": self.scene,
                "sceneUuid": "0b1d2c3e-0000-4000-8000-000000000001",
            }
        elif kind == "GetSourceScreenshot" and (data or {}).get("sourceName") == self.scene:
            encoded = base64.b64encode(self.image).decode()
            reply["responseData"] = {"imageData": f"data:{self.mime};base64,{encoded}"}
        else:
            reply["requestStatus"] = {"result": False, "code": 600, "comment": "No source"}
            return reply
        reply["requestStatus"] = {"result": True, "code": 100}
        return reply
