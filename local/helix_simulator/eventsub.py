"""EventSub over WebSocket as Twitch documents it, for the chat bot's twitchio to connect to.

Follows dev.twitch.tv/docs/eventsub/handling-websocket-events and websocket-reference:

- a client connects (optionally `?keepalive_timeout_seconds=10..600`, clamped) and gets
  `session_welcome` with its session id; it must create a subscription within that many
  seconds or the server closes the connection with 4003 ("connection unused");
- the server sends `session_keepalive` whenever it would otherwise stay silent for the keepalive
  timeout, and `notification` messages for the session's enabled subscriptions;
- `session_reconnect` carries a URL on another edge (a second listening port here: a new URL);
  the old connection keeps receiving events until the new one is welcomed, then the
  subscriptions move to the new session; the old connection is closed with 4004 when it is
  still open 30 s after the notice; a reconnect URL that is not pending closes with 4007;
- `revocation` names a subscription Twitch stopped, with its reason as the status;
- any text or binary frame from the client closes the connection with 4001 (pings are fine).

The server runs aiohttp on its own thread and event loop; everything else calls it from other
threads (the Helix routes, tests, the local stack) through `_call`, so all state lives on the
loop and needs no lock. It never calls back into `HelixState`: the Helix routes resolve users
and tokens first and pass plain values (no lock is held across both).

Test controls: `reconnect` (optionally delaying the new welcome to widen the hand-over),
`revoke`, `stall` (silence without closing, as a half-open connection), `refuse_handshakes`,
and what was delivered, to whom and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Self, TypeVar

from aiohttp import WSMsgType, web

from local.lifecycle import Lifecycle

T = TypeVar("T")
Edge = Literal["main", "reconnect"]

KEEPALIVE_DEFAULT = 10
KEEPALIVE_MIN, KEEPALIVE_MAX = 10, 600
KEEPALIVE_MARGIN = 1.0  # a keepalive goes out this long before the client's timeout
RECONNECT_GRACE_SECONDS = 30.0
MAX_SUBSCRIPTIONS_PER_SESSION = 300
CLOSE_INBOUND_TRAFFIC = (4001, "sent inbound traffic")
CLOSE_CONNECTION_UNUSED = (4003, "connection unused")
CLOSE_RECONNECT_GRACE_EXPIRED = (4004, "client reconnect grace time expired")
CLOSE_INVALID_RECONNECT = (4007, "invalid reconnect attempt")
REVOCATION_REASONS = frozenset({"authorization_revoked", "user_removed", "version_removed"})


def rfc3339(ts: float) -> str:
    """Twitch's EventSub timestamps: RFC 3339 in UTC with nanoseconds."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    nanos = round((ts - int(ts)) * 1e9) % 1_000_000_000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@dataclass
class Subscription:
    """One EventSub subscription with a websocket transport."""

    id: str
    type: str
    version: str
    condition: dict[str, str]
    session_id: str
    client_id: str
    user_id: str
    created_at: float
    status: str = "enabled"
    cost: int = 0

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "version": self.version,
            "condition": dict(self.condition),
            "transport": {"method": "websocket", "session_id": self.session_id},
            "created_at": rfc3339(self.created_at),
            "cost": self.cost,
        }


@dataclass(frozen=True)
class Handshake:
    """One connection attempt: where it came in, and whether it was refused."""

    at: float
    edge: Edge
    reconnect_id: str | None
    refused: bool


@dataclass(frozen=True)
class SessionInfo:
    """What a test may read about a session."""

    id: str
    edge: Edge
    status: str
    keepalive: int
    connected_at: float
    reconnect_of: str | None
    delivered: tuple[str, ...]
    delivered_after_notice: int
    closed_by: str | None
    close_code: int | None


@dataclass(eq=False)
class _Session:
    id: str
    ws: web.WebSocketResponse
    edge: Edge
    keepalive: int
    connected_at: float
    reconnect_of: str | None = None
    status: str = "connected"  # reconnecting, handed_over, closed
    last_sent: float = field(default_factory=time.monotonic)
    stalled: bool = False
    delivered: list[str] = field(default_factory=list)
    delivered_after_notice: int = 0
    closed_by: str | None = None
    close_code: int | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.status != "closed" and not self.ws.closed

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.id,
            self.edge,
            self.status,
            self.keepalive,
            self.connected_at,
            self.reconnect_of,
            tuple(self.delivered),
            self.delivered_after_notice,
            self.closed_by,
            self.close_code,
        )


