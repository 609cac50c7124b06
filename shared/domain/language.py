"""The channel's language (control plane `language`, docs/architecture.md §3.3) and how pure code
speaks it.

Pure code never loads a catalog: it marks its sentences with `N_` where they are defined
(so `pybabel extract` finds them) and takes a `Translate` callable where it says them. The
catalogs themselves are read by `shared.i18n`, which hands out the real translators; the
English one is the identity, so a caller that passes nothing speaks English.

Messages are written with named `{placeholders}`, filled in after translation, so a
translation may move them but must keep every one (tests/test_i18n_catalog.py checks).

Pure code that decides a sentence long before anyone reads it (the moment planner, a token
check, a refused field) returns a `Phrase`: the message and its parameters, said later by the
edge in the language in force, and storable in a document as a map (`to_document`), so a page
can say a stored sentence in today's language rather than the one it was written in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal, Protocol, TypeAlias

__all__ = [
    "DEFAULT_LANGUAGE",
    "ENGLISH",
    "LANGUAGES",
    "N_",
    "Language",
    "Phrase",
    "Translate",
    "say_all",
]

Language = Literal["pt-BR", "en"]
LANGUAGES: tuple[Language, ...] = ("pt-BR", "en")
DEFAULT_LANGUAGE: Language = "en"


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; it is translated where it is
    said (a module-level table cannot know the language in force)."""
    return message


class Translate(Protocol):
    """`t("Clip ready: {title}", title=...)`: the message in the language, filled in;
    `t.plural("{count} clip", "{count} clips", n)`: the form for `n`."""

    def __call__(self, message: str, /, **params: object) -> str: ...

    def plural(self, singular: str, plural: str, count: int, /, **params: object) -> str: ...

    def number(self, value: float, digits: int = 3) -> str:
        """`1,234.5` / `1.234,5`: at most `digits` decimals."""
        ...

    def time(self, value: datetime, zone: tzinfo = UTC) -> str:
        """`20:00:01`: a 24-hour clock in `zone`."""
        ...


class _English:
    """The catalogs' source language: every message is already English. Its numbers and
    times are Babel's English ones (`shared.i18n`), written out without loading Babel."""

    def __call__(self, message: str, /, **params: object) -> str:
        return message.format(**params) if params else message

    def plural(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        return (singular if count == 1 else plural).format(count=count, **params)

    def number(self, value: float, digits: int = 3) -> str:
        text = f"{value:,.{digits}f}"
        return text.rstrip("0").rstrip(".") if digits else text

    def time(self, value: datetime, zone: tzinfo = UTC) -> str:
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return f"{aware.astimezone(zone):%H:%M:%S}"


ENGLISH: Translate = _English()

# What a phrase's parameter may be: text said as it is, a number (said in the language's
# format), a moment (said as a UTC clock time), another phrase, or sentences said in a row.
Param: TypeAlias = "str | int | float | datetime | Phrase | tuple[Phrase, ...]"


class Phrase:
    """A catalog message and its parameters, to be said in whatever language is in force.

    `Phrase(N_("live {duration} s"), duration=30.0)`: the message is marked where it is
    written; `say(t)` translates it and fills it in, saying each parameter in `t` too.
    """

    __slots__ = ("message", "params")

    def __init__(self, message: str, /, **params: Param) -> None:
        self.message = message
        self.params: Mapping[str, Param] = params

    def say(self, t: Translate) -> str:
        return t(self.message, **{name: _said(value, t) for name, value in self.params.items()})

    def to_document(self) -> dict[str, Any]:
        """A map Firestore stores as it is (numbers, timestamps, text, nested maps, lists)."""
        return {"message": self.message, "params": {n: _stored(v) for n, v in self.params.items()}}

    @classmethod
    def from_document(cls, data: object) -> Phrase | None:
        """The phrase `to_document` stored, or None for anything else (another tool's or an
        older version's field is left to the caller's fallback, never raised)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("message"), str):
            return None
        raw = data.get("params") or {}
        if not isinstance(raw, Mapping):
            return None
        params: dict[str, Param] = {}
        for name, value in raw.items():
            read = _read(value)
            if read is None or not isinstance(name, str):
                return None
            params[name] = read
        return cls(data["message"], **params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.message, dict(self.params)) == (
            other.message,
            dict(other.params),
        )

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"Phrase({self.message!r}, {dict(self.params)!r})"


def say_all(phrases: Iterable[Phrase], t: Translate) -> str:
    """Sentences said one after the other."""
    return " ".join(phrase.say(t) for phrase in phrases)


def _said(value: Param, t: Translate) -> str:
    if isinstance(value, Phrase):
        return value.say(t)
    if isinstance(value, tuple):
        return say_all(value, t)
    if isinstance(value, datetime):
        return t.time(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return t.number(value)
    return value


def _stored(value: Param) -> Any:
    if isinstance(value, Phrase):
        return value.to_document()
    if isinstance(value, tuple):
        return [phrase.to_document() for phrase in value]
    return value


def _read(value: object) -> Param | None:
    if isinstance(value, Mapping):
        return Phrase.from_document(value)
    if isinstance(value, list):
        phrases = [Phrase.from_document(item) for item in value]
        return None if None in phrases else tuple(p for p in phrases if p is not None)
    if isinstance(value, str | int | float | datetime) and not isinstance(value, bool):
        return value
    return None
