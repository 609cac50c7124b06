"""The Control plane page's form, derived from `ControlPlaneConfig` (pure, no Streamlit).

Widgets follow the model: a new flag, tunable or chat setting added to the config shows up
on the page without touching it; labels, help and chat groups fill in where the model has
none. Every setting is named flat, as the store's write takes it (`chat.spike_multiplier`).
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from shared.domain.approval_settings import (
    ApprovalSettings,
    PolicyRule,
    parse_rule_lines,
    rule_line,
)
from shared.domain.chat_settings import ChatSettings, fold_token
from shared.domain.clip_candidate import MAX_DURATION, MIN_DURATION
from shared.domain.control_plane import (
    APPROVAL_PREFIX,
    CHAT_PREFIX,
    EDITABLE_FIELDS,
    ControlPlaneConfig,
    setting_value,
)
from shared.domain.language import N_
from shared.i18n import Translator
from streamlit_app.formatting import EN, SOURCE_LABELS, ago, utc_text

Kind = Literal[
    "flag",
    "choice",
    "int",
    "seconds",
    "seconds_or_unset",
    "number",
    "text",
    "multi",
    "weights",
    "rules",
]

# Clip lengths: checked like Twitch's Create Clip (5 to 60 s, 0.1 steps), not by model bounds.
DURATIONS = frozenset({"clip_default_duration", "chat.clip_duration_seconds"})

LABELS: dict[str, str] = {
    "clip_pipeline_enabled": N_("Clip pipeline on"),
    "clip_api_enabled": N_("Twitch clip API on"),
    "clip_mode_default": N_("Default clip mode"),
    "language": N_("Language (chat, Discord and this app)"),
    "clip_editor_user_id": N_("Clip editor user id"),
    "clip_default_duration": N_("Default clip duration (s)"),
    "clip_pre_roll_seconds": N_("Pre-roll before the moment (s)"),
    "clip_post_roll_seconds": N_("Post-roll after the moment (s)"),
    "dedupe_window_seconds": N_("Dedupe window (s)"),
    "action_ttl_minutes": N_("Candidate expiry (min)"),
    "max_manual_retries": N_("Manual retries per job"),
    "max_rate_limit_retries": N_("Retries after Twitch rate limits"),
    "chat.spike_window_seconds": N_("Spike window (s)"),
    "chat.spike_multiplier": N_("Spike multiplier"),
    "chat.baseline_seconds": N_("Baseline span (s)"),
    "chat.baseline_floor_per_minute": N_("Baseline floor (messages/min)"),
    "chat.warmup_seconds": N_("Warm-up (s)"),
    "chat.min_distinct_chatters": N_("Chatters for a spike"),
    "chat.per_chatter_cap": N_("Messages counted per chatter"),
    "chat.refractory_seconds": N_("Quiet time after a detection (s)"),
    "chat.reaction_lag_seconds": N_("Reaction lag (s)"),
    "chat.moment_merge_seconds": N_("Same moment within (s)"),
    "chat.keywords": N_("Keywords and weights"),
    "chat.candidates_per_hour": N_("Chat moments per hour, at most"),
    "chat.signal_weights": N_("Signal weights"),
    "chat.score_threshold": N_("Least score of a moment"),
    "chat.keyword_window_seconds": N_("Keyword window (s)"),
    "chat.keyword_burst_weight": N_("Keyword burst weight"),
    "chat.keyword_min_chatters": N_("Chatters for a keyword burst"),
    "chat.clip_command": N_("Clip command"),
    "chat.clip_command_roles": N_("Who may use the clip command"),
    "chat.clip_user_cooldown_seconds": N_("Cooldown per chatter (s)"),
    "chat.clip_global_cooldown_seconds": N_("Cooldown for everyone (s)"),
    "chat.clip_duration_seconds": N_("Chat clip duration (s)"),
    "chat.replies_enabled": N_("Replies in chat"),
    "chat.announce_ready_clips": N_("Announce ready clips"),
    "chat.announce_max_age_seconds": N_("Announce clips ready within (s)"),
    "chat.llm_enabled": N_("LLM titles"),
    "chat.llm_model": N_("LLM model"),
    "chat.llm_timeout_seconds": N_("LLM timeout (s)"),
}

EXTRA_HELP: dict[str, str] = {
    "clip_mode_default": N_("Live clips the last seconds of the stream; VOD clips a past moment."),
    "clip_default_duration": N_("Used when a candidate brings no duration (5 to 60 s, 0.1 steps)."),
    "dedupe_window_seconds": N_(
        "The same moment (source, text) within this window is queued once."
    ),
    "action_ttl_minutes": N_("A candidate nobody decides within this time expires."),
    "max_manual_retries": N_("How often an operator may send one failed job back to the queue."),
    "max_rate_limit_retries": N_("How often a job waits out a Twitch 429 before it fails."),
    "chat.keywords": N_("One per line: `word = weight` (a word alone weighs 1). Case is ignored."),
    "chat.clip_duration_seconds": N_("5 to 60 s; leave empty to use the default clip duration."),
}

# The chat settings' sections on the page; a setting not listed lands in "Other".
CHAT_GROUPS: dict[str, tuple[str, ...]] = {
    N_("Attention budget"): ("candidates_per_hour", "signal_weights", "score_threshold"),
    N_("Chat spikes"): (
        "spike_window_seconds",
        "spike_multiplier",
        "baseline_seconds",
        "baseline_floor_per_minute",
        "warmup_seconds",
        "min_distinct_chatters",
        "per_chatter_cap",
        "refractory_seconds",
        "reaction_lag_seconds",
        "moment_merge_seconds",
    ),
    N_("Keywords and emotes"): (
        "keywords",
        "keyword_window_seconds",
        "keyword_burst_weight",
        "keyword_min_chatters",
    ),
    N_("!clip command"): (
        "clip_command",
        "clip_command_roles",
        "clip_user_cooldown_seconds",
        "clip_global_cooldown_seconds",
        "clip_duration_seconds",
    ),
    N_("Talking back"): ("replies_enabled", "announce_ready_clips", "announce_max_age_seconds"),
    N_("LLM titles"): ("llm_enabled", "llm_model", "llm_timeout_seconds"),
}
OTHER_GROUP = N_("Other")

# The approval settings (issue 15): chat decisions, announcements, the policy, Discord.
APPROVAL_GROUPS: dict[str, tuple[str, ...]] = {
    N_("Decisions in chat"): ("chat_roles", "chat_refusal_cooldown_seconds"),
    N_("Candidate announcements in chat"): ("announce_sources", "announce_max_per_minute"),
    N_("Auto-approval policy"): ("policy_enabled", "policy_rules"),
    N_("Discord (needs DISCORD_WEBHOOK_URL in the chat bot)"): (
        "discord_sources",
        "discord_statuses",
    ),
}
APPROVAL_LABELS: dict[str, str] = {
    "approval.chat_roles": N_("Who may !approve / !reject (besides the streamer)"),
    "approval.chat_refusal_cooldown_seconds": N_("Tell a chatter they may not, at most every (s)"),
    "approval.announce_sources": N_("Announce new candidates from"),
    "approval.announce_max_per_minute": N_("Announcements per minute, at most"),
    "approval.policy_enabled": N_("Auto-approval policy on"),
    "approval.policy_rules": N_("Policy rules"),
    "approval.discord_sources": N_("Post clips from"),
    "approval.discord_statuses": N_("Post clips that are"),
}
RULES_HELP = N_(
    "One rule per line: `name source [roles=vip,moderator] [events=victory,clutch] "
    "[min_score=0.8] [per_hour=3] [per_stream=10] [off]`. Sources: chat_spike, keyword, "
    "command, autonomy_goal, vision, manual. Each approval is recorded as approved by "
    "`policy name`."
)


# How a choice's options read on the page (catalog messages; the languages by their own
# names). An option not listed shows as it is stored.
OPTION_LABELS: dict[str, str] = {
    "live": N_("live"),
    "vod": "VOD",
    "pt-BR": "Português (Brasil)",
    "en": "English",
    "everyone": N_("everyone"),
    "broadcaster": N_("broadcaster"),
    "moderator": N_("moderators"),
    "vip": N_("VIPs"),
    "subscriber": N_("subscribers"),
    **SOURCE_LABELS,
    "ready": N_("Ready"),
    "failed": N_("Failed"),
}


def option_label(option: str, t: Translator = EN) -> str:
    return t(OPTION_LABELS[option]) if option in OPTION_LABELS else option


@dataclass(frozen=True)
class FieldSpec:
    """How one setting is edited: widget kind, label, help, bounds and page section."""

    name: str
    kind: Kind
    label: str
    help: str
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    optional: bool = False
    group: str = ""


def _bounds(field: FieldInfo) -> tuple[float | None, float | None]:
    low = high = None
    for item in field.metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


def _kind(name: str, annotation: Any) -> tuple[Kind, tuple[str, ...], bool]:
    """Widget kind, its options, and whether the setting may be unset."""
    args = get_args(annotation)
    optional = get_origin(annotation) in (Union, types.UnionType) and type(None) in args
    inner = next((a for a in args if a is not type(None)), None) if optional else annotation
    if inner is bool:
        return "flag", (), False
    if get_origin(inner) is Literal:
        return "choice", tuple(str(option) for option in get_args(inner)), False
    if inner is int:
        return "int", (), False
    if inner is float and name in DURATIONS:
        return ("seconds_or_unset" if optional else "seconds"), (), optional
    if inner is float and not optional:
        return "number", (), False
    if inner is str:
        return "text", (), optional
    if get_origin(inner) is tuple and get_origin(get_args(inner)[0]) is Literal:
        return "multi", tuple(str(option) for option in get_args(get_args(inner)[0])), False
    if get_origin(inner) is dict:
        return "weights", (), False
    if get_origin(inner) is tuple and get_args(inner)[0] is PolicyRule:
        return "rules", (), False
    raise TypeError(f"no widget for the control-plane setting {name} of type {annotation!r}")


def label_of(name: str, t: Translator = EN) -> str:
    """A setting's label on the page and in its history."""
    known = LABELS.get(name) or APPROVAL_LABELS.get(name)
    if known:
        return t(known)
    return (
        name.removeprefix(CHAT_PREFIX).removeprefix(APPROVAL_PREFIX).replace("_", " ").capitalize()
    )


