"""The live chat bot, `python -m chatbot`, against the simulator's EventSub and Helix routes.

Every test starts the real process with `TWITCH_API_BASE`, `TWITCH_AUTH_BASE` and
`TWITCH_EVENTSUB_WS_URL` pointing at the simulator (twitchio included: that is the point),
the Firestore emulator underneath, and reads what happened from the simulator (sockets,
subscriptions, sent chat, token calls), Firestore (candidates, tokens), `/healthz` and the
process's JSON logs. Each fault Twitch can throw at a running bot is one test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests
from twitchio.authentication.tokens import ManagedHTTPClient
from twitchio.eventsub.websockets import Websocket
from twitchio.http import Route

from chatbot import twitch_endpoints
from chatbot.twitch_endpoints import TwitchEndpoints, TwitchioMoved, apply, in_force
from local.firestore_emulator import free_port
from local.helix_simulator import HelixSimulator
from local.helix_simulator.chat import CONTROL_CHAT_PATH
from local.helix_simulator.eventsub import EventSubServer
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CHAT_BOT, CONNECT_SCOPES, LIVE_CLIP
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import LOCAL_PROJECT
from shared.store.twitch_tokens import TwitchTokenStore
from tests.test_chatbot_live import chatbot_env, start_chatbot

ROOT = Path(__file__).resolve().parent.parent
BROADCASTER = "12345"
BOT = "777001"
MODERATOR = "4145994"
pytestmark = pytest.mark.timeout(60)


# ---------------------------------------------------------------------- the twitchio seam


@pytest.fixture
def twitchio_defaults() -> Iterator[TwitchEndpoints]:
    """twitchio keeps its endpoints process-wide: put back what a test changed."""
    before = in_force()
    yield before
    apply(before)


def test_twitchio_is_pinned_to_the_version_whose_endpoints_we_set():
    pins = re.findall(r"^twitchio==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pins == [twitch_endpoints.TWITCHIO_PIN] == [version("twitchio")]


def test_defaults_are_twitchs_and_twitchio_agrees(twitchio_defaults):
    endpoints, problems = twitch_endpoints.read_endpoints({})
    assert problems == []
    assert endpoints == TwitchEndpoints(
        "https://api.twitch.tv/helix",
        "https://id.twitch.tv/oauth2",
        "wss://eventsub.wss.twitch.tv/ws",
    )
    assert twitchio_defaults == endpoints  # what twitchio 3.3.2 ships with


def test_bad_endpoint_settings_are_each_named():
    _, problems = twitch_endpoints.read_endpoints(
        {
            "TWITCH_API_BASE": "api.twitch.tv/helix",
            "TWITCH_AUTH_BASE": "https://id.twitch.tv/auth",
            "TWITCH_EVENTSUB_WS_URL": "wss://eventsub.example/ws?keepalive_timeout_seconds=30",
        }
    )
    assert len(problems) == 3
    assert [p.split()[0] for p in problems] == [
        "TWITCH_API_BASE",
        "TWITCH_EVENTSUB_WS_URL",
        "TWITCH_AUTH_BASE",
    ]


def test_the_three_endpoints_reach_twitchio_and_a_real_socket(twitchio_defaults):
    """Fails loudly if a twitchio upgrade moves `Route.BASE`, `Route.ID_BASE` or `WSS`: the
    Helix and OAuth routes must be built on our bases, and a twitchio EventSub websocket must
    arrive at our server (a moved `WSS` would dial Twitch instead)."""
    server = EventSubServer().start()
    try:
        endpoints = TwitchEndpoints(
            "http://127.0.0.1:9/helix", "http://127.0.0.1:9/oauth2", server.url
        )
        apply(endpoints)
        assert in_force() == endpoints
        assert (
            Route("GET", "users", params={"id": "1"}).url == "http://127.0.0.1:9/helix/users?id=1"
        )
        assert Route("GET", "/oauth2/validate", use_id=True).url == (
            "http://127.0.0.1:9/oauth2/validate"
        )

        async def dial() -> str | None:
            http = ManagedHTTPClient(client_id="pin-check")
            socket = Websocket(http=http, token_for=BOT)
            try:
                await socket.connect(fail_once=True)
                return socket.session_id
            finally:
                await socket.close()
                await http.close()

        session_id = asyncio.run(asyncio.wait_for(dial(), 15))
        handshakes = server.handshakes()
        assert session_id and [s.id for s in server.sessions()] == [session_id]
        assert [h.edge for h in handshakes] == ["main"]
    finally:
        server.stop()


def test_a_moved_twitchio_attribute_stops_the_bot_with_the_fix(monkeypatch):
    from twitchio.eventsub import websockets

    monkeypatch.delattr(websockets, "WSS")
    with pytest.raises(TwitchioMoved, match=r"twitchio\.eventsub\.websockets\.WSS.*3\.3\.2"):
        apply(TwitchEndpoints())


# ---------------------------------------------------------------------- the live bot


@dataclass
class LiveChat:
    """One `python -m chatbot` process against one simulator."""

    sim: HelixSimulator
    db: Any
    demo: dict[str, str]
    bot_tokens: tuple[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    _log_file: Any = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chatbot"],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def health(self) -> dict[str, Any] | None:
        return health_at(self.port)

    def wait_health(self, until: Callable[[dict[str, Any]], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.logs_text()
            body = self.health()
            if body is not None and until(body):
                return body
            time.sleep(0.1)
        raise AssertionError(f"/healthz never matched in {timeout:.0f} s; last: {body}")

    def wait_connected(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.wait_health(lambda b: b["chat"] == "connected", timeout)

    def say(self, user_id: str, text: str, *, user: str, badges: Sequence[str] = ()) -> str:
        """Chat through the simulator's control endpoint, as the local stack types it."""
        base = self.sim.api_base.removesuffix("/helix")
        response = requests.post(
            base + CONTROL_CHAT_PATH,
            json={
                "broadcaster_id": BROADCASTER,
                "user_id": user_id,
                "user": user,
                "text": text,
                "badges": list(badges),
            },
            timeout=5,
        )
        response.raise_for_status()
        return response.json()["data"][0]["message_id"]

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.exit_code = self.process.wait(timeout)
        return self.exit_code

    def logs_text(self) -> str:
        return self.log.read_text(errors="replace")

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.logs_text().splitlines() if x.startswith("{")]

    def last(self, message: str) -> dict[str, Any]:
        return next(e for e in reversed(self.logs()) if e["message"] == message)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self._log_file is not None:
            self._log_file.close()
            print(f"--- the bot's log (tail) ---\n{self.logs_text()[-8000:]}")  # shown on failure


