"""The chat bot against Twitch's documents, not against our simulator's reading of them.

Sources (dev.twitch.tv):
- api/reference/chat, Send Chat Message: 200 with `data[0]` = `message_id`, `is_sent` ("If the
  message passed all checks and was sent") and `drop_reason` (`code`, `message`; "The reason
  the message was dropped, if any").
- eventsub/reference/chat, Channel Chat Message: `reply`, `cheer`,
  `channel_points_custom_reward_id`, `channel_points_animation_id` and the `source_*` shared
  chat fields are null when they do not apply; `badges` may be empty; each fragment has
  `cheermote`, `emote` and `mention`, null unless the fragment is of that type.
- eventsub/websocket-reference, Welcome message: `keepalive_timeout_seconds` is "the maximum
  number of seconds that you should expect silence before receiving a keepalive message".
  Revocation message: `status` is the reason, from the subscription statuses Twitch lists.

Payloads go through twitchio's own parsing (its `ChatMessage`, its `send_message`), as live.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from chatbot.outbox import ChatOutbox
from chatbot.twitch_bot import ChatSocket, ReplyNotSent, chat_line_from_message
from tests.test_chatbot_twitchio import BOT_ID, CHANNEL, chat_message, make_bot, notification

TEXT = {"cheermote": None, "emote": None, "mention": None}


def fragment(kind: str, text: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "text": text, **TEXT, **data}


def sent_reply(bot, response: dict[str, Any]) -> list[dict[str, Any]]:
    """Point twitchio's Send Chat Message call at a canned Twitch answer; the requests made."""
    calls: list[dict[str, Any]] = []

    async def post_chat_message(**body: Any) -> dict[str, Any]:
        calls.append(body)
        return {"data": [response]}

    bot._http.post_chat_message = post_chat_message
    bot.replies_ok = True
    return calls


def deliver_through_outbox(bot, text: str) -> ChatOutbox:
    async def scenario() -> ChatOutbox:
        outbox = ChatOutbox(bot.send_reply)
        outbox.start()
        outbox.post(text)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if outbox.sent or outbox.failed:
                break
        await asyncio.sleep(0.05)
        await outbox.stop()
        return outbox

    return asyncio.run(scenario())


# ---------------------------------------------------------------------- Send Chat Message


def test_a_reply_twitch_drops_is_not_counted_as_sent_and_its_code_is_logged(caplog):
    bot, _, _ = make_bot()
    calls = sent_reply(
        bot,
        {
            "message_id": "",
            "is_sent": False,
            "drop_reason": {"code": "test_drop_code", "message": "The message was dropped."},
        },
    )
    with caplog.at_level(logging.WARNING, logger="chatbot"):
        outbox = deliver_through_outbox(bot, "@Viewer32 clip request sent")
    assert len(calls) == 1  # no retry
    assert (outbox.sent, outbox.failed) == (0, 1)
    dropped = [r for r in caplog.records if r.getMessage() == "Twitch dropped a chat reply"]
    assert len(dropped) == 1
    assert dropped[0].drop_code == "test_drop_code"
    assert dropped[0].drop_message == "The message was dropped."
    assert "secret-xyz" not in caplog.text
    assert list(bot._sent_ids) == []


def test_is_sent_false_without_a_drop_reason_is_not_sent_either(caplog):
    bot, _, _ = make_bot()
    sent_reply(bot, {"message_id": "", "is_sent": False, "drop_reason": None})
    with pytest.raises(ReplyNotSent) as raised:
        asyncio.run(bot.send_reply("hello"))
    assert raised.value.code == ""
    outbox = deliver_through_outbox(bot, "hello")
    assert (outbox.sent, outbox.failed) == (0, 1)


def test_a_sent_reply_is_counted_and_its_id_kept():
    bot, _, _ = make_bot()
    calls = sent_reply(bot, {"message_id": "abc-123", "is_sent": True, "drop_reason": None})
    outbox = deliver_through_outbox(bot, "hello")
    assert (outbox.sent, outbox.failed) == (1, 0)
    assert calls[0]["broadcaster_id"] == CHANNEL and calls[0]["sender_id"] == BOT_ID
    assert list(bot._sent_ids) == ["abc-123"]


# ---------------------------------------------------------------------- Channel Chat Message