def _spec(name: str, field: FieldInfo, group: str = "", t: Translator = EN) -> FieldSpec:
    kind, options, optional = _kind(name, field.annotation)
    low, high = _bounds(field)
    if kind in ("seconds", "seconds_or_unset"):
        low, high = MIN_DURATION, MAX_DURATION
    extra = RULES_HELP if kind == "rules" else EXTRA_HELP.get(name)
    help_text = " ".join(t(part) for part in (field.description, extra) if part)
    label = label_of(name, t)
    return FieldSpec(
        name, kind, label, help_text, options, low, high, optional, t(group) if group else ""
    )


def field_specs(t: Translator = EN) -> list[FieldSpec]:
    """The shared flags and tunables (the top of the document), in the language of `t`."""
    fields = ControlPlaneConfig.model_fields
    return [_spec(name, fields[name], t=t) for name in EDITABLE_FIELDS]


def _section_specs(
    prefix: str,
    fields: Mapping[str, FieldInfo],
    groups: Mapping[str, Sequence[str]],
    t: Translator,
) -> list[FieldSpec]:
    """A config section's fields (`<prefix><name>`), group by group, skipping unknown names."""
    return [
        _spec(f"{prefix}{name}", fields[name], group, t)
        for group, names in groups.items()
        for name in names
        if name in fields
    ]


