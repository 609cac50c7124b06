"""The Manual clip form's pure side: raw widget values -> candidate fields, and errors -> fields.

Validation itself is `shared.domain.clip_candidate.new_candidate` (via ActionQueue.submit); this
module only parses what a person types (a VOD position like 1:02:03) and puts each refusal
next to the widget it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.errors import FieldProblem
from shared.domain.language import ENGLISH, N_, Phrase, Translate
from shared.domain.validation import Refusal, problem_text

MANUAL_SCORE = 1.0
MomentChoice = Literal["now", "seconds_ago", "at"]

# Candidate field (as shared validation names it) -> the form widget that edits it.
FORM_FIELD: dict[str, str] = {
    "broadcaster_id": "broadcaster_id",
    "mode": "mode",
    "suggested_title": "title",
    "suggested_duration": "duration",
    "source_ts": "moment",
    "context_excerpt": "note",
    "vod_id": "vod_id",
    "vod_offset": "vod_offset",
}
GENERAL = "general"
# Catalog messages: the page says `t(WIDGET_LABELS[widget])`.
WIDGET_LABELS: dict[str, str] = {
    "broadcaster_id": N_("Channel"),
    "mode": N_("Kind of clip"),
    "title": N_("Title"),
    "duration": N_("Duration"),
    "moment": N_("Moment"),
    "note": N_("Note"),
    "vod_id": N_("VOD id"),
    "vod_offset": N_("Clip end"),
}

_HMS = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_UNITS = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_position(text: str) -> float:
    """A VOD position as people write it: '3723', '1:02:03', '62:03' or '1h2m3s'."""
    raw = text.strip().lower().replace(" ", "")
    if not raw:
        raise Refusal(Phrase(N_("is required for a VOD clip: where in the VOD the clip ends")))
    try:
        value = float(raw)
    except ValueError:
        pass
    else:
        if value < 0:
            raise Refusal(Phrase(N_("must not be negative")))
        return value
    match = _HMS.match(raw)
    if match:
        hours, minutes, seconds = match.groups()
        if int(minutes) >= 60 and hours is not None:
            raise Refusal(Phrase(N_("has {minutes} minutes; write it as h:mm:ss"), minutes=minutes))
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    match = _UNITS.match(raw)
    if match and any(match.groups()):
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    raise Refusal(
        Phrase(
            N_("must be a position like 1:02:03, 1h2m3s or seconds, not {text}"),
            text=repr(text[:20]),
        )
    )


def zone(name: str | None) -> ZoneInfo:
    """The browser's time zone when it told us one, else UTC."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class ManualInput:
    """What the operator typed, as the widgets return it."""

    broadcaster_id: str
    mode: str
    title: str
    duration: float | None
    moment: MomentChoice
    seconds_ago: float | None = None
    at_date: date | None = None
    at_time: time | None = None
    time_zone: str | None = None
    note: str = ""
    vod_id: str = ""
    vod_offset: str = ""


def moment_ts(form: ManualInput, now: datetime) -> datetime:
    if form.moment == "seconds_ago":
        if form.seconds_ago is None or form.seconds_ago < 0:
            raise Refusal(Phrase(N_("must be a number of seconds ago, 0 or more")))
        return now - timedelta(seconds=form.seconds_ago)
    if form.moment == "at":
        if form.at_date is None or form.at_time is None:
            raise Refusal(Phrase(N_("needs both a date and a time")))
        local = datetime.combine(form.at_date, form.at_time, tzinfo=zone(form.time_zone))
        when = local.astimezone(UTC)
        if when > now + timedelta(seconds=5):
            raise Refusal(Phrase(N_("is in the future; pick when the moment happened")))
        return when
    return now


def candidate_fields(form: ManualInput, now: datetime) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Raw candidate fields for ActionQueue.submit, plus what could not even be parsed."""
    problems: list[FieldProblem] = []
    fields: dict[str, Any] = {
        "broadcaster_id": form.broadcaster_id.strip(),
        "mode": form.mode,
        "suggested_duration": form.duration,
        "suggested_title": form.title,
        "source": "manual",
        "context_excerpt": form.note,
        "score": MANUAL_SCORE,
    }
    try:
        fields["source_ts"] = moment_ts(form, now).isoformat()
    except ValueError as error:
        problems.append(_refused("source_ts", error))
    if form.mode == "vod":
        fields["vod_id"] = form.vod_id.strip() or None
        try:
            fields["vod_offset"] = parse_position(form.vod_offset)
        except ValueError as error:
            problems.append(_refused("vod_offset", error))
    return fields, problems


def _refused(field: str, error: ValueError) -> FieldProblem:
    return FieldProblem(field, str(error), error.phrase if isinstance(error, Refusal) else None)


def errors_by_widget(
    problems: Iterable[FieldProblem], t: Translate = ENGLISH
) -> dict[str, list[str]]:
    """Each refusal under the widget it is about, in the language of `t`; the rest go to the
    top of the form, named by their field."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        widget = FORM_FIELD.get(problem.field, GENERAL)
        message = problem_text(problem, t)
        if widget == GENERAL:
            message = f"{problem.field}: {message}"
        errors.setdefault(widget, []).append(message)
    return errors