CLIP_COMMAND = {"text": "!clip what a save", "fragments": [fragment("text", "!clip what a save")]}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {
                "reply": {
                    "parent_message_id": "p-1",
                    "parent_message_body": "did you see that",
                    "parent_user_id": "11",
                    "parent_user_login": "friend",
                    "parent_user_name": "Friend",
                    "thread_message_id": "p-1",
                    "thread_user_id": "11",
                    "thread_user_login": "friend",
                    "thread_user_name": "Friend",
                }
            },
            id="reply",
        ),
        pytest.param({"cheer": {"bits": 100}}, id="cheer"),
        pytest.param({"channel_points_custom_reward_id": "r-1"}, id="reward"),
        pytest.param({"badges": [], "color": ""}, id="no-badges-no-colour"),
    ],
)
def test_documented_optional_objects_do_not_change_what_a_command_does(changes):
    bot, sink, _ = make_bot()
    moderator = [{"set_id": "moderator", "id": "1", "info": ""}]
    payload = notification(message=CLIP_COMMAND, **{"badges": moderator, **changes})
    asyncio.run(bot.event_message(chat_message(bot, payload)))
    roles_given = changes.get("badges", moderator)
    assert len(sink.detections) == (1 if roles_given else 0)


def replying_to(login: str, name: str, text: str) -> dict[str, Any]:
    """A reply as Twitch sends it: the replied-to chatter's mention in front of the text."""
    mention = {"user_id": "11", "user_login": login, "user_name": name}
    return notification(
        message={
            "text": f"@{name} {text}",
            "fragments": [
                fragment("mention", f"@{name}", mention=mention),
                fragment("text", f" {text}"),
            ],
        },
        badges=[{"set_id": "moderator", "id": "1", "info": ""}],
        reply={
            "parent_message_id": "p-1",
            "parent_message_body": "Clip candidate 3: approve with !approve 3",
            "parent_user_id": "11",
            "parent_user_login": login,
            "parent_user_name": name,
            "thread_message_id": "p-1",
            "thread_user_id": "11",
            "thread_user_login": login,
            "thread_user_name": name,
        },
    )


def test_a_command_sent_with_the_reply_button_is_still_a_command():
    """A moderator answering someone with the reply button sends `@Name !clip ...`."""
    bot, sink, _ = make_bot()
    payload = replying_to("bytebot", "ByteBot", "!clip what a save")
    line = chat_line_from_message(chat_message(bot, payload))
    assert line is not None and line.text == "!clip what a save"
    assert [(f.kind, f.text) for f in line.fragments] == [("text", "!clip what a save")]
    asyncio.run(bot.event_message(chat_message(bot, payload)))
    assert len(sink.detections) == 1


def test_a_mention_the_chatter_wrote_is_kept():
    bot, _, _ = make_bot()
    payload = replying_to("friend", "Friend", "look")
    payload["payload"]["event"]["message"]["text"] = "@Someone look"
    line = chat_line_from_message(chat_message(bot, payload))
    assert line is not None and line.text == "@Someone look"


def test_emote_only_cheermote_and_mention_fragments_become_fragments():
    bot, _, _ = make_bot()
    emote = {"id": "25", "emote_set_id": "0", "owner_id": "0", "format": ["static"]}
    payload = notification(
        message={
            "text": "Kappa Cheer100 @Friend",
            "fragments": [
                fragment("emote", "Kappa", emote=emote),
                fragment("text", " "),
                fragment(
                    "cheermote", "Cheer100", cheermote={"prefix": "cheer", "bits": 100, "tier": 1}
                ),
                fragment("text", " "),
                fragment(
                    "mention",
                    "@Friend",
                    mention={"user_id": "11", "user_login": "friend", "user_name": "Friend"},
                ),
            ],
        },
        cheer={"bits": 100},
    )
    line = chat_line_from_message(chat_message(bot, payload))
    assert line is not None
    assert [(f.kind, f.text, f.emote_id) for f in line.fragments] == [
        ("emote", "Kappa", "25"),
        ("text", " ", ""),
        ("cheermote", "Cheer100", ""),
        ("text", " ", ""),
        ("mention", "@Friend", ""),
    ]


def test_an_empty_message_goes_through_without_a_reaction():
    bot, sink, outbox = make_bot()
    payload = notification(message={"text": "", "fragments": []})
    asyncio.run(bot.event_message(chat_message(bot, payload)))
    assert (sink.detections, outbox.sent, bot.runtime.messages) == ([], [], 1)


