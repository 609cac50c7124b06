"""The Control plane page's form, derived from `ControlPlaneConfig` (pure, no Streamlit).

Widgets follow the model: a new flag or tunable added to the config shows up on the page
without touching it; labels and help fill in where the model has no description.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

from shared.domain.clip_candidate import MAX_DURATION, MIN_DURATION
from shared.domain.control_plane import EDITABLE_FIELDS, ControlPlaneConfig
from streamlit_app.formatting import ago, utc_text

Kind = Literal["flag", "choice", "int", "seconds", "text"]

LABELS: dict[str, str] = {
    "clip_pipeline_enabled": "Clip pipeline on",
    "clip_api_enabled": "Twitch clip API on",
    "clip_mode_default": "Default clip mode",
    "clip_editor_user_id": "Clip editor user id",
    "clip_has_delay": "Send has_delay on live clips",
    "clip_default_duration": "Default clip duration (s)",
    "dedupe_window_seconds": "Dedupe window (s)",
    "action_ttl_minutes": "Candidate expiry (min)",
    "max_manual_retries": "Manual retries per job",
    "max_rate_limit_retries": "Retries after Twitch rate limits",
}

EXTRA_HELP: dict[str, str] = {
    "clip_mode_default": "Live clips the last seconds of the stream; VOD clips a past moment.",
    "clip_default_duration": "Used when a candidate brings no duration (5 to 60 s, 0.1 steps).",
    "dedupe_window_seconds": "The same moment (source, text) within this window is queued once.",
    "action_ttl_minutes": "A candidate nobody decides within this time expires.",
    "max_manual_retries": "How often an operator may send one failed job back to the queue.",
    "max_rate_limit_retries": "How often a job waits out a Twitch 429 before it fails.",
}


@dataclass(frozen=True)
class FieldSpec:
    """How one config field is edited: widget kind, label, help and bounds."""

    name: str
    kind: Kind
    label: str
    help: str
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


def _bounds(name: str) -> tuple[float | None, float | None]:
    low = high = None
    for item in ControlPlaneConfig.model_fields[name].metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


def _kind(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    if annotation is bool:
        return "flag", ()
    if get_origin(annotation) is Literal:
        return "choice", tuple(str(option) for option in get_args(annotation))
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "seconds", ()
    if get_origin(annotation) in (Union, types.UnionType) and str in get_args(annotation):
        return "text", ()
    raise TypeError(f"no widget for a control-plane field of type {annotation!r}")


def field_specs() -> list[FieldSpec]:
    specs = []
    for name in EDITABLE_FIELDS:
        field = ControlPlaneConfig.model_fields[name]
        kind, options = _kind(field.annotation)
        low, high = _bounds(name)
        if kind == "seconds":
            low, high = MIN_DURATION, MAX_DURATION
        help_text = " ".join(part for part in (field.description, EXTRA_HELP.get(name)) if part)
        label = LABELS.get(name, name.replace("_", " ").capitalize())
        specs.append(FieldSpec(name, kind, label, help_text, options, low, high))
    return specs


def normalise(spec: FieldSpec, value: Any) -> Any:
    """A widget's value as the config stores it ('' text means unset)."""
    if spec.kind == "text":
        text = str(value or "").strip()
        return text or None
    if spec.kind == "int":
        return int(value)
    if spec.kind == "seconds":
        return round(float(value), 1)
    return value


def changed_fields(before: ControlPlaneConfig, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the operator changed against the config they saw, so nobody else's save
    made in the meantime is undone by this one."""
    specs = {spec.name: spec for spec in field_specs()}
    shown = before.model_dump()
    changes = {}
    for name, value in values.items():
        new = normalise(specs[name], value)
        if new != shown[name]:
            changes[name] = new
    return changes


def value_text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def history_rows(entries: list[Mapping[str, Any]], now: datetime) -> list[dict[str, str]]:
    """Change history as a table: when, who, and each field's before -> after."""
    rows = []
    for entry in entries:
        changes = entry.get("changes") or {}
        before = entry.get("before") or {}
        what = "; ".join(
            f"{LABELS.get(name, name)}: {value_text(before.get(name))} → {value_text(value)}"
            for name, value in changes.items()
        )
        at = entry.get("at")
        rows.append(
            {
                "when": f"{utc_text(at)} ({ago(at, now)})" if at else "-",
                "who": str(entry.get("by") or "?"),
                "what changed": what or "(nothing)",
            }
        )
    return rows
