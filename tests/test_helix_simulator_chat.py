"""The simulator's EventSub WebSocket and chat routes, held to Twitch's documented rules."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from aiohttp import ClientSession, ClientWebSocketResponse, WSMsgType

from local.helix_simulator import HelixSimulator
from local.helix_simulator.chat import CONTROL_CHAT_PATH, Chatter, chat_event

CLIENT = "sim-chat-client"
BROADCASTER, BOT, MOD = "12345", "777001", "4145994"
SUBSCRIPTION = "/eventsub/subscriptions"


@dataclass
class Env:
    sim: HelixSimulator
    bot_token: str
    broadcaster_token: str
    app_token: str
    reader_token: str  # a user without user:read:chat

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Client-Id": CLIENT}

    def subscribe(self, session_id: str, token: str | None = None, **changes: Any):
        body = {
            "type": "channel.chat.message",
            "version": "1",
            "condition": {"broadcaster_user_id": BROADCASTER, "user_id": BOT},
            "transport": {"method": "websocket", "session_id": session_id},
        } | changes
        return requests.post(
            self.sim.api_base + SUBSCRIPTION,
            headers=self.headers(token or self.bot_token),
            json=body,
            timeout=5,
        )

    def send(self, token: str, **body: Any) -> requests.Response:
        payload = {"broadcaster_id": BROADCASTER, "sender_id": BOT, "message": "hi"} | body
        return requests.post(
            self.sim.api_base + "/chat/messages",
            headers=self.headers(token),
            json=payload,
            timeout=5,
        )


@pytest.fixture
def env() -> Iterator[Env]:
    with HelixSimulator() as sim:
        sim.add_app(CLIENT, "secret")
        broadcaster, _ = sim.add_user(
            BROADCASTER, "ByteStreamer", client_id=CLIENT, scopes=["clips:edit"]
        )
        bot, _ = sim.chat.add_bot(CLIENT)
        reader, _ = sim.add_user(MOD, "Viewer32", client_id=CLIENT, scopes=["user:write:chat"])
        yield Env(sim, bot, broadcaster, sim.add_app_token(CLIENT), reader)


async def connect(env: Env, session: ClientSession, query: str = "") -> tuple[Any, str]:
    ws = await session.ws_connect(env.sim.eventsub_url + query)
    welcome = await receive_json(ws)
    assert welcome["metadata"]["message_type"] == "session_welcome"
    return ws, welcome["payload"]["session"]["id"]


async def receive_json(ws: ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type is WSMsgType.TEXT, (message.type, message.data)
    return json.loads(message.data)


def test_welcome_clamps_the_keepalive_and_subscriptions_follow_twitchs_rules(env):
    async def scenario() -> None:
        async with ClientSession() as session:
            ws, session_id = await connect(env, session, "?keepalive_timeout_seconds=3")
            assert env.sim.eventsub.sessions()[0].keepalive == 10  # clamped to 10..600
            assert env.subscribe(session_id, token=env.app_token).status_code == 401
            assert env.subscribe(session_id, token=env.reader_token).status_code == 403
            assert env.subscribe("no-such-session").status_code == 400
            wrong = env.subscribe(session_id, version="2")
            assert (wrong.status_code, wrong.json()["error"]) == (400, "Bad Request")
            created = env.subscribe(session_id)
            assert created.status_code == 202
            body = created.json()
            sub = body["data"][0]
            assert (body["total"], body["total_cost"], body["max_total_cost"]) == (1, 0, 10)
            assert (sub["status"], sub["type"], sub["version"], sub["cost"]) == (
                "enabled",
                "channel.chat.message",
                "1",
                0,
            )
            assert sub["transport"]["session_id"] == session_id
            assert sub["transport"]["connected_at"].endswith("Z")
            assert env.subscribe(session_id).status_code == 409
            delete = env.sim.api_base + SUBSCRIPTION + f"?id={sub['id']}"
            headers = env.headers(env.bot_token)
            assert requests.delete(delete, headers=headers, timeout=5).status_code == 204
            assert requests.delete(delete, headers=headers, timeout=5).status_code == 404
            await ws.close()

    asyncio.run(scenario())


def test_chat_reaches_subscribers_with_fragments_badges_and_twitchs_envelope(env):
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with ClientSession() as session:
            ws, session_id = await connect(env, session)
            env.subscribe(session_id).raise_for_status()
            said = requests.post(
                env.sim.api_base.removesuffix("/helix") + CONTROL_CHAT_PATH,
                json={
                    "broadcaster_id": BROADCASTER,
                    "user_id": MOD,
                    "user": "Viewer32",
                    "text": "!clip what a save Kappa @bytebot",
                    "badges": ["subscriber", "moderator"],
                },
                timeout=5,
            )
            assert said.json()["data"][0]["delivered"] == 1
            notification = await receive_json(ws)
            await ws.close()
            return notification, said.json()["data"][0]

    notification, said = asyncio.run(scenario())
    metadata, event = notification["metadata"], notification["payload"]["event"]
    assert (metadata["message_type"], metadata["subscription_type"]) == (
        "notification",
        "channel.chat.message",
    )
    assert metadata["subscription_version"] == "1"
    assert notification["payload"]["subscription"]["status"] == "enabled"
    assert event["message_id"] == said["message_id"]
    assert (event["chatter_user_id"], event["chatter_user_login"]) == (MOD, "viewer32")
    assert (event["broadcaster_user_login"], event["message_type"]) == ("bytestreamer", "text")
    assert [b["set_id"] for b in event["badges"]] == ["moderator", "subscriber"]
    assert [f["type"] for f in event["message"]["fragments"]] == [
        "text",
        "emote",
        "text",
        "mention",
    ]
    emote = event["message"]["fragments"][1]["emote"]
    assert (emote["id"], emote["format"]) == ("25", ["static"])
    assert event["message"]["fragments"][3]["mention"]["user_id"] == BOT


def test_fragments_keep_the_text_whole():
    event = chat_event(
        Chatter(BROADCASTER, "bytestreamer", "ByteStreamer"),
        Chatter(MOD, "viewer32", "Viewer32"),
        "LUL  that   was PogChamp",
        ["vip"],
        message_id="m1",
    )
    fragments = event["message"]["fragments"]
    assert "".join(f["text"] for f in fragments) == "LUL  that   was PogChamp"
    assert [f["type"] for f in fragments] == ["emote", "text", "emote"]
    assert event["badges"] == [{"set_id": "vip", "id": "1", "info": ""}]


def test_send_chat_message_user_and_app_token_rules(env):
    sim = env.sim
    assert env.send(env.bot_token).json()["data"][0] == {
        "message_id": sim.chat.sent[-1].message_id,
        "is_sent": True,
        "drop_reason": None,
    }
    assert env.send(env.bot_token, sender_id=MOD).status_code == 401  # not the token's user
    assert env.send(env.broadcaster_token, sender_id=BROADCASTER).status_code == 401  # no scope
    assert env.send(env.bot_token, message="x" * 501).status_code == 422
    assert env.send(env.bot_token, message="").status_code == 400
    # App token: the sender granted user:write:chat and user:bot; the channel must have
    # granted channel:bot, or the sender be one of its moderators.
    refused = env.send(env.app_token)
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    sim.chat.set_roles(BROADCASTER, BOT, {"moderator"})
    assert env.send(env.app_token).status_code == 200
    assert env.send(env.app_token, sender_id=MOD).status_code == 401  # no user:bot from MOD
    sim.chat.set_roles(BROADCASTER, BOT, set())
    sim.add_user(BROADCASTER, "ByteStreamer", client_id=CLIENT, scopes=["channel:bot"])
    assert env.send(env.app_token).status_code == 200
    assert [m.token for m in sim.chat.sent] == ["user", "app", "app"]


def test_get_users_by_id_login_or_token(env):
    def get(token: str, query: str = "") -> requests.Response:
        return requests.get(
            env.sim.api_base + "/users" + query, headers=env.headers(token), timeout=5
        )

    mine = get(env.bot_token).json()["data"]
    assert [(u["id"], u["login"], u["display_name"]) for u in mine] == [(BOT, "bytebot", "ByteBot")]
    both = get(env.app_token, f"?id={BROADCASTER}&login=VIEWER32&id=999").json()["data"]
    assert [u["id"] for u in both] == [BROADCASTER, MOD]
    assert "email" not in both[0]
    assert get(env.app_token).status_code == 400
    many = "&".join(f"id={i}" for i in range(101))
    assert get(env.app_token, f"?{many}").status_code == 400


def test_close_codes_for_an_unused_connection_inbound_traffic_and_a_bad_reconnect(env):
    env.sim.eventsub.subscribe_within = 0.5  # Twitch's is the keepalive timeout, 10 s at least

    async def scenario() -> list[int | None]:
        codes = []
        async with ClientSession() as session:
            unused, _ = await connect(env, session)
            message = await unused.receive(timeout=5)
            codes.append(unused.close_code if message.type is WSMsgType.CLOSE else None)
            talker, session_id = await connect(env, session)
            env.subscribe(session_id).raise_for_status()
            await talker.send_str("hello?")
            await talker.receive(timeout=5)
            codes.append(talker.close_code)
            stray = await session.ws_connect(
                f"ws://127.0.0.1:{env.sim.eventsub.edge_port}/ws?reconnect_id=nope"
            )
            await stray.receive(timeout=5)
            codes.append(stray.close_code)
        return codes

    assert asyncio.run(scenario()) == [4003, 4001, 4007]


def test_reconnect_hands_subscriptions_over_and_a_late_close_gets_4004(env):
    env.sim.eventsub.reconnect_grace = 1.0  # Twitch's is 30 s

    async def scenario() -> dict[str, Any]:
        async with ClientSession() as session:
            old, old_id = await connect(env, session)
            env.subscribe(old_id).raise_for_status()
            [url] = env.sim.eventsub.reconnect()
            notice = await receive_json(old)
            assert notice["metadata"]["message_type"] == "session_reconnect"
            assert notice["payload"]["session"]["reconnect_url"] == url
            assert notice["payload"]["session"]["status"] == "reconnecting"
            env.sim.chat.say(BROADCASTER, MOD, "before the new welcome")
            assert (await receive_json(old))["payload"]["event"]["message"]["text"] == (
                "before the new welcome"
            )
            new = await session.ws_connect(url)
            welcome = await receive_json(new)
            env.sim.chat.say(BROADCASTER, MOD, "after it")
            moved = await receive_json(new)
            closed = await old.receive(timeout=5)  # the old one is never closed by us
            return {
                "welcome": welcome,
                "moved": moved,
                "old_close": (closed.type, old.close_code),
                "old_id": old_id,
            }

    seen = asyncio.run(scenario())
    new_id = seen["welcome"]["payload"]["session"]["id"]
    assert new_id != seen["old_id"]
    assert seen["moved"]["payload"]["subscription"]["transport"]["session_id"] == new_id
    assert seen["old_close"] == (WSMsgType.CLOSE, 4004)
    assert [h.edge for h in env.sim.eventsub.handshakes()] == ["main", "reconnect"]


def test_revocation_and_keepalive_messages(env):
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
        async with ClientSession() as session:
            ws, session_id = await connect(env, session)
            env.subscribe(session_id).raise_for_status()
            started = time.monotonic()
            keepalive = await receive_json(ws, timeout=12)
            waited = time.monotonic() - started
            [revoked] = env.sim.eventsub.revoke(status="user_removed")
            revocation = await receive_json(ws)
            assert revocation["payload"]["subscription"]["id"] == revoked
            await ws.close()
            return keepalive, revocation, waited

    keepalive, revocation, waited = asyncio.run(scenario())
    assert keepalive == {"metadata": keepalive["metadata"], "payload": {}}
    assert keepalive["metadata"]["message_type"] == "session_keepalive"
    assert 8.0 <= waited < 10.0  # before the client's 10 s timeout runs out
    assert revocation["metadata"]["message_type"] == "revocation"
    assert revocation["metadata"]["subscription_type"] == "channel.chat.message"
    assert revocation["payload"]["subscription"]["status"] == "user_removed"
    assert "event" not in revocation["payload"]