def health_at(port: int) -> dict[str, Any] | None:
    """`/healthz`'s body (200 or 503), or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as error:
        return json.loads(error.read())
    except OSError:
        return None


def bot_chat_sent(sim: HelixSimulator) -> list:
    return [m for m in sim.chat.sent if m.sender_id == BOT]


def token_refreshes(sim: HelixSimulator, user_id: str) -> int:
    return sum(
        1
        for call in sim.calls
        if call.path == "/oauth2/token" and call.user_id == user_id and call.status == 200
    )


@pytest.fixture
def live_chat(db, tmp_path) -> Iterator[Callable[..., LiveChat]]:
    """Start the bot: `channel_bot` says whether the broadcaster granted `channel:bot` (the
    bot then replies with the app token), `config` goes to the control plane first."""
    started: list[LiveChat] = []
    sims: list[HelixSimulator] = []

    def start(*, channel_bot: bool = True, config: dict[str, Any] | None = None) -> LiveChat:
        sim = HelixSimulator().start()
        sims.append(sim)
        demo = sim.seed_demo()
        client_id = demo["client_id"]
        scopes = CONNECT_SCOPES if channel_bot else (LIVE_CLIP,)
        access, refresh = sim.add_user(
            BROADCASTER, "bytestreamer", client_id=client_id, scopes=scopes
        )
        bot_access, bot_refresh = sim.chat.add_bot(client_id)
        store = TwitchTokenStore(db)
        store.save_grant(
            TokenGrant(access, refresh, 4 * 3600, scopes),
            user_id=BROADCASTER,
            login="bytestreamer",
            client_id=client_id,
        )
        store.save_grant(
            TokenGrant(bot_access, bot_refresh, 4 * 3600, CHAT_BOT),
            user_id=BOT,
            login="bytebot",
            client_id=client_id,
        )
        if config:
            ControlPlaneStore(db).write(config, by="test")
        chat = LiveChat(sim, db, demo, (bot_access, bot_refresh), free_port(), tmp_path / "bot.log")
        env = {k: v for k, v in os.environ.items() if k != "GEMINI_API_KEY"} | {
            "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
            "TWITCH_CLIENT_ID": client_id,
            "TWITCH_CLIENT_SECRET": demo["client_secret"],
            "TWITCH_BROADCASTER_ID": BROADCASTER,
            "TWITCH_BOT_USER_ID": BOT,
            "TWITCH_API_BASE": sim.api_base,
            "TWITCH_AUTH_BASE": sim.auth_base,
            "TWITCH_EVENTSUB_WS_URL": sim.eventsub_url,
            "PORT": str(chat.port),
            "LOG_LEVEL": "INFO",
        }
        chat.start(env)
        started.append(chat)
        return chat

    yield start
    for chat in started:
        chat.close()
    for sim in sims:
        sim.stop()


def queued(db) -> list[dict[str, Any]]:
    return [snap.to_dict() for snap in db.collection("action_queue").stream()]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def test_a_moderators_clip_becomes_one_candidate_and_one_reply(live_chat):
    chat = live_chat(channel_bot=True)
    chat.wait_connected()
    viewers = [("2001", "sagefox95"), ("2002", "novaninja10"), ("2003", "pixelgamer63")]
    sent = 0
    for i in range(7):
        user_id, user = viewers[i % len(viewers)]
        chat.say(user_id, f"that was close {i} Kappa", user=user)
        sent += 1
    chat.say(MODERATOR, "!clip what a save Kappa", user="Viewer32", badges=["moderator"])
    sent += 1

    candidates = wait_for(lambda: queued(chat.db), 30, "the candidate in action_queue")
    replies = wait_for(lambda: bot_chat_sent(chat.sim), 20, "the reply")
    body = chat.wait_health(lambda b: b["messages_seen"] == sent, 10)

    assert len(candidates) == 1
    payload = candidates[0]["payload"]
    assert candidates[0]["status"] == "pending_approval"
    assert (payload["source"], payload["broadcaster_id"]) == ("command", BROADCASTER)
    assert payload["suggested_title"] == "what a save Kappa"
    assert len(replies) == 1 and replies[0].token == "app"
    assert replies[0].text.startswith("@Viewer32 clip request sent")
    assert chat.sim.count("POST", "/helix/chat/messages") == 1
    assert body["chat"] == "connected" and body["ok"] is True
    assert body["replies"].startswith("app token")
    # The reply came back over EventSub too (with the Chat Bot badge): received, not counted.
    chat.wait_health(lambda b: b["messages_received"] == sent + 1, 10)
    assert chat.sim.count("POST", "/helix/eventsub/subscriptions") == 1

    assert chat.terminate() == 0
    stopped = chat.last("chat bot stopped")
    assert stopped["messages_seen"] == sent and stopped["candidates"] == {"enqueued": 1}
    text = chat.logs_text()
    for secret in (*chat.bot_tokens, chat.demo["client_secret"]):
        assert secret not in text


def test_session_reconnect_to_a_new_url_loses_and_doubles_nothing(live_chat):
    """Twitch keeps sending to the old connection until the new one is welcomed; twitchio
    3.3.2 alone would close the old one with those messages unread."""
    chat = live_chat()
    chat.wait_connected()
    total, switch_at = 150, 40

    def type_burst() -> None:
        for i in range(total):
            if i == switch_at:
                chat.sim.eventsub.reconnect(welcome_delay=0.3)
            chat.sim.chat.say(BROADCASTER, str(3000 + i % 25), f"message {i}", user=f"v{i % 25}")
            time.sleep(0.004)

    sender = threading.Thread(target=type_burst)
    sender.start()
    sender.join(30)
    body = chat.wait_health(lambda b: b["messages_seen"] >= total, 15)
    time.sleep(0.5)  # anything doubled would show up now
    body = chat.health()

    sessions = {s.id: s for s in chat.sim.eventsub.sessions()}
    old = next(s for s in sessions.values() if s.reconnect_of is None)
    new = next(s for s in sessions.values() if s.reconnect_of == old.id)
    assert body is not None and body["messages_seen"] == total
    assert body["duplicates_ignored"] == 0 and body["chat"] == "connected"
    assert old.delivered_after_notice > 0  # the hand-over window was really exercised
    assert len(old.delivered) + len(new.delivered) == total
    assert (old.closed_by, old.close_code) == ("client", 1000)  # not the 4004 of a late close
    assert new.edge == "reconnect" and new.status == "connected"
    assert [h.edge for h in chat.sim.eventsub.handshakes()] == ["main", "reconnect"]
    assert chat.sim.count("POST", "/helix/eventsub/subscriptions") == 1  # carried over
    assert chat.terminate() == 0


def test_missed_keepalives_reconnect_with_backoff(live_chat):
    """A connection that goes silent (no keepalive, no close) is redialled; the refused
    attempts wait about 2 s, then about 4 s (the project's backoff), then it resubscribes."""
    chat = live_chat()
    chat.wait_connected()
    before = len(chat.sim.eventsub.handshakes())
    chat.sim.eventsub.refuse_handshakes(2)
    stalled = chat.sim.eventsub.stall()
    went_down = chat.wait_health(lambda b: b["chat"] == "reconnecting", 35)
    back = chat.wait_health(lambda b: b["chat"] == "connected", 20)

    attempts = chat.sim.eventsub.handshakes()[before:]
    assert [a.refused for a in attempts] == [True, True, False]
    gaps = [later.at - earlier.at for earlier, later in pairwise(attempts)]
    assert 1.0 <= gaps[0] < 2.5 and 2.0 <= gaps[1] < 4.5
    assert went_down["ok"] is True and back["ok"] is True
    assert chat.sim.count("POST", "/helix/eventsub/subscriptions") == 2  # on the new session
    old = next(s for s in chat.sim.eventsub.sessions() if s.id == stalled[0])
    assert old.closed_by == "client"
    seen = back["messages_seen"]
    for i in range(3):
        chat.sim.chat.say(BROADCASTER, "2001", f"are we back {i}", user="sagefox95")
    chat.wait_health(lambda b: b["messages_seen"] == seen + 3, 10)
    assert chat.terminate() == 0


def test_health_says_connected_only_once_chat_is_subscribed(live_chat):
    """The socket's welcome comes before the subscription; `/healthz` waits for the latter."""
    chat = live_chat()
    chat.sim.inject_fault("POST /helix/eventsub/subscriptions", "slow", delay=2.0)
    chat.wait_connected()
    enabled = [s for s in chat.sim.eventsub.subscriptions() if s.status == "enabled"]
    assert len(enabled) == 1
    assert chat.terminate() == 0


def test_a_revoked_subscription_is_renewed_and_health_says_why_meanwhile(live_chat):
    chat = live_chat()
    chat.wait_connected()
    chat.sim.inject_fault("POST /helix/eventsub/subscriptions", "status", status=403)
    assert len(chat.sim.eventsub.revoke(status="authorization_revoked")) == 1
    down = chat.wait_health(lambda b: "failed: HTTP 403" in b["detail"], 20)
    assert down["chat"] == "reconnecting" and down["ok"] is True
    assert down["detail"].startswith("Twitch revoked the chat subscription (authorization_revoked)")
    back = chat.wait_health(lambda b: b["chat"] == "connected", 20)
    assert chat.sim.count("POST", "/helix/eventsub/subscriptions") == 3  # first, refused, renewed
    seen = back["messages_seen"]
    chat.sim.chat.say(BROADCASTER, "2001", "still here?", user="sagefox95")
    chat.wait_health(lambda b: b["messages_seen"] == seen + 1, 10)
    assert "chat subscription revoked by Twitch" in [e["message"] for e in chat.logs()]
    assert chat.terminate() == 0


def test_a_token_that_expires_while_running_is_refreshed_once_through_the_lease(live_chat):
    """Two replies hit the expired token at once: one refresh with Twitch, under the store's
    lease, and both replies go out with the new token."""
    chat = live_chat(
        channel_bot=False,
        config={"chat.clip_global_cooldown_seconds": 0, "chat.clip_user_cooldown_seconds": 0},
    )
    body = chat.wait_connected()
    assert body["replies"].startswith("bot user token")
    old_access, old_refresh = chat.bot_tokens
    chat.sim.expire_token(old_access)
    chat.say(MODERATOR, "!clip first one", user="Viewer32", badges=["moderator"])
    chat.say("4145995", "!clip second one", user="Viewer33", badges=["moderator"])

    replies = wait_for(
        lambda: len(bot_chat_sent(chat.sim)) >= 2 and bot_chat_sent(chat.sim), 20, "both replies"
    )
    assert {r.token for r in replies} == {"user"}
    assert token_refreshes(chat.sim, BOT) == 1
    stored = TwitchTokenStore(chat.db).get(BOT)
    assert stored is not None
    assert stored.access_token != old_access and stored.refresh_token != old_refresh
    assert stored.refresh_lease_seq == 1 and stored.refresh_holder is None
    # Two `!clip`s a moment apart are one moment: the second merges into the first candidate.
    assert len(queued(chat.db)) == 1
    assert chat.health()["bot_token"].startswith("valid")
    assert chat.terminate() == 0
    assert "bot token renewed (stored under the refresh lease)" in [
        e["message"] for e in chat.logs()
    ]


def test_sigterm_during_a_burst_accounts_for_every_message(live_chat):
    """Every message the bot received before it stopped went through the pipeline, and every
    `!clip` among them is a candidate in Firestore or counted as dropped in the last log."""
    chat = live_chat(
        config={"chat.clip_global_cooldown_seconds": 0, "chat.clip_user_cooldown_seconds": 0},
    )
    chat.wait_connected()
    said: dict[str, str] = {}
    stop = threading.Event()

    def burst() -> None:
        for i in range(800):
            if stop.is_set():
                return
            if i % 5 == 0:
                text, user_id, badges = f"!clip moment number {i}", str(5000 + i), ["moderator"]
            else:
                text, user_id, badges = f"wow {i}", str(6000 + i % 40), []
            message_id = chat.sim.chat.say(
                BROADCASTER, user_id, text, user=f"chatter{user_id}", badges=badges
            )["message_id"]
            said[message_id] = text
            time.sleep(0.003)

    sender = threading.Thread(target=burst)
    sender.start()
    chat.wait_health(lambda b: b["messages_seen"] >= 100, 20)
    assert chat.terminate() == 0
    stop.set()
    sender.join(10)

    stopped = chat.last("chat bot stopped")
    delivered = [m for s in chat.sim.eventsub.sessions() for m in s.delivered]
    own = {m.message_id for m in chat.sim.chat.sent}
    chatter_ids = [m for m in delivered if m not in own]
    assert len(chatter_ids) < 800  # it stopped in the middle of the burst
    assert stopped["messages_received"] == len(delivered)
    assert stopped["messages_seen"] == len(chatter_ids)
    clips = sum(1 for m in chatter_ids if said.get(m, "").startswith("!clip"))
    in_firestore = [c for c in queued(chat.db) if c["payload"]["source"] == "command"]
    dropped = stopped["candidates_dropped"]
    # `!clip`s inside a moment already queued merge into its candidate instead of adding one.
    landed = sum(stopped["candidates"].get(k, 0) for k in ("enqueued", "merged", "duplicate"))
    assert clips > 0 and len(in_firestore) <= clips <= landed + dropped
    assert stopped["candidates"].get("enqueued", 0) == len(queued(chat.db))
    dropped_logged = [e for e in chat.logs() if e["message"].endswith(": dropped")]
    assert bool(dropped_logged) == (dropped > 0)


def test_healthz_answers_within_10_s_with_firestore_and_twitch_unreachable():
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"
    env = chatbot_env(
        f"127.0.0.1:{free_port()}",
        port,
        TWITCH_BROADCASTER_ID=BROADCASTER,
        TWITCH_BOT_USER_ID=BOT,
        TWITCH_API_BASE=f"http://{dead}/helix",
        TWITCH_AUTH_BASE=f"http://{dead}/oauth2",
        TWITCH_EVENTSUB_WS_URL=f"ws://{dead}/ws",
    )
    started = time.monotonic()
    process = start_chatbot(env)
    try:
        body = None
        while body is None and time.monotonic() - started < 10:
            body = health_at(port)
            time.sleep(0.05)
        assert body is not None, "no /healthz answer within 10 s"
        assert body["ok"] is True and body["chat"] == "connecting"
    finally:
        process.kill()
        process.wait(10)
