"""Approval at the speed of the moment: the `approval` map of `control_plane/config`; pure.

Who may decide in chat (`!approve`, `!reject`), which new candidates are announced in chat,
the auto-approval policy, and what is posted to Discord. `shared.domain.control_plane` holds
it as `ControlPlaneConfig.approval`, so it has the document's one load path and one audited
write path; each setting is named flat (`approval.policy_rules`), and every change, a policy
rule's included, lands in the change history with who made it.

Defaults are the safe ones: moderators decide in chat, nothing is announced, no policy rule
approves anything, and Discord (once `DISCORD_WEBHOOK_URL` is set) gets ready clips of every
source. A bad stored value never stops a process: it falls back to its default (for the
policy: no automatic approval) and is reported.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.domain.clip_candidate import Source
from shared.domain.errors import FieldProblem
from shared.domain.language import ENGLISH, N_, Phrase
from shared.domain.validation import Refusal, field_problems, load_section
from shared.domain.vision import TriggerEvent

SECTION = "approval"
ChatRole = Literal["moderator", "vip", "subscriber"]
CHAT_ROLES: tuple[str, ...] = get_args(ChatRole)
DiscordStatus = Literal["ready", "failed"]
RULE_NAME = r"^[a-z0-9][a-z0-9_-]{0,39}$"
LISTED_TWICE = Phrase(N_("lists an entry twice"))


def _once_each(value: Any) -> Any:
    """A listed setting names each entry once: a repeat is a typo, never a weight."""
    if isinstance(value, list | tuple) and len(set(value)) != len(value):
        raise Refusal(LISTED_TWICE)
    return value


class PolicyRule(BaseModel):
    """One auto-approval rule: which candidates it approves, and how many at most.

    A candidate matches when its source is `source`, its score is at least `min_score`, and
    for `command` the requester has one of `roles` (the broadcaster always counts; none
    listed: anyone the `!clip` command admits), for `vision` the event is in `vision_events`
    (none listed: any trigger event). The caps count this rule's approvals in any rolling
    hour and in one stream.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=RULE_NAME, description=N_("Recorded as who approved: policy, then this name.")
    )
    source: Source
    enabled: bool = True
    min_score: float = Field(0.0, ge=0.0, le=1.0)
    roles: tuple[ChatRole, ...] = ()
    vision_events: tuple[TriggerEvent, ...] = ()
    max_per_hour: int = Field(3, ge=1, le=60)
    max_per_stream: int | None = Field(None, ge=1, le=1000)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("roles", "vision_events", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        return _once_each(value)

    @model_validator(mode="after")
    def _fits_source(self) -> PolicyRule:
        if self.roles and self.source != "command":
            raise Refusal(Phrase(N_("only a `command` rule looks at who asked")), field="roles")
        if self.vision_events and self.source != "vision":
            raise Refusal(
                Phrase(N_("only a `vision` rule looks at the event")), field="vision_events"
            )
        return self


class ApprovalSettings(BaseModel):
    """Chat decisions, chat announcements, the auto-approval policy and Discord posts."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    chat_roles: tuple[ChatRole, ...] = Field(
        ("moderator",),
        description=N_(
            "Who may !approve and !reject in chat besides the broadcaster "
            "(none: the broadcaster alone)."
        ),
    )
    chat_refusal_cooldown_seconds: float = Field(
        300.0,
        ge=0.0,
        le=86400.0,
        description=N_("A chatter who may not decide is told so at most once in this time."),
    )
    announce_sources: tuple[Source, ...] = Field(
        (),
        description=N_(
            "New candidates of these sources are announced in chat with their "
            "code (none: no announcement)."
        ),
    )
    announce_max_per_minute: int = Field(
        2, ge=1, le=10, description=N_("Announcements in any rolling minute, at most.")
    )
    policy_enabled: bool = Field(
        False,
        strict=True,
        description=N_("The one switch of the auto-approval policy: off, no rule applies."),
    )
    policy_rules: tuple[PolicyRule, ...] = Field(
        (), description=N_("Checked in order; the first matching rule under its caps approves.")
    )
    discord_sources: tuple[Source, ...] = Field(
        get_args(Source),
        description=N_("Clips of these sources are posted to Discord (none: no post)."),
    )
    discord_statuses: tuple[DiscordStatus, ...] = Field(
        ("ready",), description=N_("Which finished clips are posted: ready, failed or both.")
    )

    @field_validator(
        "chat_roles", "announce_sources", "discord_sources", "discord_statuses", mode="before"
    )
    @classmethod
    def _distinct(cls, value: Any) -> Any:
        return _once_each([value] if isinstance(value, str) else value)

    @field_validator("policy_rules", mode="after")
    @classmethod
    def _unique_names(cls, rules: tuple[PolicyRule, ...]) -> tuple[PolicyRule, ...]:
        names = [rule.name for rule in rules]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise Refusal(
                Phrase(N_("rule names must differ; {names} is used twice"), names=", ".join(twice))
            )
        return rules

    def may_decide(self, roles: frozenset[str]) -> bool:
        """Whether a chatter with these roles may `!approve` / `!reject`."""
        return "broadcaster" in roles or bool(roles.intersection(self.chat_roles))


DEFAULTS = ApprovalSettings()


def approval_problems(error: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors about the map, each named as the setting (`approval.policy_rules`);
    a rule's problem names the rule by its place: `rule 2, min_score: ...`."""
    problems = []
    for problem in field_problems(error, prefix=f"{SECTION}.", default_field=SECTION):
        head, _, rest = problem.field.partition(f"{SECTION}.policy_rules.")
        if head or not rest:
            problems.append(problem)
            continue
        index, _, inner = rest.partition(".")
        where = (
            Phrase(N_("rule {number}"), number=str(int(index) + 1))
            if index.isdigit()
            else Phrase(N_("a rule"))
        )
        what = Phrase(N_("{rule}, {field}"), rule=where, field=inner) if inner else where
        said = Phrase(
            N_("{field}: {problem}"), field=what, problem=problem.said or Phrase(problem.message)
        )
        message = f"{what.say(ENGLISH)}: {problem.message}"
        problems.append(FieldProblem(f"{SECTION}.policy_rules", message, said))
    return problems


def load_approval_settings(raw: Any) -> tuple[ApprovalSettings, list[FieldProblem]]:
    """The stored map with defaults; a bad setting falls back to its default, reported."""
    return load_section(raw, DEFAULTS, SECTION, approval_problems)


def rule_line(rule: PolicyRule) -> str:
    """A rule as one editable line: `vip-clips command roles=vip,moderator per_hour=3`."""
    parts = [rule.name, rule.source]
    if rule.roles:
        parts.append("roles=" + ",".join(rule.roles))
    if rule.vision_events:
        parts.append("events=" + ",".join(rule.vision_events))
    if rule.min_score > 0:
        parts.append(f"min_score={rule.min_score:g}")
    parts.append(f"per_hour={rule.max_per_hour}")
    if rule.max_per_stream is not None:
        parts.append(f"per_stream={rule.max_per_stream}")
    if not rule.enabled:
        parts.append("off")
    return " ".join(parts)


_KEYS = {
    "roles": "roles",
    "events": "vision_events",
    "min_score": "min_score",
    "per_hour": "max_per_hour",
    "per_stream": "max_per_stream",
}


def parse_rule_lines(text: str) -> list[dict[str, Any]]:
    """Rule lines as the raw maps the model validates (the model names what is wrong).

    `name source [roles=a,b] [events=x,y] [min_score=0.8] [per_hour=3] [per_stream=10] [off]`;
    blank lines and lines starting with `#` are skipped. An unknown word is kept under its
    own name, so validation refuses it by name rather than it being dropped.
    """
    rules: list[dict[str, Any]] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        rule: dict[str, Any] = {"name": words[0]}
        if len(words) > 1:
            rule["source"] = words[1]
        for word in words[2:]:
            key, has_value, value = word.partition("=")
            if not has_value:
                if key.lower() == "off":
                    rule["enabled"] = False
                else:
                    rule[key] = True
                continue
            rule[_KEYS.get(key.lower(), key)] = value
        rules.append(rule)
    return rules
