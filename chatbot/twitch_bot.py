"""The twitchio 3 edge: EventSub `channel.chat.message` in, chat replies out.

A `commands.Bot` that reads chat with the bot account's user token over an EventSub
websocket and turns every `ChatMessage` into a `ChatLine` for `ChatRuntime.handle` — the same
pipeline a replay uses. `!clip` is handled there, in pure code, not by twitchio's command
machinery (see `detectors/clip_command.py` for why), so `event_message` does not call
`process_commands`.

Tokens: the bot account's token comes from `twitch_tokens/{bot user id}` (never a local
file: load/save of `.tio.tokens.json` is off). twitchio validates it when added at start-up,
refreshes it when it expires within the hour, and re-validates it hourly in its own loop.
The bot owns that token's refresh (`refresh_owner: chatbot`), and every refresh twitchio
makes goes through the store's refresh lease (`TwitchTokenStore.refresh`), so it never races
another process for a refresh token Twitch rotates: when someone else already renewed the
pair, twitchio gets the stored one and Twitch is not asked. Replies use the app token when
the broadcaster granted `channel:bot` (Twitch then shows the Chat Bot badge), else the bot's
user token. A reply Twitch answers with `is_sent: false` is logged with its `drop_reason` code
and counted as not sent (never retried).

Reconnects: the EventSub websocket is twitchio's, repaired where 3.3.2 loses chat
(`ChatSocket`): a `session_reconnect` hands over without dropping what the old connection
still holds, a silent connection (missed keepalives) is redialled with the project's backoff,
a notification Twitch delivers twice is handled once, a chat message that leaves out a
field Twitch documents as nullable is read as if it were null, and one twitchio cannot read at
all is logged and skipped. The silence watchdog follows the welcome's
`keepalive_timeout_seconds`. When a socket is gone for good
(revoked subscription, failed reconnect) the supervisor subscribes again with backoff, and
`LinkState` says why in `/healthz`. Where twitchio connects is set in one place,
`chatbot/twitch_endpoints.py`. On SIGTERM, `stop_chat` deletes the subscription (Twitch stops
sending), handles what is still arriving, and only then closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import json
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from twitchio import eventsub
from twitchio.authentication.payloads import RefreshTokenPayload
from twitchio.eventsub.websockets import Websocket
from twitchio.exceptions import HTTPException, MessageRejectedError
from twitchio.ext import commands

from chatbot.chat_line import ChatLine, Fragment, roles_from_badges, without_reply_mention
from chatbot.link_state import LinkState, reconnect_delay
from chatbot.runtime import ChatRuntime
from chatbot.vod import LatestArchive, StreamArchive
from shared.domain.clock import utc_now
from shared.domain.errors import ClipError
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CHANNEL_BOT, CHAT_BOT
from shared.logs import register_secret
from shared.store.twitch_tokens import CHATBOT, TokenRefreshBusy, TwitchTokenStore

logger = logging.getLogger(__name__)

READ_SCOPE, WRITE_SCOPE, BOT_SCOPE = CHAT_BOT
SUPERVISE_SECONDS = 5.0
ARCHIVE_REFRESH_SECONDS = 60.0
TWITCH_REFRESH_TIMEOUT = 30.0
# Reading a connection until it has been quiet this long (at most the limit): the old one at a
# session_reconnect hand-over, every one at shutdown once the subscription is deleted.
QUIET_SECONDS = 0.3
HANDOVER_LIMIT_SECONDS = 5.0
STOP_LIMIT_SECONDS = 2.5
UNSUBSCRIBE_TIMEOUT = 2.0
RECENT_NOTIFICATIONS = 2000  # EventSub message ids kept to drop a redelivered notification
# The Channel Chat Message event fields Twitch documents as null when they do not apply, and
# their value then. twitchio 3.3.2 indexes them (a missing one loses the message): one left
# out by the sender is read as not applying.
CHAT_EVENT_ABSENT: dict[str, Any] = {
    "color": "",
    "badges": [],
    "message_type": "text",
    "cheer": None,
    "reply": None,
    "channel_points_custom_reward_id": None,
    "channel_points_animation_id": None,
    "source_broadcaster_user_id": None,
    "source_broadcaster_user_login": None,
    "source_broadcaster_user_name": None,
    "source_message_id": None,
    "source_badges": None,
    "is_source_only": None,
}
KEEPALIVE_RANGE = (10, 600)  # keepalive_timeout_seconds Twitch accepts


class BotNotConnected(RuntimeError):
    """The bot account has no usable token: connect it (python -m chatbot.connect bot)."""


class ReplyNotSent(RuntimeError):
    """Twitch answered Send Chat Message with `is_sent: false`: the reply is not in chat
    (`code` is Twitch's `drop_reason.code`, empty when it gave none)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Twitch dropped the chat reply ({code or 'no reason given'})")
        self.code = code


def with_absent_fields(data: Any) -> Any:
    """A `channel.chat.message` notification with every nullable event field present (and
    `badges` a list even when sent as null)."""
    if data.get("metadata", {}).get("subscription_type") != "channel.chat.message":
        return data
    event = data.get("payload", {}).get("event")
    if isinstance(event, dict):
        for key, absent in CHAT_EVENT_ABSENT.items():
            event.setdefault(key, copy.copy(absent))
        event["badges"] = event["badges"] or []
    return data


def chat_line_from_message(
    message: Any, *, now: Callable[[], float] = time.time
) -> ChatLine | None:
    """A twitchio `ChatMessage` as a ChatLine; None for messages from another channel of a
    shared chat session (they react to someone else's stream)."""
    source = message.source_broadcaster
    if source is not None and source.id != message.broadcaster.id:
        return None
    stamp = message.timestamp
    chatter = message.chatter
    text, fragments = without_reply_mention(
        message.text or "",
        tuple(_fragment(part) for part in getattr(message, "fragments", None) or ()),
        _replied_to(getattr(message, "reply", None)),
    )
    return ChatLine(
        ts=stamp.timestamp() if stamp is not None else now(),
        broadcaster_id=str(message.broadcaster.id),
        user_id=str(chatter.id),
        user=chatter.display_name or chatter.name or str(chatter.id),
        text=text,
        roles=roles_from_badges(badge.set_id for badge in message.badges),
        message_id=message.id or "",
        login=chatter.name or "",
        fragments=fragments,
    )


def _replied_to(reply: Any) -> list[str]:
    """The names a reply's leading mention may carry: the parent's and the thread's chatter."""
    if reply is None:
        return []
    users = (getattr(reply, "parent_user", None), getattr(reply, "thread_user", None))
    return [
        str(name)
        for user in users
        if user is not None
        for name in (getattr(user, "name", None), getattr(user, "display_name", None))
        if name
    ]


def _fragment(part: Any) -> Fragment:
    """EventSub's message fragment as the detectors read it (an emote keeps its owner)."""
    emote = getattr(part, "emote", None)
    owner = getattr(emote, "owner", None) if emote is not None else None
    return Fragment(
        str(getattr(part, "type", "text")),
        str(getattr(part, "text", "") or ""),
        str(getattr(emote, "id", "") or "") if emote is not None else "",
        str(getattr(owner, "id", "") or "") if owner is not None else "",
    )


@dataclass(frozen=True)
class RevokedSubscription:
    """What the bot reads of a revocation twitchio could not parse."""

    id: str
    reason: str


class ReconnectBackoff:
    """twitchio's reconnect waits on the project's backoff (about 2 s, doubling to 120 s,
    jittered); back to the first wait once a connection is welcomed."""

    def __init__(self, rand: Callable[[], float] = random.random) -> None:
        self.attempt = 0
        self._rand = rand

    def calculate(self) -> float:
        delay = reconnect_delay(self.attempt, rand=self._rand())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


class ChatSocket(Websocket):
    """twitchio 3.3.2's EventSub websocket, repaired where it loses or hides chat.

    - `session_reconnect`: twitchio closes the old connection as soon as the new one is
      welcomed, discarding what it still holds, while Twitch sends events to the old one until
      then. Here the old connection is read until it is quiet, then closed.
    - A connection found silent is redialled with `ReconnectBackoff`, and `healthy` is False
      meanwhile (twitchio's `connected` stays True: the silent socket is still open).
    - After such a redial twitchio files the socket under its old session id; it is filed under
      the new one, so that closing it later really removes it from the bot.
    - Every notification read is reported to the bot, which drops one delivered twice.
    """

    def __init__(self, *, bot: ByteChatBot, **options: Any) -> None:
        super().__init__(client=bot, token_for=bot.bot_id, http=bot._http, **options)
        self._bot = bot
        self._backoff: ReconnectBackoff = ReconnectBackoff()  # type: ignore[assignment]

    @property
    def healthy(self) -> bool:
        return self.connected and not self._connecting and not self._closed

    @property
    def gone(self) -> bool:
        """Closed for good: twitchio will not bring it back."""
        return self._closed

    async def _process_welcome(self, data: Any) -> None:
        """The welcome's `keepalive_timeout_seconds` is how long Twitch may stay silent on this
        connection: the silence watchdog follows it, not only what the URL asked for."""
        keepalive = data.get("payload", {}).get("session", {}).get("keepalive_timeout_seconds")
        low, high = KEEPALIVE_RANGE
        if isinstance(keepalive, int) and not isinstance(keepalive, bool):
            self._keep_alive_timeout = max(low, min(keepalive, high))
        await super()._process_welcome(data)
        self._backoff.reset()
        sockets = self._bot._websockets.get(self._token_for or "")
        if sockets is not None and any(s is self for s in sockets.values()):
            for key in [k for k, s in sockets.items() if s is self and k != self.session_id]:
                del sockets[key]
            sockets[self.session_id or ""] = self

    async def _process_notification(self, data: Any) -> None:
        """One notification to the bot, once; one twitchio cannot read is logged and skipped
        (never ends the reader, here or during a hand-over)."""
        metadata = data.get("metadata", {})
        if not self._bot.first_delivery(metadata.get("message_id")):
            return
        try:
            await super()._process_notification(with_absent_fields(data))
        except Exception as error:
            self._bot.unreadable += 1
            logger.warning(
                "EventSub notification could not be read; skipped",
                extra={
                    "subscription_type": metadata.get("subscription_type"),
                    "error_type": type(error).__name__,
                },
            )

    async def _process_revocation(self, data: Any) -> None:
        """twitchio reads only the revocation reasons it has in its enum; a reason it does not
        know (Twitch lists more subscription statuses than the three it documents for
        revocations) is still a revocation, not the end of the reader."""
        try:
            await super()._process_revocation(data)
        except (KeyError, TypeError, ValueError):
            subscription = data.get("payload", {}).get("subscription", {})
            revoked = RevokedSubscription(
                id=str(subscription.get("id")), reason=str(subscription.get("status"))
            )
            self._bot.dispatch("subscription_revoked", payload=revoked)
            self._subscriptions.pop(revoked.id, None)
            if not self._subscriptions:
                await self.close()

    async def _reconnect(self, url: str) -> None:
        """twitchio's hand-over, reading the old connection until quiet before closing it."""
        successor = ChatSocket(
            bot=self._bot,
            keep_alive_timeout=self._keep_alive_timeout,
            reconnect_attempts=self._original_attempts,
        )
        successor._subscriptions = self._subscriptions
        try:
            await successor.connect(url=url, reconnect=False, fail_once=True)
        except Exception:
            logger.warning("EventSub reconnect URL failed; connecting afresh and resubscribing")
            return await self.connect(reconnect=True)
        self._bot._websockets[self._token_for or ""][successor.session_id or ""] = successor
        handled = await self.read_until_quiet(QUIET_SECONDS, HANDOVER_LIMIT_SECONDS)
        logger.info("EventSub session handed over", extra={"read_after_welcome": handled})
        await self.close()

    async def read_until_quiet(self, quiet: float, limit: float) -> int:
        """Handle the notifications this connection still receives until it is quiet for
        `quiet` seconds (at most `limit`). Only while nothing else reads it."""
        socket = self._socket
        handled = 0
        deadline = time.monotonic() + limit
        while socket is not None and not socket.closed and time.monotonic() < deadline:
            try:
                message = await socket.receive(timeout=quiet)
            except TimeoutError:
                break
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            self._last_keepalive = datetime.datetime.now()  # as twitchio's reader would
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            if data.get("metadata", {}).get("message_type") == "notification":
                await self._process_notification(data)
                handled += 1
        return handled


class ByteChatBot(commands.Bot):
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        bot_id: str,
        broadcaster_id: str,
        runtime: ChatRuntime,
        tokens: TwitchTokenStore,
        link: LinkState,
        archive: LatestArchive | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            bot_id=bot_id,
            prefix="!",
            fetch_client_user=False,
        )
        self.broadcaster_id = broadcaster_id
        self.runtime = runtime
        self.tokens_store = tokens
        self.link = link
        self._clock = clock
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._reply_token_for: str | None = bot_id
        self.replies_ok = False
        self.token_loaded = False
        self.reply_mode = "not checked yet"
        self.archive = archive or LatestArchive()
        self._sent_ids: deque[str] = deque(maxlen=200)
        self._deliveries: OrderedDict[str, None] = OrderedDict()
        self.received = 0
        self.duplicates = 0
        self.unreadable = 0
        self.last_heard = -float("inf")
        self.revoked: str | None = None
        self.subscribed = False  # a socket's welcome alone is not a connected chat
        self._wake = asyncio.Event()
        self._route_refresh_through_store()

    # ------------------------------------------------------------------ token refresh

    def _route_refresh_through_store(self) -> None:
        """twitchio renews user tokens through one private OAuth client (on add, on a 401 and
        in its validation loop); wrap that call so each renewal takes the store's lease."""
        oauth = getattr(self._http, "_ManagedHTTPClient__isolated", None)
        if oauth is None or not callable(getattr(oauth, "refresh_token", None)):
            raise RuntimeError(
                "this twitchio version renews tokens differently: pin the one in "
                "requirements.txt so the bot's refreshes go through the token store"
            )
        twitch_refresh = oauth.refresh_token

        async def refresh_token(refresh_token: str, /) -> RefreshTokenPayload:
            return await self.refresh_under_lease(refresh_token, twitch_refresh)

        oauth.refresh_token = refresh_token

    async def refresh_under_lease(
        self, spent: str, twitch_refresh: Callable[[str], Any]
    ) -> RefreshTokenPayload:
        """The bot token's renewal as twitchio asks for it, made by `TwitchTokenStore.refresh`:
        Twitch is called (by twitchio's own client) only by the lease holder and only if the
        stored pair is still the one twitchio holds. Store failures become twitchio's
        HTTPException (5xx: try later; 4xx: the token is dropped and /healthz says so)."""
        loop = asyncio.get_running_loop()

        def renew(refresh_token: str) -> TokenGrant:
            future = asyncio.run_coroutine_threadsafe(twitch_refresh(refresh_token), loop)
            payload = future.result(TWITCH_REFRESH_TIMEOUT)
            scope = payload.scope
            scopes = tuple(scope.split() if isinstance(scope, str) else scope or ())
            register_secret(payload.access_token)
            register_secret(payload.refresh_token)
            return TokenGrant(
                payload.access_token, payload.refresh_token, payload.expires_in, scopes
            )

        try:
            stored = await asyncio.to_thread(
                self.tokens_store.refresh,
                self.bot_id,
                refresher=renew,
                worker=f"chatbot-{self.bot_id}",
                spent_refresh=spent,
            )
        except HTTPException:
            raise
        except ClipError as error:
            status = 503 if isinstance(error, TokenRefreshBusy) else 400
            raise HTTPException(error.operator_message, status=status, extra=error.code) from None
        except Exception as error:
            raise HTTPException(
                f"the token store failed ({type(error).__name__})", status=503, extra="store"
            ) from None
        register_secret(stored.access_token)
        register_secret(stored.refresh_token)
        expires_in = 0
        if stored.expires_at is not None:
            expires_in = max(0, int((stored.expires_at - utc_now()).total_seconds()))
        return RefreshTokenPayload(
            {
                "access_token": stored.access_token,
                "refresh_token": stored.refresh_token or "",
                "expires_in": expires_in,
                "scope": list(stored.scopes),
                "token_type": "bearer",
            }
        )

    # ------------------------------------------------------------------ start-up

    async def setup_hook(self) -> None:
        await self.load_bot_token()
        await self.subscribe_chat()
        self._tasks = [
            asyncio.create_task(self._supervise(), name="chat-supervisor"),
            asyncio.create_task(self._track_archive(), name="chat-archive"),
        ]

    async def load_bot_token(self) -> None:
        """Bot token from Firestore into twitchio, which validates (and refreshes) it."""
        stored = await asyncio.to_thread(self.tokens_store.get, self.bot_id)
        if stored is None:
            raise BotNotConnected(
                f"no Twitch token is stored for the bot account {self.bot_id}: "
                "run `python -m chatbot.connect bot` and sign in as the bot"
            )
        register_secret(stored.access_token)
        register_secret(stored.refresh_token)
        if stored.refresh_owner != CHATBOT:
            await asyncio.to_thread(self.tokens_store.claim_refresh, self.bot_id, CHATBOT)
        validated = await self.add_token(stored.access_token, stored.refresh_token or "")
        scopes = set(validated.scopes or ())
        if validated.user_id and validated.user_id != self.bot_id:
            raise BotNotConnected(
                f"the token stored for {self.bot_id} belongs to user {validated.user_id}"
            )
        if READ_SCOPE not in scopes:
            raise BotNotConnected(f"the bot token lacks {READ_SCOPE}: connect the bot again")
        self.token_loaded = True
        self.replies_ok = WRITE_SCOPE in scopes
        broadcaster = await asyncio.to_thread(self.tokens_store.get, self.broadcaster_id)
        channel_bot = broadcaster is not None and CHANNEL_BOT in broadcaster.scopes
        if not self.replies_ok:
            self.reply_mode = f"off: the bot token lacks {WRITE_SCOPE}"
        elif channel_bot and BOT_SCOPE in scopes:
            self._reply_token_for = None
            self.reply_mode = "app token (broadcaster granted channel:bot: Chat Bot badge)"
        else:
            self._reply_token_for = self.bot_id
            self.reply_mode = "bot user token (no channel:bot from the broadcaster)"
        logger.info(
            "bot token validated",
            extra={
                "bot_login": validated.login,
                "expires_in": validated.expires_in,
                "scopes": sorted(scopes),
                "reply_mode": self.reply_mode,
            },
        )

    def token_status(self) -> str:
        """For `/healthz`: when twitchio last validated the bot token, or why it has none."""
        if not self.token_loaded:
            return "not loaded yet"
        data = self.tokens.get(self.bot_id)
        if data is None:
            return "dropped after a failed refresh: run `python -m chatbot.connect bot`"
        return f"valid, last validated {data['last_validated']}"

    async def event_ready(self) -> None:
        if self.bot_id == self.broadcaster_id:
            self.runtime.outbox.set_privileged(True)  # the broadcaster's own limit

    async def subscribe_chat(self) -> None:
        """Subscribe to the channel's chat on a `ChatSocket` (a new one when none is open)."""
        sockets = self._websockets[self.bot_id]
        socket_id = next((key for key, s in sockets.items() if s.connected), None)
        fresh: ChatSocket | None = None
        if socket_id is None:
            fresh = ChatSocket(bot=self)
            await fresh.connect(fail_once=True)
            socket_id = fresh.session_id or ""
            self._websockets[self.bot_id] = {socket_id: fresh}
        payload = eventsub.ChatMessageSubscription(
            broadcaster_user_id=self.broadcaster_id, user_id=self.bot_id
        )
        try:
            await self.subscribe_websocket(payload, socket_id=socket_id)
        except BaseException:
            if fresh is not None:
                await fresh.close()
            raise
        self.revoked = None
        self.subscribed = True
        self.link.connected(self._clock())
        logger.info("chat subscribed", extra={"broadcaster_id": self.broadcaster_id})

    def first_delivery(self, message_id: str | None) -> bool:
        """Count a notification read from Twitch; False when it was delivered before (Twitch
        delivers at least once and keeps the message id when it sends one again)."""
        self.received += 1
        self.last_heard = time.monotonic()
        if not message_id:
            return True
        if message_id in self._deliveries:
            self.duplicates += 1
            return False
        self._deliveries[message_id] = None
        if len(self._deliveries) > RECENT_NOTIFICATIONS:
            self._deliveries.popitem(last=False)
        return True

    # ------------------------------------------------------------------ events

    def is_own(self, line: ChatLine) -> bool:
        """Whether the bot sent this message. When the bot runs on the broadcaster's own
        account, the user id alone cannot tell, so the ids of sent messages decide."""
        if line.user_id != self.bot_id:
            return False
        return self.bot_id != self.broadcaster_id or line.message_id in self._sent_ids

    async def event_message(self, payload: Any) -> None:
        """Every chat message (ours included: its badges set our send limit)."""
        line = chat_line_from_message(payload)
        if line is not None and line.broadcaster_id == self.broadcaster_id:
            self.runtime.handle(line, own=self.is_own(line))

    async def event_websocket_welcome(self, payload: Any) -> None:
        """A welcome on a socket twitchio reconnected (it subscribes again itself); the first
        socket's welcome comes before the subscription, which `subscribe_chat` reports."""
        if self.subscribed:
            self.link.connected(self._clock())

    async def event_websocket_closed(self, payload: Any) -> None:
        if not self._stopping and not self.connected():
            self.link.lost(self._clock(), self._down("EventSub websocket closed; reconnecting"))
        self._wake.set()

    async def event_subscription_revoked(self, payload: Any) -> None:
        """Twitch stopped the chat subscription; twitchio then closes the socket, and the
        supervisor subscribes again (failing while the reason holds, and saying so)."""
        reason = getattr(payload.reason, "value", str(payload.reason))
        self.revoked = reason
        self.subscribed = False
        logger.warning(
            "chat subscription revoked by Twitch",
            extra={"reason": reason, "subscription_id": payload.id},
        )
        self.link.lost(self._clock(), self._down("subscribing again"))
        self._wake.set()

    def _down(self, what: str) -> str:
        """A `/healthz` detail that keeps the revocation reason while it matters."""
        if self.revoked is None:
            return what
        return f"Twitch revoked the chat subscription ({self.revoked}); {what}"

    async def event_token_refreshed(self, payload: Any) -> None:
        """twitchio took a renewed pair; `refresh_under_lease` already stored it, so nothing
        is written here (a second write, outside the lease, could store a spent token)."""
        register_secret(payload.token)
        register_secret(payload.refresh_token)
        if str(payload.user_id) == self.bot_id:
            logger.info("bot token renewed (stored under the refresh lease)")

    # ------------------------------------------------------------------ replies

    async def send_reply(self, text: str) -> None:
        """Send one reply; raises when it did not reach chat, so the outbox counts it as failed
        (it never retries). Send Chat Message can answer 200 with `is_sent: false` and a
        `drop_reason`: twitchio raises MessageRejectedError when that reason has a code."""
        if not self.replies_ok:
            logger.info("reply not sent", extra={"why": self.reply_mode})
            return
        channel = self.create_partialuser(self.broadcaster_id)
        try:
            sent = await channel.send_message(
                text, sender=self.bot_id, token_for=self._reply_token_for
            )
        except HTTPException as error:
            logger.warning(
                "Twitch refused a chat reply",
                extra={"why": _error_summary(error), "reply_mode": self.reply_mode},
            )
            raise
        except MessageRejectedError as error:
            raise self._dropped(error.code, error.message) from None
        if sent is not None and getattr(sent, "sent", True) is False:
            raise self._dropped(
                getattr(sent, "dropped_code", None), getattr(sent, "dropped_message", None)
            )
        message_id = getattr(sent, "id", None)
        if message_id:
            self._sent_ids.append(message_id)

    def _dropped(self, code: str | None, message: str | None) -> ReplyNotSent:
        """Log Twitch's drop reason (its code and explanation, nothing of ours) once."""
        logger.warning(
            "Twitch dropped a chat reply",
            extra={
                "drop_code": code or "",
                "drop_message": message or "",
                "reply_mode": self.reply_mode,
            },
        )
        return ReplyNotSent(code or "")

    # ------------------------------------------------------------------ background

    def connected(self) -> bool:
        sockets = self._websockets.get(self.bot_id, {})
        return any(getattr(s, "healthy", s.connected) for s in sockets.values())

    async def _supervise(self) -> None:
        """Keep LinkState true, and subscribe again when twitchio gave a socket up."""
        attempt = 0
        rng = random.Random()
        failure = ""
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SUPERVISE_SECONDS)
            self._wake.clear()
            if self._stopping:
                break
            now = self._clock()
            if self.connected():
                if self.subscribed:  # otherwise the first subscription is still under way
                    self.link.connected(now)
                    attempt, failure = 0, ""
                continue
            sockets = self._websockets.get(self.bot_id, {})
            for key in [k for k, s in sockets.items() if getattr(s, "gone", False)]:
                del sockets[key]
            if sockets:
                self.link.lost(now, self._down("EventSub websocket reconnecting"))
                continue
            self.link.lost(now, self._down(f"no EventSub websocket: subscribing again{failure}"))
            await asyncio.sleep(reconnect_delay(attempt, rand=rng.random()))
            attempt += 1
            try:
                await self.subscribe_chat()
            except Exception as error:
                why = _error_summary(error)
                failure = f" (the last try failed: {why})"
                self.link.lost(self._clock(), self._down(f"subscribing again failed: {why}"))
                logger.warning(
                    "chat subscription failed; retrying with backoff",
                    extra={"attempt": attempt, "error_type": type(error).__name__, "why": why},
                )

    async def stop_chat(
        self, *, quiet: float = QUIET_SECONDS, limit: float = STOP_LIMIT_SECONDS
    ) -> None:
        """Stop reading chat without losing what Twitch already sent: delete the subscriptions
        (Twitch stops sending), then let the sockets' readers handle what still arrives until
        chat is quiet for `quiet` seconds (at most `limit`). Closing is `close()`'s job."""
        self._stopping = True
        self._wake.set()
        deadline = time.monotonic() + limit
        sockets = list(self._websockets.get(self.bot_id, {}).values())
        for subscription_id in [sid for s in sockets for sid in s._subscriptions]:
            try:
                await asyncio.wait_for(
                    self._http.delete_eventsub_subscription(subscription_id, token_for=self.bot_id),
                    UNSUBSCRIBE_TIMEOUT,
                )
            except Exception as error:
                logger.warning(
                    "could not delete the chat subscription at shutdown",
                    extra={"why": _error_summary(error)},
                )
        self.last_heard = max(self.last_heard, time.monotonic())
        while time.monotonic() < deadline and time.monotonic() - self.last_heard < quiet:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0)  # the handlers twitchio dispatched for the last ones run now

    async def _track_archive(self) -> None:
        """In VOD mode, keep the live stream's archive (id, start) for vod_offset; the
        Helix reads run here, never in the message handler."""
        while not self._stopping:
            if self.runtime.config.current().clips.clip_mode_default == "vod":
                try:
                    self.archive.set(await self.fetch_archive())
                except Exception as error:
                    logger.warning(
                        "could not look up the stream's VOD",
                        extra={"error_type": type(error).__name__},
                    )
            await asyncio.sleep(ARCHIVE_REFRESH_SECONDS)

    async def fetch_archive(self) -> StreamArchive | None:
        streams = [s async for s in self.fetch_streams(user_ids=[self.broadcaster_id], first=1)]
        if not streams:
            return None
        started = streams[0].started_at.timestamp()
        videos = self.fetch_videos(user_id=self.broadcaster_id, type="archive", first=5)
        async for video in videos:
            created = video.created_at.timestamp()
            if abs(created - started) <= 300:
                return StreamArchive(video.id, created)
        return None

    async def close(self, **options: Any) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await super().close(**options)


def _error_summary(error: BaseException) -> str:
    """Why a Twitch call failed, for `/healthz` and logs: the status and Twitch's message."""
    if isinstance(error, HTTPException):
        extra = error.extra if isinstance(error.extra, dict) else {}
        message = extra.get("message") or ""
        return f"HTTP {error.status}" + (f": {message}" if message else "")
    return type(error).__name__