def read(bot, *payloads: dict[str, Any]) -> None:
    async def scenario() -> None:
        socket = ChatSocket(bot=bot)
        for payload in payloads:
            await socket._process_notification(payload)
        await asyncio.sleep(0.05)  # twitchio dispatches event_message as a task

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "left_out",
    [
        ("channel_points_animation_id",),
        ("reply", "cheer", "channel_points_custom_reward_id"),
        (
            "source_broadcaster_user_id",
            "source_broadcaster_user_login",
            "source_broadcaster_user_name",
            "source_message_id",
            "source_badges",
            "is_source_only",
        ),
        ("color", "message_type"),
    ],
)
def test_a_chat_message_without_its_null_fields_is_still_read(left_out):
    """Twitch documents these as null when they do not apply; a sender that leaves them out
    must not cost the message (twitchio 3.3.2 indexes them)."""
    bot, sink, _ = make_bot()
    payload = notification()
    for key in left_out:
        del payload["payload"]["event"][key]
    read(bot, payload)
    assert [d.source for d in sink.detections] == ["command"]
    assert bot.unreadable == 0


def test_an_unreadable_notification_is_skipped_and_the_next_one_read(caplog):
    bot, sink, _ = make_bot()
    broken = notification()
    del broken["payload"]["event"]["message"]
    broken["metadata"]["message_id"] = "another-notification"
    with caplog.at_level(logging.WARNING, logger="chatbot"):
        read(bot, broken, notification())
    assert [d.source for d in sink.detections] == ["command"]
    assert bot.unreadable == 1
    assert any(
        r.getMessage() == "EventSub notification could not be read; skipped" for r in caplog.records
    )


def revocation(status: str) -> dict[str, Any]:
    """The websocket-reference Revocation message, with `status` as given."""
    return {
        "metadata": {
            "message_id": "r-1",
            "message_type": "revocation",
            "message_timestamp": "2023-07-19T14:56:51.634234626Z",
            "subscription_type": "channel.chat.message",
            "subscription_version": "1",
        },
        "payload": {
            "subscription": {
                "id": "sub-1",
                "status": status,
                "type": "channel.chat.message",
                "version": "1",
                "cost": 0,
                "condition": {"broadcaster_user_id": CHANNEL, "user_id": BOT_ID},
                "transport": {"method": "websocket", "session_id": "session-1"},
                "created_at": "2023-07-19T14:56:51.634234626Z",
            }
        },
    }


@pytest.mark.parametrize("status", ["authorization_revoked", "moderator_removed"])
def test_a_revocation_is_read_whatever_its_reason(status):
    """twitchio's enum knows three reasons; one it does not know must still reach the bot and
    close the socket left without subscriptions, not end the reader with a ValueError."""
    bot, _, _ = make_bot()
    bot.subscribed = True

    async def scenario() -> ChatSocket:
        socket = ChatSocket(bot=bot)
        socket._subscriptions = {"sub-1": {}}
        await socket._process_revocation(revocation(status))
        await asyncio.sleep(0.05)  # twitchio dispatches event_subscription_revoked as a task
        return socket

    socket = asyncio.run(scenario())
    assert (bot.revoked, bot.subscribed) == (status, False)
    assert socket._subscriptions == {} and socket.gone


@pytest.mark.parametrize(("announced", "used"), [(30, 30), (10, 10), (5, 10), (None, 10)])
def test_the_silence_watchdog_follows_the_welcomes_keepalive(announced, used):
    bot, _, _ = make_bot()

    async def scenario() -> int:
        socket = ChatSocket(bot=bot)
        socket._listen_task = asyncio.create_task(asyncio.sleep(0))
        welcome = {
            "metadata": {"message_id": "w-1", "message_type": "session_welcome"},
            "payload": {
                "session": {
                    "id": "session-1",
                    "status": "connected",
                    "connected_at": "2023-07-19T14:56:51.634234626Z",
                    "keepalive_timeout_seconds": announced,
                    "reconnect_url": None,
                }
            },
        }
        await socket._process_welcome(welcome)
        await socket._listen_task
        return socket.keep_alive_timeout

    assert asyncio.run(scenario()) == used
