"""The channel's language (control plane `language`, docs/architecture.md §3.3) and how pure code
speaks it.

Pure code never loads a catalog: it marks its sentences with `N_` where they are defined
(so `pybabel extract` finds them) and takes a `Translate` callable where it says them. The
catalogs themselves are read by `shared.i18n`, which hands out the real translators; the
English one is the identity, so a caller that passes nothing speaks English.

Messages are written with named `{placeholders}`, filled in after translation, so a
translation may move them but must keep every one (tests/test_i18n_catalog.py checks).
"""

from __future__ import annotations

from typing import Literal, Protocol

__all__ = ["DEFAULT_LANGUAGE", "ENGLISH", "LANGUAGES", "N_", "Language", "Translate"]

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


class _English:
    """The catalogs' source language: every message is already English."""

    def __call__(self, message: str, /, **params: object) -> str:
        return message.format(**params) if params else message

    def plural(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        return (singular if count == 1 else plural).format(count=count, **params)


ENGLISH: Translate = _English()
