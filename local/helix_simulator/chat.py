"""The Helix routes the chat bot uses, and a control endpoint that types chat as any chatter.

From Twitch's API reference and EventSub subscription types:

- `POST /helix/eventsub/subscriptions`: `channel.chat.message` v1 over a websocket session.
  A websocket transport takes a user access token (401 otherwise); the token must be the
  reading user's (`condition.user_id`) with `user:read:chat` (403 otherwise); 400 for a bad
  body, an unknown user or a session that does not exist; 409 for a duplicate; 202 with the
  subscription, `total`, `total_cost` and `max_total_cost`.
- `DELETE /helix/eventsub/subscriptions?id=`: 204; 404 when not found.
- `POST /helix/chat/messages` (`broadcaster_id`, `sender_id`, `message`): a user token must be
  the sender's, with `user:write:chat`; an app token needs `user:write:chat` and `user:bot`
  from the sender, and `channel:bot` from the broadcaster or the sender's moderator status.
  200 with `message_id`, `is_sent`, `drop_reason`; the message then comes back over EventSub
  like any chat message (with the Chat Bot badge when sent with the app token).
- `GET /helix/users?id=&login=` (at most 100 in all; none: the user token's own user).

The control endpoint `POST /_simulator/chat` (`broadcaster_id`, `user_id`, `user`, `text`,
`badges`: the chat log's line format) is not Twitch's: it is how the local stack and the tests
say something in chat. The event carries `fragments` (text, emote, mention) and `badges`
(`set_id`, `id`, `info`) as Twitch builds them.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from local.helix_simulator.eventsub import EventSubServer, SubscriptionRefused, rfc3339
from local.helix_simulator.state import HelixState, Request, Response, helix_error

CONTROL_CHAT_PATH = "/_simulator/chat"
DEMO_BOT_ID = "777001"
DEMO_BOT_LOGIN = "ByteBot"
CHAT_MESSAGE = "channel.chat.message"
READ_CHAT, WRITE_CHAT, USER_BOT, CHANNEL_BOT = (
    "user:read:chat",
    "user:write:chat",
    "user:bot",
    "channel:bot",
)
MAX_MESSAGE = 500
MAX_WEBSOCKET_COST = 10
# Global emotes by name (Twitch's ids), so fragments name them like Twitch does.
EMOTES = {
    "Kappa": "25",
    "PogChamp": "305954156",
    "LUL": "425618",
    "Kreygasm": "41",
    "BibleThump": "86",
    "HeyGuys": "30259",
    "SeemsGood": "64138",
    "VoHiYo": "81274",
    "NotLikeThis": "58765",
    "ResidentSleeper": "245",
    "4Head": "354",
    "WutFace": "28087",
}
# set_id -> (id, info) of the badge version chat shows.
BADGES = {
    "broadcaster": ("1", ""),
    "moderator": ("1", ""),
    "vip": ("1", ""),
    "subscriber": ("12", "16"),
    "bot-badge": ("1", ""),
}
_TOKENS = re.compile(r"\s+|\S+")


class TokenView(Protocol):
    """What a route reads of the caller's token (`HelixState` checked it already)."""

    client_id: str
    user_id: str | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Chatter:
    user_id: str
    login: str
    name: str


@dataclass(frozen=True)
class SentChat:
    """A `POST /helix/chat/messages` Twitch accepted."""

    at: float
    broadcaster_id: str
    sender_id: str
    text: str
    token: Literal["user", "app"]
    message_id: str


def fragments(text: str, mentions: Mapping[str, Chatter]) -> list[dict[str, Any]]:
    """`message.fragments`: runs of text, and each emote and @mention on its own."""
    parts: list[dict[str, Any]] = []
    plain = ""

    def fragment(kind: str, value: str, **detail: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"cheermote": None, "emote": None, "mention": None}
        return {"type": kind, "text": value, **base, **detail}

    for token in _TOKENS.findall(text):
        mention = mentions.get(token[1:].lower()) if token.startswith("@") else None
        if token in EMOTES or mention is not None:
            if plain:
                parts.append(fragment("text", plain))
                plain = ""
            if mention is not None:
                detail = {
                    "user_id": mention.user_id,
                    "user_login": mention.login,
                    "user_name": mention.name,
                }
                parts.append(fragment("mention", token, mention=detail))
            else:
                emote = {
                    "id": EMOTES[token],
                    "emote_set_id": "0",
                    "owner_id": "0",
                    "format": ["static"],
                }
                parts.append(fragment("emote", token, emote=emote))
        else:
            plain += token
    if plain:
        parts.append(fragment("text", plain))
    return parts


