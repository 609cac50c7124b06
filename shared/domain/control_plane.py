"""The control plane (`control_plane/config`, SPEC 3.3): flags and tunables with defaults.

A missing document means "all defaults", so a fresh project works before anyone saves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.clip_candidate import (
    DEFAULT_DEDUPE_WINDOW_SECONDS,
    check_duration,
    check_numeric_id,
)
from shared.domain.errors import ConfigInvalid, FieldProblem

AUDIT_FIELDS = ("updated_by", "updated_at")


class ControlPlaneConfig(BaseModel):
    """Everything an operator may change live, without a redeploy."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    clip_pipeline_enabled: bool = Field(
        True, description="Off: no candidate is enqueued and no job is processed."
    )
    clip_api_enabled: bool = Field(
        True, description="Rollback switch. Off: no Helix call is made; approved jobs wait."
    )
    clip_mode_default: Literal["live", "vod"] = "live"
    clip_editor_user_id: str | None = Field(
        None, description="Whose token creates clips; unset means the broadcaster's own."
    )
    clip_has_delay: bool = Field(False, description="Send has_delay=true on live clips.")
    clip_default_duration: float = 30.0
    dedupe_window_seconds: int = Field(DEFAULT_DEDUPE_WINDOW_SECONDS, ge=1, le=3600)
    action_ttl_minutes: int = Field(30, ge=1, le=7 * 24 * 60)
    max_manual_retries: int = Field(3, ge=0, le=20)
    max_rate_limit_retries: int = Field(5, ge=1, le=50)
    updated_by: str | None = None
    updated_at: datetime | None = None

    @field_validator("clip_editor_user_id", mode="before")
    @classmethod
    def _editor(cls, value: Any) -> str | None:
        if value in (None, ""):
            return None
        return check_numeric_id(value, "editor (user)")

    @field_validator("clip_default_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return check_duration(value)

    @field_validator("clip_pipeline_enabled", "clip_api_enabled", "clip_has_delay", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value


EDITABLE_FIELDS: tuple[str, ...] = tuple(
    name for name in ControlPlaneConfig.model_fields if name not in AUDIT_FIELDS
)


def _problems(error: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(
            ".".join(str(p) for p in item["loc"]) or "config",
            str(item["msg"]).removeprefix("Value error, "),
        )
        for item in error.errors()
    ]


def load_config(stored: Mapping[str, Any] | None) -> ControlPlaneConfig:
    """The stored document with defaults filled in."""
    try:
        return ControlPlaneConfig.model_validate(dict(stored or {}))
    except ValidationError as error:
        raise ConfigInvalid(_problems(error)) from None


def apply_changes(
    current: ControlPlaneConfig, changes: Mapping[str, Any], *, by: str, now: datetime
) -> ControlPlaneConfig:
    """Validate a change set against the current config; unknown names are refused."""
    unknown = [name for name in changes if name not in EDITABLE_FIELDS]
    if unknown:
        raise ConfigInvalid(
            [FieldProblem(name, "is not a control-plane setting") for name in unknown]
        )
    if not by.strip():
        raise ConfigInvalid([FieldProblem("updated_by", "who made the change is required")])
    merged = current.model_dump() | dict(changes) | {"updated_by": by, "updated_at": now}
    try:
        return ControlPlaneConfig.model_validate(merged)
    except ValidationError as error:
        raise ConfigInvalid(_problems(error)) from None
