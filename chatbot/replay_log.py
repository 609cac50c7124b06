"""Reading chat logs for replay (docs/architecture.md §6.6): JSON lines `{ts, user_id, user, text,
badges}`.

`ts` is ISO 8601 UTC (one written without an offset reads as UTC, as the format says);
`badges` a list drawn from broadcaster, moderator, vip, subscriber. Logs taken from real chat
carry Twitch's other badge set ids too (founder, lead_moderator, turbo, partner, ...), as
names or as EventSub's `{"set_id": ...}` objects: those that grant a role count
(`roles_from_badges`), the rest grant nothing. A numeric `user_id` (or `user`) reads as its digits.
`broadcaster_id` is optional per line and otherwise the default (TWITCH_BROADCASTER_ID).
`fragments` is optional, as EventSub's `message.fragments` carries it:
`[{"type": "emote", "text": "KEKW", "emote": {"id": "…", "owner_id": "…"}}, …]`; lines
without it stay valid (the detectors then read the text alone).
A bad line stops the replay with its line number and the field at fault.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from chatbot.chat_line import ROLES, ChatLine, Fragment, roles_from_badges
from shared.domain.clip_candidate import check_numeric_id, parse_timestamp


class LogLineInvalid(ValueError):
    def __init__(self, number: int, field: str, message: str) -> None:
        super().__init__(f"line {number}: {field}: {message}")
        self.number = number
        self.field = field


def _text(raw: dict[str, object], name: str, number: int) -> str:
    value = raw.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise LogLineInvalid(number, name, "is required text")
    return value


def _seconds(value: object, number: int) -> float:
    """`ts` as Unix seconds; the log's times are UTC, so one without an offset is UTC."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = datetime.fromisoformat(value.strip())
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC).timestamp()
    try:
        return parse_timestamp(value).timestamp()
    except ValueError as error:
        raise LogLineInvalid(number, "ts", str(error)) from None


def _badges(raw: object, number: int) -> list[str]:
    """Badge set ids, as names or as EventSub's `{"set_id": ...}` objects."""
    if isinstance(raw, list):
        names = [item.get("set_id") if isinstance(item, dict) else item for item in raw]
        if all(isinstance(name, str) for name in names):
            return [str(name) for name in names]
    raise LogLineInvalid(number, "badges", f"must be a list drawn from {', '.join(ROLES)}")


FRAGMENT_KINDS = ("text", "emote", "cheermote", "mention", "gif")


def _fragments(raw: object, number: int) -> tuple[Fragment, ...]:
    """EventSub's fragment list; only what the detectors read is kept."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise LogLineInvalid(number, "fragments", "must be a list of {type, text} objects")
    out: list[Fragment] = []
    for item in raw:
        if not isinstance(item, dict):
            raise LogLineInvalid(number, "fragments", "must be a list of {type, text} objects")
        kind, text = item.get("type"), item.get("text")
        if kind not in FRAGMENT_KINDS:
            raise LogLineInvalid(
                number, "fragments", f"type must be one of {', '.join(FRAGMENT_KINDS)}"
            )
        if not isinstance(text, str):
            raise LogLineInvalid(number, "fragments", "text must be text")
        emote = item.get("emote") if kind == "emote" else None
        if emote is not None and not isinstance(emote, dict):
            raise LogLineInvalid(number, "fragments", "emote must be an object")
        emote = emote or {}
        out.append(
            Fragment(kind, text, str(emote.get("id") or ""), str(emote.get("owner_id") or ""))
        )
    return tuple(out)


def parse_line(raw_text: str, number: int, default_broadcaster: str | None) -> ChatLine:
    try:
        raw = json.loads(raw_text)
    except json.JSONDecodeError as error:
        raise LogLineInvalid(number, "line", f"is not JSON ({error.msg})") from None
    if not isinstance(raw, dict):
        raise LogLineInvalid(number, "line", "must be a JSON object")
    ts = _seconds(raw.get("ts"), number)
    broadcaster = raw.get("broadcaster_id", default_broadcaster)
    if broadcaster is None:
        raise LogLineInvalid(
            number, "broadcaster_id", "is missing and TWITCH_BROADCASTER_ID is not set"
        )
    try:
        broadcaster = check_numeric_id(broadcaster, "broadcaster (user)")
    except ValueError as error:
        raise LogLineInvalid(number, "broadcaster_id", str(error)) from None
    badges = _badges(raw.get("badges") or [], number)
    return ChatLine(
        ts=ts,
        broadcaster_id=broadcaster,
        user_id=_text(raw, "user_id", number),
        user=_text(raw, "user", number),
        text=str(raw.get("text") or ""),
        roles=roles_from_badges(badges),
        message_id=f"replay-{number}",
        fragments=_fragments(raw.get("fragments"), number),
    )


def parse_lines(lines: Iterable[str], default_broadcaster: str | None) -> Iterator[ChatLine]:
    for number, raw_text in enumerate(lines, start=1):
        if raw_text.strip():
            yield parse_line(raw_text, number, default_broadcaster)


def read_log(path: Path, default_broadcaster: str | None) -> list[ChatLine]:
    """The whole log, validated before anything is replayed."""
    with path.open(encoding="utf-8-sig") as handle:  # a BOM from a Windows export is not chat
        return list(parse_lines(handle, default_broadcaster))