def chat_field_specs(t: Translator = EN) -> list[FieldSpec]:
    """The chat bot's settings, section by section (`chat.<name>`)."""
    fields = ChatSettings.model_fields
    listed = {name for names in CHAT_GROUPS.values() for name in names}
    groups = dict(CHAT_GROUPS) | {OTHER_GROUP: tuple(n for n in fields if n not in listed)}
    return _section_specs(CHAT_PREFIX, fields, groups, t)


def approval_field_specs(t: Translator = EN) -> list[FieldSpec]:
    """Approval at the speed of the moment (`approval.<name>`), section by section."""
    return _section_specs(APPROVAL_PREFIX, ApprovalSettings.model_fields, APPROVAL_GROUPS, t)


def all_specs(t: Translator = EN) -> list[FieldSpec]:
    return field_specs(t) + chat_field_specs(t) + approval_field_specs(t)


def widget_value(spec: FieldSpec, value: Any) -> Any:
    """A stored value as its widget shows it."""
    if spec.kind == "weights":
        return "\n".join(f"{word} = {weight:g}" for word, weight in dict(value).items())
    if spec.kind == "seconds_or_unset":
        return "" if value is None else f"{value:g}"
    if spec.kind == "multi":
        return [option for option in spec.options if option in value]
    if spec.kind == "text":
        return value or ""
    if spec.kind == "rules":
        return "\n".join(rule_line(PolicyRule.model_validate(rule)) for rule in value)
    return value


