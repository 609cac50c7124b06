"""What approving a live candidate now would make, for the Queue page.

The plan is the worker's own (`shared.domain.moment_plan`) over the channel's stream state, so
the operator reads "live 30 s", "live extended to 48 s", "VOD at 1:23:45" or "cannot contain
the moment: …" before deciding; the worker plans again when it creates, since time passes.

The stream state (Get Streams, Get Videos type=archive) is read with the stored token of the
account that clips, at most once every STATE_TTL_SECONDS per channel: a queue redrawn every
second costs Twitch two calls per channel every few seconds. The app never refreshes a token
(the functions own that); a refused one shows as "cannot tell".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import streamlit as st

from shared.domain.clip_candidate import ClipCandidate
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import ClipError, ClipUnauthorized, InvalidInput
from shared.domain.language import DEFAULT_LANGUAGE, ENGLISH, Translate
from shared.domain.moment_plan import PlanMode, StreamState, age_text, plan_moment
from shared.i18n import translator
from shared.twitch.helix_clips import HelixClips
from streamlit_app.resources import stores

STATE_TTL_SECONDS = 5.0
# Short: the queue fragment waits for this call, and a slow Twitch must not freeze it.
TIMEOUT = (2.0, 3.0)

Level = Literal["ok", "changed", "impossible", "unknown"]


@dataclass(frozen=True)
class StreamLookup:
    """The channel's stream state, or why it is unknown (`problem`, a sentence)."""

    state: StreamState | None
    problem: str = ""


@dataclass(frozen=True)
class PlanPreview:
    """`label` is what approving now makes; `level` colours it on the page."""

    age: str
    label: str
    reason: str
    level: Level


def plan_preview(
    candidate: ClipCandidate,
    *,
    duration: float,
    now: datetime,
    lookup: StreamLookup,
    config: ControlPlaneConfig,
    t: Translate = ENGLISH,
) -> PlanPreview | None:
    """None for a VOD candidate: the operator placed it, and its card says where."""
    if candidate.mode != "live":
        return None
    age = age_text((now - candidate.source_ts).total_seconds())
    if lookup.state is None:
        return PlanPreview(
            age,
            t("cannot tell yet"),
            t(
                "{problem} The worker checks the stream when it creates the clip.",
                problem=lookup.problem,
            ),
            "unknown",
        )
    plan = plan_moment(
        candidate.source_ts,
        now=now,
        requested_duration=duration,
        stream=lookup.state,
        pre_roll=config.clip_pre_roll_seconds,
        post_roll=config.clip_post_roll_seconds,
    )
    level: Level = "changed"
    if plan.mode is PlanMode.IMPOSSIBLE:
        level = "impossible"
    elif plan.mode is PlanMode.LIVE and plan.duration == duration:
        level = "ok"
    return PlanPreview(age, plan.label_in(t), plan.reason_in(t), level)


class _StoredAccessToken:
    """The stored access token as it is: one refusal ends the lookup, no refresh here."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refreshed_access_token(self, rejected: str) -> str:
        raise ClipUnauthorized(detail="the stored Twitch token was refused")


@st.cache_resource(show_spinner=False)
def _client(client_id: str, api_base: str | None, auth_base: str | None) -> HelixClips:
    return HelixClips(
        client_id, api_base=api_base, auth_base=auth_base, timeout=TIMEOUT, max_inline_wait=0.0
    )


def stream_lookup(
    broadcaster_id: str, editor_id: str, language: str = DEFAULT_LANGUAGE
) -> StreamLookup:
    """The channel's stream state as Twitch last said it, at most STATE_TTL_SECONDS old; why
    not, in `language`."""
    return _lookup(
        broadcaster_id,
        editor_id,
        os.environ.get("TWITCH_CLIENT_ID", "").strip(),
        os.environ.get("TWITCH_API_BASE") or None,
        os.environ.get("TWITCH_AUTH_BASE") or None,
        language,
    )


@st.cache_data(ttl=STATE_TTL_SECONDS, max_entries=64, show_spinner=False)
def _lookup(
    broadcaster_id: str,
    editor_id: str,
    client_id: str,
    api_base: str | None,
    auth_base: str | None,
    language: str = DEFAULT_LANGUAGE,
) -> StreamLookup:
    """Get Streams and Get Videos with `editor_id`'s stored token (no token in the key)."""
    t = translator(language)
    if not client_id:
        return StreamLookup(None, t("TWITCH_CLIENT_ID is not set, so the app cannot ask Twitch."))
    try:
        stored = stores().tokens.get(editor_id)
    except ClipUnauthorized as error:
        return StreamLookup(None, error.operator_phrase.say(t))
    if stored is None:
        return StreamLookup(
            None,
            t(
                "No Twitch account {id} is connected (see the Connect Twitch page).",
                id=editor_id,
            ),
        )
    twitch = _client(client_id, api_base, auth_base)
    tokens = _StoredAccessToken(stored.access_token)
    try:
        stream = twitch.get_streams(tokens, broadcaster_id, retry=False)
        videos = twitch.get_archive_videos(tokens, broadcaster_id, retry=False)
    except InvalidInput as error:
        return StreamLookup(None, t("The channel id cannot be asked about: {error}.", error=error))
    except ClipError as error:
        return StreamLookup(
            None, t("Twitch did not say whether the channel is live ({code}).", code=error.code)
        )
    return StreamLookup(StreamState.from_helix(stream, videos))
