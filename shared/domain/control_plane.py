"""The control plane (`control_plane/config`, docs/architecture.md §3.3): flags and tunables.

One model owns the whole document: the shared flags at the top and the chat bot's settings
in its `chat` map. A missing document means "all defaults", so a fresh project works before
anyone saves it. Changes name each setting flat: `clip_api_enabled`, `chat.spike_multiplier`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.approval_settings import DEFAULTS as APPROVAL_DEFAULTS
from shared.domain.approval_settings import SECTION as APPROVAL
from shared.domain.approval_settings import (
    ApprovalSettings,
    approval_problems,
    load_approval_settings,
)
from shared.domain.chat_settings import DEFAULTS as CHAT_DEFAULTS
from shared.domain.chat_settings import SECTION as CHAT
from shared.domain.chat_settings import ChatSettings, chat_problems, load_chat_settings
from shared.domain.clip_candidate import (
    DEFAULT_DEDUPE_WINDOW_SECONDS,
    check_duration,
    check_numeric_id,
)
from shared.domain.errors import ConfigInvalid, FieldProblem
from shared.domain.language import DEFAULT_LANGUAGE, N_, Language, Phrase
from shared.domain.validation import Refusal, field_problems
from shared.domain.vision import VisionSettings

AUDIT_FIELDS = ("updated_by", "updated_at")
CHAT_PREFIX = f"{CHAT}."
APPROVAL_PREFIX = f"{APPROVAL}."
Section = TypeVar("Section", ChatSettings, ApprovalSettings)
# Settings a stored document may still hold that nothing reads any more, and why: ignored on
# read (the model ignores unknown fields), named on the Control plane page.
RETIRED_SETTINGS: dict[str, str] = {
    "clip_has_delay": N_("Twitch removed has_delay from Create Clip"),
}


class ControlPlaneConfig(BaseModel):
    """Everything an operator may change live, without a redeploy."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    clip_pipeline_enabled: bool = Field(
        True, description=N_("Off: no candidate is enqueued and no job is processed.")
    )
    clip_api_enabled: bool = Field(
        True, description=N_("Rollback switch. Off: no Helix call is made; approved jobs wait.")
    )
    clip_mode_default: Literal["live", "vod"] = "live"
    language: Language = Field(
        DEFAULT_LANGUAGE,
        description=N_(
            "What Byte says in chat and Discord, and the app's language: "
            "pt-BR (português do Brasil) or en (English)."
        ),
    )
    clip_editor_user_id: str | None = Field(
        None, description=N_("Whose token creates clips; unset means the broadcaster's own.")
    )
    clip_default_duration: float = 30.0
    clip_pre_roll_seconds: float = Field(
        10.0, ge=0.0, le=30.0, description=N_("A clip holds at least this much before its moment.")
    )
    clip_post_roll_seconds: float = Field(
        5.0, ge=0.0, le=15.0, description=N_("A clip holds at least this much after its moment.")
    )
    dedupe_window_seconds: int = Field(DEFAULT_DEDUPE_WINDOW_SECONDS, ge=1, le=3600)
    action_ttl_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    max_manual_retries: int = Field(3, ge=0, le=20)
    max_rate_limit_retries: int = Field(5, ge=1, le=50)
    chat: ChatSettings = Field(
        default_factory=lambda: CHAT_DEFAULTS, description=N_("The chat bot's settings.")
    )
    vision: VisionSettings = VisionSettings()
    approval: ApprovalSettings = Field(
        default_factory=lambda: APPROVAL_DEFAULTS,
        description=N_("Chat decisions, announcements, the auto-approval policy, Discord."),
    )
    updated_by: str | None = None
    updated_at: datetime | None = None

    @field_validator("clip_editor_user_id", mode="before")
    @classmethod
    def _editor(cls, value: Any) -> str | None:
        if value in (None, ""):
            return None
        return check_numeric_id(value, N_("editor (user)"))

    @field_validator("clip_default_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return check_duration(value)

    @field_validator("clip_pipeline_enabled", "clip_api_enabled", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise Refusal(Phrase(N_("must be true or false, got {value}"), value=repr(value)))
        return value


# The shared flags and tunables (top-level fields), then the chat settings as `chat.<name>`.
# `vision` (issue 12) is changed as one map through `apply_changes` until the Control plane
# page has a section for it, so it is not among the page's EDITABLE_FIELDS.
VISION = "vision"
EDITABLE_FIELDS: tuple[str, ...] = tuple(
    name
    for name in ControlPlaneConfig.model_fields
    if name not in (*AUDIT_FIELDS, CHAT, VISION, APPROVAL)
)
CHAT_FIELDS: tuple[str, ...] = tuple(f"{CHAT_PREFIX}{name}" for name in ChatSettings.model_fields)
# The `approval` map (issue 15), named like the chat settings: `approval.policy_rules`.
APPROVAL_FIELDS: tuple[str, ...] = tuple(
    f"{APPROVAL_PREFIX}{name}" for name in ApprovalSettings.model_fields
)
SETTINGS: frozenset[str] = frozenset((*EDITABLE_FIELDS, *CHAT_FIELDS, *APPROVAL_FIELDS, VISION))


class LoadedConfig(NamedTuple):
    """A stored document read: the config in force and the chat settings that fell back."""

    config: ControlPlaneConfig
    fallbacks: tuple[FieldProblem, ...]


def read_config(stored: Mapping[str, Any] | None) -> LoadedConfig:
    """The one load path of the document, defaults filled in.

    A bad shared flag refuses the document (ConfigInvalid): clips must not run on a guess. A
    bad chat setting falls back to its default and is reported, so the bot keeps running.
    """
    data = dict(stored or {})
    chat, fallbacks = load_chat_settings(data.pop(CHAT, None))
    approval, approval_fallbacks = load_approval_settings(data.pop(APPROVAL, None))
    try:
        config = ControlPlaneConfig.model_validate(data | {CHAT: chat, APPROVAL: approval})
    except ValidationError as error:
        raise ConfigInvalid(field_problems(error, default_field="config")) from None
    return LoadedConfig(config, tuple(fallbacks + approval_fallbacks))


def load_config(stored: Mapping[str, Any] | None) -> ControlPlaneConfig:
    """`read_config` for readers that need only the values in force."""
    return read_config(stored).config


def setting_value(config: ControlPlaneConfig, name: str) -> Any:
    """One setting by its flat name (`clip_api_enabled`, `chat.keywords`), as stored."""
    if name.startswith(CHAT_PREFIX):
        return config.chat.model_dump(mode="json")[name.removeprefix(CHAT_PREFIX)]
    if name.startswith(APPROVAL_PREFIX):
        return config.approval.model_dump(mode="json")[name.removeprefix(APPROVAL_PREFIX)]
    return config.model_dump()[name]


def _refused(name: str, message: str) -> FieldProblem:
    """A problem found here, with its catalog message to say it in the operator's language."""
    return FieldProblem(name, message, Phrase(message))


def _unknown(name: str) -> FieldProblem:
    if name.startswith(CHAT_PREFIX):
        return _refused(name, N_("is not a chat setting"))
    if name == CHAT:
        return _refused(name, N_("is not a control-plane setting; change chat.<setting> instead"))
    if name.startswith(APPROVAL_PREFIX):
        return _refused(name, N_("is not an approval setting"))
    if name == APPROVAL:
        return _refused(
            name, N_("is not a control-plane setting; change approval.<setting> instead")
        )
    return _refused(name, N_("is not a control-plane setting"))


def retired_phrases(stored: Mapping[str, Any]) -> list[Phrase]:
    """One sentence per retired setting the stored document still holds (it is ignored)."""
    return [
        Phrase(N_("{name} is stored but ignored: {why}"), name=name, why=Phrase(why))
        for name, why in RETIRED_SETTINGS.items()
        if name in stored
    ]


def _section_with(
    section: Section,
    prefix: str,
    changes: Mapping[str, Any],
    problems_of: Callable[[ValidationError], list[FieldProblem]],
) -> tuple[Section, list[FieldProblem]]:
    """A settings map (`chat`, `approval`) with the changes named under `prefix`; what is
    refused is reported and leaves the map as it was."""
    section_changes = {
        name.removeprefix(prefix): value
        for name, value in changes.items()
        if name.startswith(prefix)
    }
    if not section_changes:
        return section, []
    try:
        return type(section).model_validate(section.model_dump() | section_changes), []
    except ValidationError as error:
        return section, problems_of(error)


def apply_changes(
    current: ControlPlaneConfig, changes: Mapping[str, Any], *, by: str, now: datetime
) -> ControlPlaneConfig:
    """Validate a change set against the current config; unknown names are refused.

    Every refused field is reported at once, and a refusal changes nothing.
    """
    unknown = [_unknown(name) for name in changes if name not in SETTINGS]
    if unknown:
        raise ConfigInvalid(unknown)
    if not by.strip():
        raise ConfigInvalid([_refused("updated_by", N_("who made the change is required"))])
    chat, chat_refused = _section_with(current.chat, CHAT_PREFIX, changes, chat_problems)
    approval, approval_refused = _section_with(
        current.approval, APPROVAL_PREFIX, changes, approval_problems
    )
    problems = chat_refused + approval_refused
    shared = {name: value for name, value in changes.items() if name in (*EDITABLE_FIELDS, VISION)}
    merged = (
        current.model_dump(exclude={CHAT, APPROVAL})
        | shared
        | {CHAT: chat, APPROVAL: approval, "updated_by": by, "updated_at": now}
    )
    try:
        updated = ControlPlaneConfig.model_validate(merged)
    except ValidationError as error:
        problems = field_problems(error, default_field="config") + problems
    if problems:
        raise ConfigInvalid(problems)
    return updated