def _number_or_text(text: str) -> Any:
    """A number when it reads as one; otherwise the text, for validation to name."""
    try:
        return float(text)
    except ValueError:
        return text


def _weights(text: str) -> dict[str, Any]:
    """`word = weight` per line or comma; a word alone weighs 1."""
    weights: dict[str, Any] = {}
    for entry in text.replace(",", "\n").splitlines():
        parts = entry.replace("=", " ").split()
        if not parts:
            continue
        word = " ".join(parts[:-1]) if len(parts) > 1 else parts[0]
        weights[fold_token(word)] = _number_or_text(parts[-1]) if len(parts) > 1 else 1.0
    return weights


def normalise(spec: FieldSpec, value: Any) -> Any:
    """A widget's value as the config stores it ('' text means unset where that is allowed)."""
    if spec.kind == "text":
        text = str(value or "").strip()
        return None if spec.optional and not text else text
    if spec.kind == "int":
        return int(value)
    if spec.kind == "seconds":
        return round(float(value), 1)
    if spec.kind == "number":
        return float(value)
    if spec.kind == "seconds_or_unset":
        text = str(value or "").strip()
        return _number_or_text(text) if text else None
    if spec.kind == "multi":
        return [option for option in spec.options if option in value]
    if spec.kind == "weights":
        return _weights(str(value or ""))
    if spec.kind == "rules":
        return parse_rule_lines(str(value or ""))
    return value


def changed_fields(before: ControlPlaneConfig, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the operator changed against the config they saw, so nobody else's save
    made in the meantime is undone by this one."""
    specs = {spec.name: spec for spec in all_specs()}
    changes = {}
    for name, value in values.items():
        spec = specs[name]
        new = normalise(spec, value)
        if new != normalise(spec, widget_value(spec, setting_value(before, name))):
            changes[name] = new
    return changes


def _rule_text(rule: Mapping[str, Any]) -> str:
    """A stored policy rule as its line (as it was typed), or its raw form if it is refused."""
    try:
        return rule_line(PolicyRule.model_validate(rule))
    except ValueError:
        return str(dict(rule))


def value_text(value: Any, t: Translator = EN) -> str:
    if value is None:
        return t("(unset)")
    if isinstance(value, bool):
        return t("on") if value else t("off")
    if isinstance(value, Mapping):
        return ", ".join(f"{key} {item}" for key, item in value.items()) or t("(none)")
    if isinstance(value, list | tuple) and value and all(isinstance(i, Mapping) for i in value):
        return "; ".join(_rule_text(item) for item in value)
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or t("(none)")
    return str(value)


def history_rows(
    entries: Sequence[Mapping[str, Any]], now: datetime, t: Translator = EN
) -> list[dict[str, str]]:
    """Change history as a table: when, who, and each field's before -> after."""
    rows = []
    for entry in entries:
        changes = entry.get("changes") or {}
        before = entry.get("before") or {}
        what = "; ".join(
            f"{_history_label(name, t)}: {value_text(before.get(name), t)} → {value_text(value, t)}"
            for name, value in changes.items()
        )
        at = entry.get("at")
        rows.append(
            {
                t("when"): f"{utc_text(at, t)} ({ago(at, now, t)})" if at else "-",
                t("who"): str(entry.get("by") or "?"),
                t("what changed"): what or t("(nothing)"),
            }
        )
    return rows


def _history_label(name: str, t: Translator) -> str:
    known = LABELS.get(name) or APPROVAL_LABELS.get(name)
    return t(known) if known else name