class SubscriptionRefused(Exception):
    """A subscription request the transport cannot take: (HTTP status, Twitch's message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _keepalive_from(raw: str | None) -> int:
    """`keepalive_timeout_seconds`: numeric values are clamped to 10-600 as Twitch does."""
    if raw is None:
        return KEEPALIVE_DEFAULT
    try:
        value = int(float(raw))
    except ValueError:
        return KEEPALIVE_DEFAULT
    return max(KEEPALIVE_MIN, min(KEEPALIVE_MAX, value))


def _session_id() -> str:
    return "AgoQ" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")


class EventSubServer(Lifecycle):
    """Twitch's EventSub WebSocket server on two loopback ports (main edge, reconnect edge)."""

    def __init__(self, *, host: str = "127.0.0.1", clock: Any = time.time) -> None:
        self._host = host
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._sessions: dict[str, _Session] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._pending_reconnects: dict[str, tuple[str, float]] = {}
        self._refuse = 0
        self._handshakes: list[Handshake] = []
        self.port = 0
        self.edge_port = 0
        # Test knobs; the defaults are Twitch's documented behaviour.
        self.subscribe_within: float | None = None  # None: the welcome's keepalive timeout
        self.reconnect_grace = RECONNECT_GRACE_SECONDS

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """What `TWITCH_EVENTSUB_WS_URL` should be set to."""
        return f"ws://{self._host}:{self.port}/ws"

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._serve, name="eventsub-simulator", daemon=True)
        self._thread.start()
        if not self._started.wait(10) or self._start_error is not None:
            raise RuntimeError(f"the EventSub simulator did not start: {self._start_error!r}")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = None

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as error:  # reported by start()
            self._start_error = error
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _open(self) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        ports = []
        for _ in ("main", "reconnect"):
            site = web.TCPSite(self._runner, self._host, 0)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            ports.append(int(sockets[0].getsockname()[1]))
        self.port, self.edge_port = ports

    async def _shutdown(self) -> None:
        for session in list(self._sessions.values()):
            if session.open:
                await self._close(session, (1001, "server shutting down"))
        if self._runner is not None:
            await self._runner.cleanup()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `coro` on the server's loop from another thread and return its result."""
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the EventSub simulator is not started")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    # ------------------------------------------------------------------ connections

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        edge: Edge = "reconnect" if sockname and sockname[1] == self.edge_port else "main"
        reconnect_id = request.query.get("reconnect_id")
        pending: tuple[str, float] | None = None
        refused = self._refuse > 0
        self._handshakes.append(Handshake(time.monotonic(), edge, reconnect_id, refused))
        if refused:
            self._refuse -= 1
            return web.Response(status=503, text="service unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        predecessor: _Session | None = None
        if reconnect_id is not None:
            pending = self._pending_reconnects.pop(reconnect_id, None)
            predecessor = self._sessions.get(pending[0]) if pending else None
            if predecessor is None or not predecessor.open:
                code, reason = CLOSE_INVALID_RECONNECT
                await ws.close(code=code, message=reason.encode())
                return ws
        keepalive = (
            predecessor.keepalive
            if predecessor
            else _keepalive_from(request.query.get("keepalive_timeout_seconds"))
        )
        session = _Session(_session_id(), ws, edge, keepalive, self._clock())
        session.reconnect_of = predecessor.id if predecessor else None
        self._sessions[session.id] = session
        if predecessor is not None and pending is not None:
            if pending[1] > 0:
                await asyncio.sleep(pending[1])  # the new edge is slow to welcome
            self._hand_over(predecessor, session)
        else:
            session.tasks.append(asyncio.create_task(self._require_subscription(session)))
        await self._send(session, self._welcome(session))
        session.tasks.append(asyncio.create_task(self._keep_alive(session)))
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await self._close(session, CLOSE_INBOUND_TRAFFIC)
                    break
        finally:
            self._ended(session)
        return ws

    def _welcome(self, session: _Session) -> dict[str, Any]:
        return {
            "metadata": self._metadata("session_welcome"),
            "payload": {
                "session": {
                    "id": session.id,
                    "status": "connected",
                    "connected_at": rfc3339(session.connected_at),
                    "keepalive_timeout_seconds": session.keepalive,
                    "reconnect_url": None,
                    "recovery_url": None,
                }
            },
        }

    def _metadata(self, message_type: str, sub: Subscription | None = None) -> dict[str, Any]:
        metadata = {
            "message_id": str(uuid.uuid4()),
            "message_type": message_type,
            "message_timestamp": rfc3339(self._clock()),
        }
        if sub is not None:
            metadata |= {"subscription_type": sub.type, "subscription_version": sub.version}
        return metadata

    def _hand_over(self, old: _Session, new: _Session) -> None:
        """The new session is welcomed: from now on its events go there, not to the old one."""
        for sub in self._subscriptions.values():
            if sub.session_id == old.id and sub.status == "enabled":
                sub.session_id = new.id
        old.status = "handed_over"

    async def _require_subscription(self, session: _Session) -> None:
        await asyncio.sleep(self.subscribe_within or session.keepalive)
        if session.open and not any(
            s.session_id == session.id and s.status == "enabled"
            for s in self._subscriptions.values()
        ):
            await self._close(session, CLOSE_CONNECTION_UNUSED)

    async def _keep_alive(self, session: _Session) -> None:
        every = max(1.0, session.keepalive - KEEPALIVE_MARGIN)
        while session.open:
            wait = session.last_sent + every - time.monotonic()
            if wait > 0:
                await asyncio.sleep(min(wait, 0.5))
                continue
            if session.status == "connected" and not session.stalled:
                keepalive = {"metadata": self._metadata("session_keepalive"), "payload": {}}
                await self._send(session, keepalive)
            else:
                session.last_sent = time.monotonic()

    async def _send(self, session: _Session, message: Mapping[str, Any]) -> bool:
        if not session.open:
            return False
        try:
            await session.ws.send_str(json.dumps(message))
        except (ConnectionError, RuntimeError):
            return False
        session.last_sent = time.monotonic()
        return True

    async def _close(self, session: _Session, code_reason: tuple[int, str]) -> None:
        code, reason = code_reason
        if session.closed_by is None:
            session.closed_by, session.close_code = "server", code
        with contextlib.suppress(Exception):
            await session.ws.close(code=code, message=reason.encode())

    def _ended(self, session: _Session) -> None:
        """The connection is gone: its own subscriptions stop (Twitch disables them)."""
        if session.closed_by is None:
            session.closed_by, session.close_code = "client", session.ws.close_code
        session.status = "closed"
        for task in session.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        for sub in self._subscriptions.values():
            if sub.session_id == session.id and sub.status == "enabled":
                sub.status = "websocket_disconnected"

    # ------------------------------------------------------------------ subscriptions

    def create_subscription(
        self,
        *,
        client_id: str,
        user_id: str,
        type_: str,
        version: str,
        condition: Mapping[str, str],
        session_id: str,
    ) -> tuple[Subscription, int, float]:
        """Create an enabled subscription on a connected session; returns it, the session's
        subscription count and when the session connected. Raises SubscriptionRefused as
        Twitch answers."""
        wanted = dict(condition)

        async def create() -> tuple[Subscription, int, float]:
            session = self._sessions.get(session_id)
            if session is None or not session.open or session.status != "connected":
                raise SubscriptionRefused(
                    400, "websocket transport session does not exist or has already disconnected"
                )
            mine = [
                s
                for s in self._subscriptions.values()
                if s.session_id == session_id and s.status == "enabled"
            ]
            if any(s.user_id != user_id or s.client_id != client_id for s in mine):
                raise SubscriptionRefused(
                    400, "a websocket session's subscriptions must all use the same user token"
                )
            if any(
                s.type == type_ and s.version == version and s.condition == wanted for s in mine
            ):
                raise SubscriptionRefused(
                    409,
                    "A subscription already exists for the specified event type and condition "
                    "combination",
                )
            now = self._clock()
            if len(mine) >= MAX_SUBSCRIPTIONS_PER_SESSION:
                raise SubscriptionRefused(429, "The websocket session has too many subscriptions")
            sub = Subscription(
                str(uuid.uuid4()),
                type_,
                version,
                wanted,
                session_id,
                client_id,
                user_id,
                now,
            )
            self._subscriptions[sub.id] = sub
            return replace(sub, condition=dict(wanted)), len(mine) + 1, session.connected_at

        return self._call(create())

    def delete_subscription(self, subscription_id: str, *, client_id: str, user_id: str) -> bool:
        """Delete Twitch-side: no more notifications for it. False when not found."""
        return self._call(self._delete(subscription_id, client_id, user_id))

    async def _delete(self, subscription_id: str, client_id: str, user_id: str) -> bool:
        sub = self._subscriptions.get(subscription_id)
        if sub is None or sub.client_id != client_id or sub.user_id != user_id:
            return False
        del self._subscriptions[subscription_id]
        return True

    def subscriptions(self) -> list[Subscription]:
        """Every subscription ever made here, with its current status (copies)."""
        return self._call(self._list_subscriptions())

    async def _list_subscriptions(self) -> list[Subscription]:
        return [replace(s, condition=dict(s.condition)) for s in self._subscriptions.values()]

    # ------------------------------------------------------------------ notifications

    def notify(self, type_: str, event: Mapping[str, Any], match: Mapping[str, str]) -> int:
        """Send `event` to every enabled subscription of `type_` whose condition contains
        `match`; returns how many sessions it was written to."""
        return self._call(self._notify(type_, dict(event), dict(match)))

    async def _notify(self, type_: str, event: dict[str, Any], match: dict[str, str]) -> int:
        delivered = 0
        for sub in list(self._subscriptions.values()):
            if sub.type != type_ or sub.status != "enabled":
                continue
            if any(sub.condition.get(key) != value for key, value in match.items()):
                continue
            session = self._sessions.get(sub.session_id)
            if session is None or not session.open or session.stalled:
                continue
            message = {
                "metadata": self._metadata("notification", sub),
                "payload": {"subscription": sub.json(), "event": event},
            }
            if await self._send(session, message):
                delivered += 1
                session.delivered.append(str(event.get("message_id", "")))
                if session.status == "reconnecting":
                    session.delivered_after_notice += 1
        return delivered

    # ------------------------------------------------------------------ test controls

    def reconnect(self, session_id: str | None = None, *, welcome_delay: float = 0.0) -> list[str]:
        """Send `session_reconnect` to one (or every connected) session; returns the URLs.

        `welcome_delay`: the reconnect edge waits this long before its welcome, so events keep
        going to the old connection meanwhile (as Twitch's docs say they do)."""
        return self._call(self._reconnect(session_id, welcome_delay))

    async def _reconnect(self, session_id: str | None, welcome_delay: float) -> list[str]:
        urls = []
        for session in self._targets(session_id):
            reconnect_id = secrets.token_urlsafe(12)
            self._pending_reconnects[reconnect_id] = (session.id, welcome_delay)
            url = f"ws://{self._host}:{self.edge_port}/ws?reconnect_id={reconnect_id}"
            session.status = "reconnecting"
            message = {
                "metadata": self._metadata("session_reconnect"),
                "payload": {
                    "session": {
                        "id": session.id,
                        "status": "reconnecting",
                        "keepalive_timeout_seconds": None,
                        "reconnect_url": url,
                        "connected_at": rfc3339(session.connected_at),
                        "recovery_url": None,
                    }
                },
            }
            await self._send(session, message)
            session.tasks.append(asyncio.create_task(self._expire_grace(session)))
            urls.append(url)
        return urls

    async def _expire_grace(self, session: _Session) -> None:
        await asyncio.sleep(self.reconnect_grace)
        if session.open:
            await self._close(session, CLOSE_RECONNECT_GRACE_EXPIRED)

    def revoke(
        self, subscription_id: str | None = None, *, status: str = "authorization_revoked"
    ) -> list[str]:
        """Revoke one (or every enabled) subscription with a `revocation` message."""
        if status not in REVOCATION_REASONS:
            raise ValueError(f"status must be one of {sorted(REVOCATION_REASONS)}")
        return self._call(self._revoke(subscription_id, status))

    async def _revoke(self, subscription_id: str | None, status: str) -> list[str]:
        revoked = []
        for sub in list(self._subscriptions.values()):
            if sub.status != "enabled" or subscription_id not in (None, sub.id):
                continue
            sub.status = status
            session = self._sessions.get(sub.session_id)
            if session is not None:
                message = {
                    "metadata": self._metadata("revocation", sub),
                    "payload": {"subscription": sub.json()},
                }
                await self._send(session, message)
            revoked.append(sub.id)
        return revoked

    def stall(self, session_id: str | None = None) -> list[str]:
        """Go silent on one (or every connected) session without closing it: no keepalives,
        no notifications, as a half-open connection looks to the client."""
        return self._call(self._stall(session_id))

    async def _stall(self, session_id: str | None) -> list[str]:
        stalled = []
        for session in self._targets(session_id):
            session.stalled = True
            stalled.append(session.id)
        return stalled

    def refuse_handshakes(self, count: int) -> None:
        """Answer the next `count` connection attempts with HTTP 503 instead of upgrading."""
        self._call(self._set_refuse(count))

    async def _set_refuse(self, count: int) -> None:
        self._refuse = count

    def handshakes(self) -> list[Handshake]:
        return self._call(self._copy(self._handshakes))

    def sessions(self) -> list[SessionInfo]:
        return self._call(self._session_infos())

    async def _session_infos(self) -> list[SessionInfo]:
        return [session.info() for session in self._sessions.values()]

    @staticmethod
    async def _copy(items: Iterable[T]) -> list[T]:
        return list(items)

    def _targets(self, session_id: str | None) -> list[_Session]:
        return [
            s
            for s in self._sessions.values()
            if s.open and s.status == "connected" and session_id in (None, s.id)
        ]
