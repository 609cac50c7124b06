"""The twitchio edge, driven by `channel.chat.message` payloads shaped as Twitch documents
them (EventSub websocket notification), parsed by twitchio's own ChatMessage model."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from twitchio.models.eventsub_ import ChatMessage, create_event_instance

from chatbot.control import StaticConfig
from chatbot.link_state import LinkState
from chatbot.outbox import ChatOutbox
from chatbot.rate_limit import ChatRateLimiter
from chatbot.runtime import ChatRuntime
from chatbot.twitch_bot import BotNotConnected, ByteChatBot, chat_line_from_message
from shared.domain.clip_candidate import parse_timestamp

FIXTURE = Path(__file__).parent / "fixtures_chat" / "channel_chat_message.json"
BOT_ID = "777001"
CHANNEL = "12345"


class RecordingSink:
    def __init__(self) -> None:
        self.detections = []

    def submit(self, detection, *, requester_roles=frozenset()) -> bool:
        self.detections.append(detection)
        return True


class RecordingOutbox:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.privileged: bool | None = None

    def post(self, text: str, *, urgent: bool = True) -> None:
        self.sent.append(text)

    def set_privileged(self, privileged: bool) -> None:
        self.privileged = privileged


class FakeTokens:
    def __init__(self, stored: dict[str, SimpleNamespace]) -> None:
        self.stored = stored
        self.saved: list[tuple] = []
        self.owners: dict[str, str] = {}

    def get(self, user_id: str):
        return self.stored.get(user_id)

    def save_grant(self, grant, *, user_id, login, client_id):
        self.saved.append((grant, user_id, client_id))

    def claim_refresh(self, user_id: str, owner: str) -> None:
        self.owners[user_id] = owner


def make_bot(tokens: FakeTokens | None = None):
    sink, outbox = RecordingSink(), RecordingOutbox()
    runtime = ChatRuntime(StaticConfig(), sink, outbox)
    bot = ByteChatBot(
        client_id="client-abc",
        client_secret="secret-xyz",
        bot_id=BOT_ID,
        broadcaster_id=CHANNEL,
        runtime=runtime,
        tokens=tokens or FakeTokens({}),
        link=LinkState(0.0),
    )
    return bot, sink, outbox


def notification(**event_changes) -> dict:
    payload = copy.deepcopy(json.loads(FIXTURE.read_text()))
    payload["payload"]["event"].update(event_changes)
    return payload


def chat_message(bot: ByteChatBot, payload: dict) -> ChatMessage:
    message = create_event_instance("channel.chat.message", payload, http=bot._http)
    assert isinstance(message, ChatMessage)
    return message


def test_a_documented_payload_becomes_a_chat_line():
    bot, _, _ = make_bot()
    line = chat_line_from_message(chat_message(bot, notification()))
    assert line is not None
    assert line.ts == parse_timestamp("2026-11-24T20:04:22.512Z").timestamp()
    assert (line.broadcaster_id, line.user_id, line.user) == (CHANNEL, "4145994", "Viewer32")
    assert line.text == "!clip what a save Kappa"
    assert line.roles == frozenset({"moderator", "subscriber"})
    assert line.message_id == "cc106a89-1814-919d-454c-f4f2f970aae7"


def test_event_message_runs_the_pipeline_and_replies():
    bot, sink, outbox = make_bot()
    asyncio.run(bot.event_message(chat_message(bot, notification())))
    assert [d.source for d in sink.detections] == ["command"]
    assert sink.detections[0].title == "what a save Kappa"
    assert outbox.sent == ["@Viewer32 clip request sent to the streamer: “what a save Kappa”"]


def test_badges_decide_permission():
    bot, sink, outbox = make_bot()
    plain = notification(badges=[{"set_id": "sub-gifter", "id": "1", "info": ""}])
    asyncio.run(bot.event_message(chat_message(bot, plain)))
    assert sink.detections == []
    assert outbox.sent == ["@Viewer32 !clip is open to mods, VIPs and subscribers."]
    founder = notification(
        chatter_user_id="5", badges=[{"set_id": "founder", "id": "0", "info": "3"}]
    )
    asyncio.run(bot.event_message(chat_message(bot, founder)))
    assert len(sink.detections) == 1


def test_shared_chat_from_another_channel_is_ignored_ours_is_not():
    bot, sink, _ = make_bot()
    other = notification(
        source_broadcaster_user_id="999",
        source_broadcaster_user_login="friend",
        source_broadcaster_user_name="Friend",
        source_message_id="m-2",
        source_badges=[],
    )
    asyncio.run(bot.event_message(chat_message(bot, other)))
    assert sink.detections == []
    ours = notification(
        source_broadcaster_user_id=CHANNEL,
        source_broadcaster_user_login="bytestreamer",
        source_broadcaster_user_name="ByteStreamer",
        source_message_id="m-3",
        source_badges=[],
    )
    asyncio.run(bot.event_message(chat_message(bot, ours)))
    assert len(sink.detections) == 1


def test_the_bots_own_message_sets_the_send_limit_and_is_not_counted():
    bot, sink, outbox = make_bot()
    own = notification(
        chatter_user_id=BOT_ID,
        chatter_user_login="bytebot",
        chatter_user_name="ByteBot",
        badges=[{"set_id": "moderator", "id": "1", "info": ""}],
    )
    asyncio.run(bot.event_message(chat_message(bot, own)))
    assert outbox.privileged is True and sink.detections == [] and outbox.sent == []
    assert bot.runtime.messages == 0


def tokens_for(bot_scopes, broadcaster_scopes):
    return FakeTokens(
        {
            BOT_ID: SimpleNamespace(
                access_token="bot-access", refresh_token="bot-refresh", refresh_owner=None
            ),
            CHANNEL: SimpleNamespace(scopes=broadcaster_scopes),
        }
    ), SimpleNamespace(scopes=bot_scopes, user_id=BOT_ID, login="bytebot", expires_in=14000)


@pytest.mark.parametrize(
    ("broadcaster_scopes", "token_for", "mode"),
    [
        (["clips:edit", "channel:bot"], None, "app token"),
        (["clips:edit"], BOT_ID, "bot user token"),
    ],
)
def test_bot_token_is_validated_by_twitchio_and_picks_the_reply_token(
    broadcaster_scopes, token_for, mode
):
    tokens, validated = tokens_for(
        ["user:read:chat", "user:write:chat", "user:bot"], broadcaster_scopes
    )
    bot, _, _ = make_bot(tokens)
    added = []

    async def add_token(token, refresh):
        added.append((token, refresh))
        return validated

    bot.add_token = add_token
    asyncio.run(bot.load_bot_token())
    assert added == [("bot-access", "bot-refresh")]
    assert tokens.owners == {BOT_ID: "chatbot"}
    assert bot._reply_token_for == token_for and bot.reply_mode.startswith(mode)
    assert bot.replies_ok
    assert bot.token_status().startswith("dropped")  # the fake add_token stored nothing
    bot._http._tokens[BOT_ID] = {"last_validated": "2026-11-24T20:00:00"}
    assert bot.token_status() == "valid, last validated 2026-11-24T20:00:00"


def test_bot_token_problems_are_named():
    bot, _, _ = make_bot(FakeTokens({}))
    with pytest.raises(BotNotConnected, match=r"python -m chatbot\.connect bot"):
        asyncio.run(bot.load_bot_token())
    tokens, validated = tokens_for(["user:write:chat"], [])
    bot, _, _ = make_bot(tokens)

    async def add_token(token, refresh):
        return validated

    bot.add_token = add_token
    with pytest.raises(BotNotConnected, match="user:read:chat"):
        asyncio.run(bot.load_bot_token())


def test_refreshed_bot_tokens_are_not_saved_outside_the_lease():
    """twitchio's renewal is stored by `refresh_under_lease` (tests/test_token_refreshers.py);
    the event that follows must not write the pair a second time, outside the lease."""
    tokens = FakeTokens({})
    bot, _, _ = make_bot(tokens)
    payload = SimpleNamespace(
        user_id=BOT_ID,
        token="new-access",
        refresh_token="new-refresh",
        expires_in=14000,
        scopes=["user:read:chat"],
    )
    asyncio.run(bot.event_token_refreshed(payload))
    assert tokens.saved == []


def test_send_reply_goes_to_the_channel_as_the_bot():
    bot, _, _ = make_bot()
    bot.replies_ok = True
    calls = []

    class Channel:
        async def send_message(self, text, *, sender, token_for):
            calls.append((text, sender, token_for))

    bot.create_partialuser = lambda user_id: Channel()
    asyncio.run(bot.send_reply("hello"))
    assert calls == [("hello", BOT_ID, BOT_ID)]
    assert not bot.connected()


def test_a_bot_on_the_broadcasters_account_still_hears_the_broadcaster():
    sink, outbox = RecordingSink(), RecordingOutbox()
    bot = ByteChatBot(
        client_id="client-abc",
        client_secret="secret-xyz",
        bot_id=CHANNEL,
        broadcaster_id=CHANNEL,
        runtime=ChatRuntime(StaticConfig(), sink, outbox),
        tokens=FakeTokens({}),
        link=LinkState(0.0),
    )
    bot.replies_ok = True

    class Channel:
        async def send_message(self, text, *, sender, token_for):
            return SimpleNamespace(id="sent-1", sent=True)

    bot.create_partialuser = lambda user_id: Channel()
    asyncio.run(bot.send_reply("@Viewer32 clip request sent"))
    streamer = {
        "chatter_user_id": CHANNEL,
        "chatter_user_name": "ByteStreamer",
        "badges": [{"set_id": "broadcaster", "id": "1", "info": ""}],
    }
    echo = notification(message_id="sent-1", **streamer)
    asyncio.run(bot.event_message(chat_message(bot, echo)))
    assert sink.detections == [] and outbox.privileged is True
    typed = notification(message_id="typed-1", **streamer)
    asyncio.run(bot.event_message(chat_message(bot, typed)))
    assert [d.requested_by for d in sink.detections] == ["ByteStreamer"]


def test_outbox_posts_from_any_thread_within_the_limit():
    sent: list[tuple[float, str]] = []

    async def send(text: str) -> None:
        sent.append((time.monotonic(), text))

    async def scenario() -> None:
        outbox = ChatOutbox(send, limiter=ChatRateLimiter(window=0.4), max_queue=30)
        outbox.start()
        posters = [threading.Thread(target=outbox.post, args=(f"m{i}",)) for i in range(22)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join()
        deadline = time.monotonic() + 5
        while len(sent) < 22 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await outbox.stop()

    asyncio.run(scenario())
    assert sorted(text for _, text in sent) == sorted(f"m{i}" for i in range(22))
    times = [at for at, _ in sent]
    assert times[20] - times[0] >= 0.39  # the 21st waited for the window to move


def test_answers_to_chatters_go_before_clip_announcements():
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    async def scenario() -> None:
        outbox = ChatOutbox(send)
        outbox.start()
        outbox.post("clip ready 1", urgent=False)
        outbox.post("clip ready 2", urgent=False)
        outbox.post("@ann clip request sent")
        for _ in range(50):
            await asyncio.sleep(0.01)
            if len(sent) == 3:
                break
        await outbox.stop()

    asyncio.run(scenario())
    assert sent == ["@ann clip request sent", "clip ready 1", "clip ready 2"]


class AsyncList:
    def __init__(self, items) -> None:
        self.items = list(items)

    def __aiter__(self):
        return self._gen()

    async def _gen(self):
        for item in self.items:
            yield item


def test_the_live_streams_vod_is_found_for_vod_mode():
    from datetime import UTC, datetime, timedelta

    bot, _, _ = make_bot()
    started = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)
    stream = SimpleNamespace(started_at=started)
    old = SimpleNamespace(id="899999", created_at=started - timedelta(days=1))
    live = SimpleNamespace(id="900001", created_at=started + timedelta(seconds=4))
    bot.fetch_streams = lambda **kwargs: AsyncList([stream])
    bot.fetch_videos = lambda **kwargs: AsyncList([old, live])
    archive = asyncio.run(bot.fetch_archive())
    assert archive is not None and archive.vod_id == "900001"
    assert archive.started_ts == live.created_at.timestamp()
    bot.fetch_streams = lambda **kwargs: AsyncList([])
    assert asyncio.run(bot.fetch_archive()) is None


def test_the_supervisor_subscribes_again_when_twitchio_gave_up(monkeypatch):
    import chatbot.twitch_bot as twitch_bot

    monkeypatch.setattr(twitch_bot, "SUPERVISE_SECONDS", 0.01)
    monkeypatch.setattr(twitch_bot, "reconnect_delay", lambda attempt, rand: 0.01)
    bot, _, _ = make_bot()
    now = [0.0]
    bot._clock = lambda: now[0]
    subscribed = []

    async def subscribe_chat() -> None:
        subscribed.append(True)
        bot._websockets[BOT_ID] = {"s1": SimpleNamespace(connected=True)}
        bot.subscribed = True  # as the real one does once Twitch accepted the subscription

    bot.subscribe_chat = subscribe_chat

    async def scenario() -> list[str]:
        states = []
        bot._websockets[BOT_ID] = {"s0": SimpleNamespace(connected=False)}
        task = asyncio.create_task(bot._supervise())
        await asyncio.sleep(0.05)
        states.append(bot.link.state)  # twitchio is still retrying: not connected yet
        bot._websockets[BOT_ID] = {}
        await asyncio.sleep(0.1)
        states.append(bot.link.state)  # we subscribed again
        bot._stopping = True
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return states

    assert asyncio.run(scenario()) == ["connecting", "connected"]
    assert subscribed


def test_a_notification_twitch_delivers_twice_is_handled_once():
    """Twitch delivers at least once and keeps the EventSub message id when it resends."""
    from chatbot.twitch_bot import ChatSocket

    bot, sink, outbox = make_bot()

    async def scenario() -> None:
        socket = ChatSocket(bot=bot)
        payload = notification()
        await socket._process_notification(payload)
        await socket._process_notification(copy.deepcopy(payload))
        await asyncio.sleep(0.05)  # twitchio dispatches event_message as a task

    asyncio.run(scenario())
    assert [d.source for d in sink.detections] == ["command"] and len(outbox.sent) == 1
    assert (bot.received, bot.duplicates, bot.runtime.messages) == (2, 1, 1)


def test_reconnect_waits_are_the_projects_backoff_and_restart_after_a_welcome():
    from chatbot.twitch_bot import ReconnectBackoff

    backoff = ReconnectBackoff(rand=lambda: 0.5)
    assert [backoff.calculate() for _ in range(3)] == [1.5, 3.0, 6.0]
    backoff.reset()
    assert backoff.calculate() == 1.5


def test_health_names_a_revocation_until_chat_is_subscribed_again():
    bot, _, _ = make_bot()
    bot.link.connected(0.0)
    revoked = SimpleNamespace(reason=SimpleNamespace(value="authorization_revoked"), id="s1")
    asyncio.run(bot.event_subscription_revoked(revoked))
    asyncio.run(bot.event_websocket_closed(None))
    health = bot.link.health(1.0)
    assert health.state == "reconnecting" and health.ok
    assert health.detail == (
        "Twitch revoked the chat subscription (authorization_revoked); "
        "EventSub websocket closed; reconnecting"
    )
