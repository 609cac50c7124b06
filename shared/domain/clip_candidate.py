"""The `clip_candidate.v1` schema (docs/architecture.md §3.1), its validation and its dedupe key.

Pure: no I/O. Every refusal names the field, so a detector, the vision function or the
operator's manual form can show exactly what to fix, and nothing is written.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from shared.domain.errors import CandidateInvalid, FieldProblem
from shared.domain.language import N_, Phrase
from shared.domain.text import MAX_TITLE_CHARS as MAX_TITLE_CHARS
from shared.domain.text import check_length, require_text
from shared.domain.text import clean_title as clean_title
from shared.domain.validation import Refusal, field_problems

SCHEMA: Final = "clip_candidate.v1"
MIN_DURATION = 5.0
MAX_DURATION = 60.0
MAX_EXCERPT_CHARS = 500
DEFAULT_DEDUPE_WINDOW_SECONDS = 30

Mode = Literal["live", "vod"]
Source = Literal["chat_spike", "keyword", "command", "autonomy_goal", "vision", "manual"]
SOURCES: tuple[str, ...] = ("chat_spike", "keyword", "command", "autonomy_goal", "vision", "manual")
MODES: tuple[str, ...] = ("live", "vod")

_NUMERIC_ID = re.compile(r"^[0-9]{1,20}$")
VOD_REQUIRED = Phrase(N_("is required when mode is 'vod'"))


def check_numeric_id(value: Any, what: str) -> str:
    """A Twitch user or video id: digits only, as a string. Login names are refused.
    `what` (`N_("broadcaster (user)")`) is said in the refusal's language."""
    kind = Phrase(what)
    if isinstance(value, bool):
        raise Refusal(
            Phrase(N_("must be a numeric Twitch {what} id as a string, got a boolean"), what=kind)
        )
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise Refusal(
            Phrase(N_("is required: the numeric Twitch {what} id, e.g. '12345'"), what=kind)
        )
    value = value.strip()
    if not _NUMERIC_ID.match(value):
        raise Refusal(
            Phrase(
                N_(
                    "must be the numeric Twitch {what} id (e.g. '12345'), not {value}; "
                    "a login name is not accepted"
                ),
                what=kind,
                value=repr(value[:40]),
            )
        )
    return value


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def check_duration(value: float) -> float:
    """5.0 to 60.0 seconds with at most one decimal, as Twitch's Create Clip accepts."""
    if not _is_number(value):
        raise Refusal(Phrase(N_("must be a number of seconds between 5.0 and 60.0")))
    if not MIN_DURATION <= value <= MAX_DURATION:
        raise Refusal(
            Phrase(N_("must be between 5.0 and 60.0 seconds, got {value}"), value=f"{value:g}")
        )
    if abs(value * 10 - round(value * 10)) > 1e-6:
        raise Refusal(
            Phrase(
                N_("must have at most one decimal (0.1 s precision), got {value}"),
                value=f"{value:g}",
            )
        )
    return round(float(value), 1)


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 with a timezone (or an aware datetime), returned in UTC."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Refusal(
                Phrase(
                    N_("must be an ISO 8601 time like 2026-11-24T20:00:01Z, got {value}"),
                    value=repr(value[:40]),
                )
            ) from None
    else:
        raise Refusal(
            Phrase(N_("is required: when the moment happened, ISO 8601 like 2026-11-24T20:00:01Z"))
        )
    if parsed.tzinfo is None:
        raise Refusal(Phrase(N_("must include a timezone (e.g. a trailing Z for UTC)")))
    return parsed.astimezone(UTC)


def _broadcaster_id(value: Any) -> str:
    return check_numeric_id(value, N_("broadcaster (user)"))