def badge_list(set_ids: Iterable[str]) -> list[dict[str, str]]:
    badges = []
    for set_id in dict.fromkeys(set_ids):
        version, info = BADGES.get(set_id, ("1", ""))
        badges.append({"set_id": set_id, "id": version, "info": info})
    return badges


def chat_event(
    broadcaster: Chatter,
    chatter: Chatter,
    text: str,
    badges: Iterable[str],
    *,
    message_id: str,
    mentions: Mapping[str, Chatter] | None = None,
) -> dict[str, Any]:
    """A `channel.chat.message` v1 event as Twitch sends it (no shared chat, no cheer)."""
    return {
        "broadcaster_user_id": broadcaster.user_id,
        "broadcaster_user_login": broadcaster.login,
        "broadcaster_user_name": broadcaster.name,
        "source_broadcaster_user_id": None,
        "source_broadcaster_user_login": None,
        "source_broadcaster_user_name": None,
        "chatter_user_id": chatter.user_id,
        "chatter_user_login": chatter.login,
        "chatter_user_name": chatter.name,
        "message_id": message_id,
        "source_message_id": None,
        "is_source_only": None,
        "message": {"text": text, "fragments": fragments(text, mentions or {})},
        "color": "#1E90FF",
        "badges": badge_list(badges),
        "source_badges": None,
        "message_type": "text",
        "cheer": None,
        "reply": None,
        "channel_points_custom_reward_id": None,
        "channel_points_animation_id": None,
    }


