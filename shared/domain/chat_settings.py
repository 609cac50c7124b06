"""The chat bot's live tunables: the `chat` map of `control_plane/config`, with defaults.

Why here and not in `shared.domain.control_plane.ControlPlaneConfig`: that model has no chat fields
yet (and ignores unknown ones), so the bot reads `chat.*` from the same document itself. Until
the shared model adopts this map, keep the two in step by hand: the field names below are the
contract (`chat.spike_multiplier`, `chat.min_distinct_chatters`, `chat.keywords`, ...).

A bad value never stops the bot: the offending fields fall back to their defaults and are
reported, the good ones apply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.clip_candidate import check_duration
from shared.domain.errors import FieldProblem

CommandRole = Literal["everyone", "broadcaster", "moderator", "vip", "subscriber"]

# Weighted words and emotes; matching is case-insensitive on whole tokens. Weights say how
# strongly one chatter using the token signals a clip-worthy moment.
DEFAULT_KEYWORDS: dict[str, float] = {
    "clip": 1.5,
    "clipit": 1.5,
    "pog": 1.0,
    "poggers": 1.0,
    "pogchamp": 1.0,
    "pogu": 1.0,
    "kekw": 1.0,
    "omegalul": 1.0,
    "lul": 0.5,
    "lmao": 0.5,
    "monkas": 0.7,
    "pogo": 0.5,
    "wtf": 0.6,
    "insane": 0.6,
}

_KEYWORD = re.compile(r"^[\w:-]{1,40}$")


def fold_token(token: str) -> str:
    """How chat tokens and configured keywords are compared."""
    return unicodedata.normalize("NFKC", token).casefold()


class ChatSettings(BaseModel):
    """Thresholds of the detectors, `!clip` rules and talking back; all change live."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # chat spike: message rate against a rolling baseline, counted per distinct chatter
    spike_window_seconds: float = Field(10.0, ge=2.0, le=120.0)
    spike_multiplier: float = Field(3.0, ge=1.2, le=50.0)
    baseline_seconds: float = Field(120.0, ge=30.0, le=3600.0)
    baseline_floor_per_minute: float = Field(20.0, ge=0.0, le=6000.0)
    warmup_seconds: float = Field(30.0, ge=0.0, le=900.0)
    min_distinct_chatters: int = Field(5, ge=2, le=1000)
    per_chatter_cap: int = Field(2, ge=1, le=20)
    refractory_seconds: float = Field(45.0, ge=5.0, le=3600.0)
    reaction_lag_seconds: float = Field(7.0, ge=0.0, le=30.0)
    # keyword and emote bursts
    keywords: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    keyword_window_seconds: float = Field(8.0, ge=2.0, le=120.0)
    keyword_burst_weight: float = Field(4.0, ge=0.5, le=1000.0)
    keyword_min_chatters: int = Field(4, ge=2, le=1000)
    # one moment, one candidate: reaction detections this close to the last one are merged
    moment_merge_seconds: float = Field(30.0, ge=0.0, le=600.0)
    # !clip [title]
    clip_command: str = Field("clip", min_length=1, max_length=25, pattern=r"^[a-z0-9_]+$")
    clip_command_roles: tuple[CommandRole, ...] = ("moderator", "vip", "subscriber")
    clip_user_cooldown_seconds: float = Field(120.0, ge=0.0, le=86400.0)
    clip_global_cooldown_seconds: float = Field(30.0, ge=0.0, le=86400.0)
    clip_duration_seconds: float | None = Field(
        None, description="Unset: the control plane's clip_default_duration."
    )
    # talking back
    replies_enabled: bool = True
    announce_ready_clips: bool = True
    announce_max_age_seconds: float = Field(900.0, ge=30.0, le=86400.0)
    # the LLM goal (also needs GEMINI_API_KEY)
    llm_enabled: bool = True
    llm_model: str = Field("gemini-2.5-flash", min_length=1, max_length=80)
    llm_timeout_seconds: float = Field(4.0, ge=0.5, le=30.0)

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> dict[str, float]:
        if isinstance(value, list | tuple):
            value = dict.fromkeys(value, 1.0)
        if not isinstance(value, Mapping):
            raise ValueError("must be a map of word or emote to weight, e.g. {'POG': 1.0}")
        if len(value) > 500:
            raise ValueError("must list at most 500 words")
        folded: dict[str, float] = {}
        for word, weight in value.items():
            if not isinstance(word, str) or not _KEYWORD.match(word.strip()):
                raise ValueError(f"{word!r} is not a single word or emote name")
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise ValueError(f"the weight of {word!r} must be a number")
            if not 0.0 < weight <= 10.0:
                raise ValueError(f"the weight of {word!r} must be above 0 and at most 10")
            folded[fold_token(word.strip())] = float(weight)
        return folded

    @field_validator("clip_command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        return value.strip().lstrip("!").lower() if isinstance(value, str) else value

    @field_validator("clip_command_roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple) and not value:
            raise ValueError("must name at least one role (or 'everyone')")
        return value

    @field_validator("clip_duration_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else check_duration(value)

    def allows(self, roles: frozenset[str]) -> bool:
        """Whether a chatter with these roles may use `!clip` (the broadcaster always may)."""
        allowed = self.clip_command_roles
        return "everyone" in allowed or "broadcaster" in roles or bool(roles.intersection(allowed))


DEFAULTS = ChatSettings()


def load_chat_settings(raw: Any) -> tuple[ChatSettings, list[FieldProblem]]:
    """The `chat` map with defaults; bad fields fall back to defaults and are reported."""
    if raw is None:
        return DEFAULTS, []
    if not isinstance(raw, Mapping):
        return DEFAULTS, [FieldProblem("chat", "must be a map of settings; defaults apply")]
    data = dict(raw)
    problems: list[FieldProblem] = []
    for _ in range(len(data) + 1):
        try:
            return ChatSettings.model_validate(data), problems
        except ValidationError as error:
            bad = set()
            for item in error.errors():
                name = str(item["loc"][0]) if item["loc"] else "chat"
                bad.add(name)
                message = str(item["msg"]).removeprefix("Value error, ")
                problems.append(FieldProblem(f"chat.{name}", f"{message}; the default applies"))
            if not bad.intersection(data):
                break
            for name in bad:
                data.pop(name, None)
    return DEFAULTS, problems