class ClipCandidate(BaseModel):
    """`payload` of an `action_queue` item of kind `clip_candidate` (docs/architecture.md §3.1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["clip_candidate.v1"] = Field(default=SCHEMA, alias="schema")
    candidate_id: str
    dedupe_key: str
    broadcaster_id: Annotated[str, BeforeValidator(_broadcaster_id)]
    mode: Mode
    suggested_duration: Annotated[float, BeforeValidator(check_duration)]
    # Every way in (chat, the LLM, vision, the manual form) gets the same cleaning.
    suggested_title: Annotated[str | None, BeforeValidator(clean_title)] = None
    source: Source
    source_ts: Annotated[datetime, BeforeValidator(parse_timestamp)]
    context_excerpt: str = ""
    score: float
    vod_id: str | None = None
    vod_offset: float | None = None

    @field_validator("vod_id", mode="before")
    @classmethod
    def _vod_id(cls, value: Any) -> str | None:
        return None if value is None else check_numeric_id(value, N_("video (VOD)"))

    @field_validator("context_excerpt", mode="before")
    @classmethod
    def _excerpt(cls, value: Any) -> str:
        if value is None:
            return ""
        return check_length(require_text(value), MAX_EXCERPT_CHARS).strip()

    @field_validator("score", mode="before")
    @classmethod
    def _score(cls, value: Any) -> float:
        if not _is_number(value):
            raise Refusal(Phrase(N_("must be a number between 0 and 1")))
        if not 0.0 <= value <= 1.0:
            raise Refusal(Phrase(N_("must be between 0 and 1, got {value}"), value=f"{value:g}"))
        return float(value)

    @field_validator("vod_offset", mode="before")
    @classmethod
    def _vod_offset(cls, value: Any) -> float | None:
        if value is None:
            return None
        if not _is_number(value):
            raise Refusal(Phrase(N_("must be a number of seconds into the VOD")))
        if value < 0:
            raise Refusal(Phrase(N_("must not be negative")))
        return float(value)

    @model_validator(mode="after")
    def _mode_rules(self) -> ClipCandidate:
        if self.mode == "vod":
            if self.vod_id is None:
                raise Refusal(VOD_REQUIRED, field="vod_id")
            if self.vod_offset is None:
                raise Refusal(VOD_REQUIRED, field="vod_offset")
            if self.vod_offset < self.suggested_duration:
                raise Refusal(
                    Phrase(
                        N_(
                            "must be at least the duration ({duration} s): it is where the clip "
                            "ends, not where it starts"
                        ),
                        duration=f"{self.suggested_duration:g}",
                    ),
                    field="vod_offset",
                )
        elif self.vod_id is not None or self.vod_offset is not None:
            raise Refusal(
                Phrase(N_("only a 'vod' mode candidate has vod_id / vod_offset")), field="vod_id"
            )
        return self

    def to_firestore(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


def normalise_text(text: str | None) -> str:
    """Case, accents-compatibility, punctuation and spacing folded so 'POG!!' == 'pog'."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = re.findall(r"\w+", folded)
    return " ".join(words)


def dedupe_key(
    *,
    broadcaster_id: str,
    source: str,
    source_ts: datetime,
    text: str | None,
    window_seconds: int = DEFAULT_DEDUPE_WINDOW_SECONDS,
) -> str:
    """Stable hash of channel + source + time window + normalised text (the action id)."""
    if window_seconds < 1:
        raise ValueError("window_seconds must be at least 1")
    window = math.floor(source_ts.timestamp() / window_seconds)
    material = "|".join(
        [SCHEMA, broadcaster_id, source, str(window_seconds), str(window), normalise_text(text)]
    )
    return "cc_" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


_GENERATED = ("candidate_id", "dedupe_key", "schema")


def _problems(error: ValidationError) -> list[FieldProblem]:
    def say(loc: str, item: ErrorDetails, message: str) -> str:
        """The candidate's own words for a wrong source or mode, and for an unknown field."""
        if item["type"] == "literal_error" and loc in ("mode", "source"):
            allowed = MODES if loc == "mode" else SOURCES
            return f"must be one of {', '.join(allowed)}, got {item.get('input')!r}"
        if item["type"] == "extra_forbidden":
            return N_("is not a field of clip_candidate.v1")
        return message

    return field_problems(error, default_field="candidate", rewrite=say, with_input=True)


def new_candidate(
    fields: Mapping[str, Any],
    *,
    dedupe_window_seconds: int = DEFAULT_DEDUPE_WINDOW_SECONDS,
) -> ClipCandidate:
    """Validate raw candidate fields and add `candidate_id` and `dedupe_key`.

    Raises CandidateInvalid naming every bad field; nothing is half-built.
    """
    if not isinstance(fields, Mapping):
        raise CandidateInvalid([FieldProblem("candidate", N_("must be an object of fields"))])
    given = [name for name in _GENERATED if name in fields]
    if given:
        raise CandidateInvalid(
            [FieldProblem(name, N_("is computed by Byte Clips, do not send it")) for name in given]
        )
    draft = dict(fields)
    draft.setdefault("candidate_id", "pending")
    draft.setdefault("dedupe_key", "pending")
    try:
        checked = ClipCandidate.model_validate(draft)
    except ValidationError as error:
        raise CandidateInvalid(_problems(error)) from None
    key = dedupe_key(
        broadcaster_id=checked.broadcaster_id,
        source=checked.source,
        source_ts=checked.source_ts,
        text=checked.suggested_title,
        window_seconds=dedupe_window_seconds,
    )
    return checked.model_copy(update={"candidate_id": uuid.uuid4().hex, "dedupe_key": key})


def load_candidate(stored: Mapping[str, Any]) -> ClipCandidate:
    """Read a stored payload back (already validated once, so errors here mean corruption)."""
    try:
        return ClipCandidate.model_validate(dict(stored))
    except ValidationError as error:
        raise CandidateInvalid(_problems(error)) from None