def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class ChatSimulator:
    """Chat on the simulator: the Helix routes above, chat roles, and who said what."""

    def __init__(
        self, state: HelixState, eventsub: EventSubServer, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._state = state
        self._eventsub = eventsub
        self._clock = clock
        self._lock = threading.Lock()
        self._roles: dict[tuple[str, str], frozenset[str]] = {}
        self._sent: list[SentChat] = []
        self._listeners: list[Callable[[SentChat], None]] = []

    def install(self) -> None:
        self._state.add_routes(
            {
                ("POST", "/helix/eventsub/subscriptions"): self._create_subscription,
                ("DELETE", "/helix/eventsub/subscriptions"): self._delete_subscription,
                ("POST", "/helix/chat/messages"): self._send_chat_message,
                ("GET", "/helix/users"): self._get_users,
            },
            helix=True,
        )
        self._state.add_routes({("POST", CONTROL_CHAT_PATH): self._control_chat}, helix=False)

    # ------------------------------------------------------------------ setup and reading

    def add_bot(
        self,
        client_id: str,
        *,
        user_id: str = DEMO_BOT_ID,
        login: str = DEMO_BOT_LOGIN,
        scopes: Collection[str] = (READ_CHAT, WRITE_CHAT, USER_BOT),
        moderator_in: str | None = None,
    ) -> tuple[str, str]:
        """A chat bot account that granted `scopes` to the app (optionally a moderator in a
        channel); returns its access and refresh tokens."""
        tokens = self._state.add_user(user_id, login, client_id=client_id, scopes=scopes)
        if moderator_in is not None:
            self.set_roles(moderator_in, user_id, {"moderator"})
        return tokens

    def set_roles(self, broadcaster_id: str, user_id: str, roles: Collection[str]) -> None:
        """Chat roles in a channel (`moderator`, `vip`, `subscriber`): they give the badges of
        the user's own messages, and a moderator may send with the app token."""
        with self._lock:
            self._roles[(broadcaster_id, user_id)] = frozenset(roles)

    def roles(self, broadcaster_id: str, user_id: str) -> frozenset[str]:
        with self._lock:
            roles = self._roles.get((broadcaster_id, user_id), frozenset())
        return roles | {"broadcaster"} if broadcaster_id == user_id else roles

    @property
    def sent(self) -> list[SentChat]:
        """Every chat message an app sent through `POST /helix/chat/messages`, oldest first."""
        with self._lock:
            return list(self._sent)

    def on_sent(self, listener: Callable[[SentChat], None]) -> None:
        """Call `listener` (on the HTTP thread) for every message an app sends."""
        with self._lock:
            self._listeners.append(listener)

    # ------------------------------------------------------------------ saying things

    def say(
        self,
        broadcaster_id: str,
        user_id: str,
        text: str,
        *,
        user: str | None = None,
        badges: Iterable[str] | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """`user_id` says `text` in the channel: a `channel.chat.message` to every session
        subscribed to it. `badges` default to the user's roles there."""
        login = self._state.user_login(broadcaster_id) or f"user{broadcaster_id}"
        broadcaster = Chatter(broadcaster_id, login.lower(), login)
        name = user or self._state.user_login(user_id) or f"user{user_id}"
        chatter = Chatter(user_id, name.lower(), name)
        chosen = self.roles(broadcaster_id, user_id) if badges is None else badges
        message_id = message_id or str(uuid.uuid4())
        mentions = {m: c for m in _mentioned(text) if (c := self._chatter_by_login(m))}
        event = chat_event(
            broadcaster, chatter, text, _ordered(chosen), message_id=message_id, mentions=mentions
        )
        delivered = self._eventsub.notify(
            CHAT_MESSAGE, event, {"broadcaster_user_id": broadcaster_id}
        )
        return {"message_id": message_id, "delivered": delivered}

    def _chatter_by_login(self, login: str) -> Chatter | None:
        user_id = self._state.user_id_for(login)
        if user_id is None:
            return None
        name = self._state.user_login(user_id) or login
        return Chatter(user_id, name.lower(), name)

    def _control_chat(self, request: Request, now: float) -> Response:
        body = _body(request)
        if body is None:
            return helix_error(400, "The body must be a JSON object.")
        broadcaster_id, user_id = _text(body.get("broadcaster_id")), _text(body.get("user_id"))
        text = body.get("text")
        badges = body.get("badges", [])
        if not (broadcaster_id.isdigit() and user_id.isdigit() and isinstance(text, str)):
            return helix_error(400, "broadcaster_id and user_id (numeric) and text are required.")
        if not isinstance(badges, list) or not all(isinstance(b, str) for b in badges):
            return helix_error(400, "badges must be a list of badge set ids.")
        user = _text(body.get("user")) or None
        said = self.say(broadcaster_id, user_id, text, user=user, badges=badges)
        return Response(200, {"data": [said]})

    # ------------------------------------------------------------------ Helix routes

    def _create_subscription(self, request: Request, token: TokenView, now: float) -> Response:
        body = _body(request)
        if body is None:
            return helix_error(400, "The request body is not valid JSON.")
        type_, version = _text(body.get("type")), _text(body.get("version"))
        condition, transport = body.get("condition"), body.get("transport")
        if not isinstance(condition, dict) or not condition:
            return helix_error(400, "The condition field is required.")
        if not isinstance(transport, dict) or not type_ or not version:
            return helix_error(400, "The type, version and transport fields are required.")
        if transport.get("method") != "websocket":
            return helix_error(400, "The transport's method field is not valid.")
        if token.user_id is None:
            return helix_error(
                401,
                "The Authorization header is required and must specify a user access token "
                "if the transport method is websocket.",
            )
        if (type_, version) != (CHAT_MESSAGE, "1"):
            return helix_error(
                400, "The combination of values in the version and type fields is not valid."
            )
        broadcaster_id = _text(condition.get("broadcaster_user_id"))
        user_id = _text(condition.get("user_id"))
        if not (broadcaster_id and user_id):
            return helix_error(400, "The condition object is missing one or more required fields.")
        if (
            self._state.user_login(broadcaster_id) is None
            or self._state.user_login(user_id) is None
        ):
            return helix_error(400, "The user specified in the condition object does not exist.")
        if token.user_id != user_id or READ_CHAT not in token.scopes:
            return helix_error(403, "The access token is missing the required scopes.")
        session_id = _text(transport.get("session_id"))
        if not session_id:
            return helix_error(400, "The transport's session_id field is not valid.")
        try:
            sub, total, connected_at = self._eventsub.create_subscription(
                client_id=token.client_id,
                user_id=user_id,
                type_=type_,
                version=version,
                condition={"broadcaster_user_id": broadcaster_id, "user_id": user_id},
                session_id=session_id,
            )
        except SubscriptionRefused as refused:
            return helix_error(refused.status, refused.message)
        data = sub.json()
        data["transport"]["connected_at"] = rfc3339(connected_at)
        return Response(
            202,
            {
                "data": [data],
                "total": total,
                "total_cost": 0,
                "max_total_cost": MAX_WEBSOCKET_COST,
            },
        )

    def _delete_subscription(self, request: Request, token: TokenView, now: float) -> Response:
        ids = [value for value in request.query.get("id", []) if value]
        if not ids:
            return helix_error(400, "The id query parameter is required.")
        found = self._eventsub.delete_subscription(
            ids[0], client_id=token.client_id, user_id=token.user_id or ""
        )
        if not found:
            return helix_error(404, "The subscription was not found.")
        return Response(204, None)

    def _send_chat_message(self, request: Request, token: TokenView, now: float) -> Response:
        body = _body(request)
        if body is None:
            return helix_error(400, "The request body is not valid JSON.")
        broadcaster_id = _text(body.get("broadcaster_id"))
        sender_id = _text(body.get("sender_id"))
        message = body.get("message")
        if not broadcaster_id:
            return helix_error(400, "The broadcaster_id field is required.")
        if not sender_id:
            return helix_error(400, "The sender_id field is required.")
        if not isinstance(message, str) or not message.strip():
            return helix_error(400, "The message field is required.")
        if len(message) > MAX_MESSAGE:
            return helix_error(422, "The message is too large.")
        if self._state.user_login(broadcaster_id) is None:
            return helix_error(400, "The ID in broadcaster_id is not valid.")
        if self._state.user_login(sender_id) is None:
            return helix_error(400, "The ID in sender_id is not valid.")
        kind: Literal["user", "app"]
        if token.user_id is not None:
            if token.user_id != sender_id:
                return helix_error(
                    401, "The sender_id must match the user ID in the user access token."
                )
            if WRITE_CHAT not in token.scopes:
                return helix_error(401, f"The user access token is missing the {WRITE_CHAT} scope.")
            kind = "user"
        else:
            sender_granted = self._state.granted_scopes(token.client_id, sender_id)
            if not {WRITE_CHAT, USER_BOT} <= sender_granted:
                return helix_error(
                    401, f"The sender has not granted {WRITE_CHAT} and {USER_BOT} to this app."
                )
            channel_granted = self._state.granted_scopes(token.client_id, broadcaster_id)
            moderator = "moderator" in self.roles(broadcaster_id, sender_id)
            if CHANNEL_BOT not in channel_granted and not moderator and sender_id != broadcaster_id:
                return helix_error(
                    403,
                    "The sender is not permitted to send chat messages to the broadcaster's "
                    "chat room.",
                )
            kind = "app"
        sent = SentChat(now, broadcaster_id, sender_id, message, kind, str(uuid.uuid4()))
        with self._lock:
            self._sent.append(sent)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(sent)
        badges = _ordered(self.roles(broadcaster_id, sender_id))
        if kind == "app":
            badges.append("bot-badge")
        self.say(broadcaster_id, sender_id, message, badges=badges, message_id=sent.message_id)
        return Response(
            200, {"data": [{"message_id": sent.message_id, "is_sent": True, "drop_reason": None}]}
        )

    def _get_users(self, request: Request, token: TokenView, now: float) -> Response:
        ids = [value for value in request.query.get("id", []) if value]
        logins = [value for value in request.query.get("login", []) if value]
        if len(ids) + len(logins) > 100:
            return helix_error(400, "Specify at most 100 id and login query parameters in all.")
        if not ids and not logins:
            if token.user_id is None:
                return helix_error(
                    400,
                    "The id or login query parameter is required unless the request uses a "
                    "user access token.",
                )
            ids = [token.user_id]
        found = dict.fromkeys(ids)
        for wanted in logins:
            match = self._state.user_id_for(wanted)
            if match is not None:
                found[match] = None
        data = []
        for user_id in found:
            login = self._state.user_login(user_id)
            if login is None:
                continue
            user: dict[str, Any] = {
                "id": user_id,
                "login": login.lower(),
                "display_name": login,
                "type": "",
                "broadcaster_type": "",
                "description": "",
                "profile_image_url": (
                    f"https://static-cdn.jtvnw.net/jtv_user_pictures/{login.lower()}-300x300.png"
                ),
                "offline_image_url": "",
                "view_count": 0,
                "created_at": "2020-01-01T00:00:00Z",
            }
            if token.user_id == user_id and "user:read:email" in token.scopes:
                user["email"] = f"{login.lower()}@example.invalid"
            data.append(user)
        return Response(200, {"data": data})


def _mentioned(text: str) -> set[str]:
    return {token[1:].lower() for token in text.split() if token.startswith("@") and len(token) > 1}


def _ordered(roles: Iterable[str]) -> list[str]:
    """Badges in chat's order: broadcaster, moderator, vip, then the rest."""
    rank = {"broadcaster": 0, "moderator": 1, "vip": 2}
    return sorted(dict.fromkeys(roles), key=lambda role: (rank.get(role, 3), role))
