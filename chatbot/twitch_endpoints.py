"""The one place the chat bot points twitchio at Twitch, or at a stand-in for it
(docs/architecture.md §6.6).

twitchio 3.3.2 has no setting for its addresses. The Helix base and the OAuth host are class
attributes of `twitchio.http.Route` (`BASE`, `ID_BASE`: read when a request's route is built)
and the EventSub WebSocket address is the module global `WSS` of
`twitchio.eventsub.websockets` (read at every connect). `apply()` sets the three from
`TWITCH_API_BASE`, `TWITCH_AUTH_BASE` and `TWITCH_EVENTSUB_WS_URL`, whose defaults are
Twitch's, so the bot's chat follows the same settings as its clip-token check. If a twitchio
upgrade moves any of them, `apply()` raises instead of leaving chat on Twitch while the rest
of the bot talks to the simulator (tests/test_chatbot_eventsub_e2e.py checks it against a
real socket).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.twitch.helix_clips import DEFAULT_API_BASE, DEFAULT_AUTH_BASE

logger = logging.getLogger(__name__)

API_ENV = "TWITCH_API_BASE"
AUTH_ENV = "TWITCH_AUTH_BASE"
EVENTSUB_ENV = "TWITCH_EVENTSUB_WS_URL"
DEFAULT_EVENTSUB_WS_URL = "wss://eventsub.wss.twitch.tv/ws"
TWITCHIO_PIN = "3.3.2"  # requirements.txt; what the attributes below were read from
# twitchio asks for `oauth2/validate`, `oauth2/token`, ... relative to `Route.ID_BASE`.
OAUTH_PATH = "oauth2"


class TwitchioMoved(RuntimeError):
    """The installed twitchio keeps its endpoints somewhere else than the pinned one."""


@dataclass(frozen=True)
class TwitchEndpoints:
    """Where the bot's Twitch traffic goes; each address without a trailing slash."""

    api_base: str = DEFAULT_API_BASE
    auth_base: str = DEFAULT_AUTH_BASE
    eventsub_ws_url: str = DEFAULT_EVENTSUB_WS_URL

    @property
    def route_base(self) -> str:
        """`Route.BASE`: the Helix base with the trailing slash twitchio joins paths to."""
        return self.api_base + "/"

    @property
    def route_id_base(self) -> str:
        """`Route.ID_BASE`: the OAuth base without its `oauth2` (twitchio adds it back)."""
        return self.auth_base[: -len(OAUTH_PATH)]


def read_endpoints(environ: Mapping[str, str]) -> tuple[TwitchEndpoints, list[str]]:
    """The endpoints the environment asks for (Twitch's where unset) and every problem."""
    problems: list[str] = []

    def address(name: str, default: str, schemes: tuple[str, ...]) -> str:
        value = (environ.get(name, "").strip() or default).rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.netloc:
            problems.append(f"{name} must be a {' or '.join(schemes)} URL, got {value!r}")
        elif parts.query or parts.fragment:
            problems.append(f"{name} must have no query or fragment, got {value!r}")
        return value

    api = address(API_ENV, DEFAULT_API_BASE, ("https", "http"))
    auth = address(AUTH_ENV, DEFAULT_AUTH_BASE, ("https", "http"))
    eventsub = address(EVENTSUB_ENV, DEFAULT_EVENTSUB_WS_URL, ("wss", "ws"))
    if not urlsplit(auth).path.endswith("/" + OAUTH_PATH):
        problems.append(f"{AUTH_ENV} must end in /{OAUTH_PATH} (like {DEFAULT_AUTH_BASE})")
    return TwitchEndpoints(api, auth, eventsub), problems


def _twitchio_parts() -> tuple[Any, Any]:
    """twitchio's Route class and EventSub websocket module, checked for the attributes."""
    try:
        from twitchio import http as twitchio_http
        from twitchio.eventsub import websockets as twitchio_websockets
    except ImportError as error:
        raise TwitchioMoved(f"twitchio has no http/eventsub.websockets module: {error}") from None
    route = getattr(twitchio_http, "Route", None)
    missing = [
        name
        for name, owner in (
            ("twitchio.http.Route.BASE", route),
            ("twitchio.http.Route.ID_BASE", route),
            ("twitchio.eventsub.websockets.WSS", twitchio_websockets),
        )
        if not isinstance(getattr(owner, name.rsplit(".", 1)[1], None), str)
    ]
    if route is None or missing:
        raise TwitchioMoved(
            f"twitchio moved {', '.join(missing) or 'twitchio.http.Route'}: the chat bot cannot "
            f"point it at TWITCH_API_BASE, TWITCH_AUTH_BASE and TWITCH_EVENTSUB_WS_URL. Pin "
            f"twitchio=={TWITCHIO_PIN} (requirements.txt) or update chatbot/twitch_endpoints.py."
        )
    return route, twitchio_websockets


def apply(endpoints: TwitchEndpoints) -> None:
    """Point twitchio (process-wide: it keeps them globally) at `endpoints`."""
    route, websockets = _twitchio_parts()
    route.BASE = endpoints.route_base
    route.ID_BASE = endpoints.route_id_base
    websockets.WSS = endpoints.eventsub_ws_url
    logger.info(
        "chat endpoints",
        extra={
            "api_base": endpoints.api_base,
            "auth_base": endpoints.auth_base,
            "eventsub_ws_url": endpoints.eventsub_ws_url,
        },
    )


def in_force() -> TwitchEndpoints:
    """What twitchio would use now, read back from twitchio itself."""
    route, websockets = _twitchio_parts()
    return TwitchEndpoints(
        api_base=str(route.BASE).rstrip("/"),
        auth_base=str(route.ID_BASE) + OAUTH_PATH,
        eventsub_ws_url=str(websockets.WSS),
    )
