"""The chat bot's live tunables: the `chat` map of `control_plane/config`, with defaults.

`shared.domain.control_plane.ControlPlaneConfig.chat` holds them, so the document has one
model, one load path and one audited write path; the field names below are the contract
(`chat.spike_multiplier`, `chat.min_distinct_chatters`, `chat.keywords`, ...).

A bad stored value never stops the bot: the offending fields fall back to their defaults and
are reported, the good ones apply. A bad value in a change is refused, naming the field.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.chat_tuning import DEFAULT_WEIGHTS, SIGNALS
from shared.domain.clip_candidate import check_duration
from shared.domain.errors import FieldProblem
from shared.domain.language import N_, Phrase
from shared.domain.validation import Refusal, field_problems, load_section

CommandRole = Literal["everyone", "broadcaster", "moderator", "vip", "subscriber"]
COMMAND_ROLES: tuple[str, ...] = get_args(CommandRole)
SECTION = "chat"

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

    # moments: every window scored against the channel's own history, within a budget
    candidates_per_hour: float = Field(
        4.0,
        ge=0.25,
        le=60.0,
        description=N_(
            "Attention budget: chat moments proposed in any rolling hour, at most "
            "(a !clip from an allowed role is never held back)."
        ),
    )
    signal_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description=N_(
            "How much each signal counts: surge (distinct chatters), reactions "
            "(laughter, hype, emotes), repetition (one token across chatters), clip_calls."
        ),
    )
    score_threshold: float = Field(
        4.0,
        ge=1.0,
        le=200.0,
        description=N_(
            "The least score a moment needs; the detector raises its bar above this "
            "to stay within the budget."
        ),
    )
    spike_window_seconds: float = Field(
        10.0, ge=2.0, le=120.0, description=N_("How much chat one scored window holds.")
    )
    spike_multiplier: float = Field(
        3.0,
        ge=1.2,
        le=50.0,
        description=N_(
            "Before the channel has its own history, a moment needs this many times "
            "the floor level of chatters."
        ),
    )
    baseline_seconds: float = Field(
        900.0,
        ge=30.0,
        le=3600.0,
        description=N_(
            "How far back the channel's usual level is measured (a trailing median "
            "that leaves out the last 90 s)."
        ),
    )
    baseline_floor_per_minute: float = Field(
        20.0,
        ge=0.0,
        le=6000.0,
        description=N_(
            "Until the channel has its own history, its usual chat is taken as at "
            "least this many messages a minute."
        ),
    )
    warmup_seconds: float = Field(
        30.0, ge=0.0, le=900.0, description=N_("No moment is reported this soon after start-up.")
    )
    min_distinct_chatters: int = Field(
        5, ge=2, le=1000, description=N_("A moment needs at least this many different chatters.")
    )
    per_chatter_cap: int = Field(
        1,
        ge=1,
        le=20,
        description=N_("How often one chatter counts in a window (1: distinct chatters)."),
    )
    refractory_seconds: float = Field(
        45.0, ge=5.0, le=3600.0, description=N_("Quiet time after a detection before the next one.")
    )
    reaction_lag_seconds: float = Field(
        7.0,
        ge=0.0,
        le=30.0,
        description=N_("Chat starts reacting this long after the moment it clips."),
    )
    # reaction words and emotes of this channel, on top of the built-in ones of every language
    keywords: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_KEYWORDS),
        description=N_("Words and emotes with a weight above 0 and at most 10."),
    )
    keyword_min_chatters: int = Field(
        4,
        ge=2,
        le=1000,
        description=N_(
            "A moment is told as a keyword moment when at least this many chatters "
            "react with words or emotes."
        ),
    )
    moment_merge_seconds: float = Field(
        30.0,
        ge=0.0,
        le=600.0,
        description=N_("Reaction detections this close to the last one are the same moment."),
    )
    # !clip [title]
    clip_command: str = Field(
        "clip",
        min_length=1,
        max_length=25,
        pattern=r"^[a-z0-9_]+$",
        description=N_("The chat command, without '!': lowercase letters, digits, underscore."),
    )
    clip_command_roles: tuple[CommandRole, ...] = Field(
        ("moderator", "vip", "subscriber"),
        description=N_("Who may use the command (the broadcaster always may)."),
    )
    clip_user_cooldown_seconds: float = Field(
        120.0, ge=0.0, le=86400.0, description=N_("How often one chatter may use the command.")
    )
    clip_global_cooldown_seconds: float = Field(
        30.0, ge=0.0, le=86400.0, description=N_("How often anyone may use the command.")
    )
    clip_duration_seconds: float | None = Field(
        None, description=N_("Unset: the control plane's clip_default_duration.")
    )
    # talking back
    replies_enabled: bool = Field(True, description=N_("Answer `!clip` in chat."))
    announce_ready_clips: bool = Field(True, description=N_("Post the link when a clip is ready."))
    announce_max_age_seconds: float = Field(
        900.0, ge=30.0, le=86400.0, description=N_("Clips ready longer ago are never announced.")
    )
    # the LLM goal (also needs GEMINI_API_KEY)
    llm_enabled: bool = Field(True, description=N_("Write titles with the LLM (needs its key)."))
    llm_model: str = Field("gemini-2.5-flash", min_length=1, max_length=80)
    llm_timeout_seconds: float = Field(4.0, ge=0.5, le=30.0)

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> dict[str, float]:
        if isinstance(value, list | tuple):
            value = dict.fromkeys(value, 1.0)
        if not isinstance(value, Mapping):
            raise Refusal(
                Phrase(
                    N_("must be a map of word or emote to weight, e.g. {example}"),
                    example="{'POG': 1.0}",
                )
            )
        if len(value) > 500:
            raise Refusal(Phrase(N_("must list at most {count} words"), count="500"))
        folded: dict[str, float] = {}
        for word, weight in value.items():
            if not isinstance(word, str) or not _KEYWORD.match(word.strip()):
                raise Refusal(
                    Phrase(N_("{word} is not a single word or emote name"), word=repr(word))
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise Refusal(Phrase(N_("the weight of {word} must be a number"), word=repr(word)))
            if not 0.0 < weight <= 10.0:
                raise Refusal(
                    Phrase(
                        N_("the weight of {word} must be above 0 and at most 10"), word=repr(word)
                    )
                )
            folded[fold_token(word.strip())] = float(weight)
        return folded

    @field_validator("signal_weights", mode="before")
    @classmethod
    def _weights(cls, value: Any) -> dict[str, float]:
        if not isinstance(value, Mapping):
            raise Refusal(
                Phrase(
                    N_("must be a map of signal to weight, with signals {signals}"),
                    signals=str(SIGNALS),
                )
            )
        weights: dict[str, float] = {}
        for name, weight in value.items():
            key = str(name).strip().casefold()
            if key not in SIGNALS:
                raise Refusal(
                    Phrase(
                        N_("{name} is not a signal; choose from {signals}"),
                        name=repr(name),
                        signals=", ".join(SIGNALS),
                    )
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise Refusal(Phrase(N_("the weight of {word} must be a number"), word=repr(name)))
            if not 0.0 <= weight <= 5.0:
                raise Refusal(
                    Phrase(N_("the weight of {word} must be from 0 to 5"), word=repr(name))
                )
            weights[key] = float(weight)
        if not any(weights.values()):
            raise Refusal(Phrase(N_("at least one signal needs a weight above 0")))
        return {name: weights.get(name, 0.0) for name in SIGNALS}

    @field_validator("clip_command", mode="before")
    @classmethod
    def _command(cls, value: Any) -> Any:
        return value.strip().lstrip("!").lower() if isinstance(value, str) else value

    @field_validator("clip_command_roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            if not value:
                raise Refusal(Phrase(N_("must name at least one role (or 'everyone')")))
            unknown = [role for role in value if role not in COMMAND_ROLES]
            if unknown:
                raise Refusal(
                    Phrase(
                        N_("{role} is not a role; choose from {roles}"),
                        role=repr(unknown[0]),
                        roles=", ".join(COMMAND_ROLES),
                    )
                )
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


def chat_problems(error: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors about the chat map, each named as the setting (`chat.keywords`)."""
    return field_problems(error, prefix=f"{SECTION}.", default_field=SECTION)


def load_chat_settings(raw: Any) -> tuple[ChatSettings, list[FieldProblem]]:
    """The `chat` map with defaults; bad fields fall back to defaults and are reported."""
    return load_section(raw, DEFAULTS, SECTION, chat_problems)
