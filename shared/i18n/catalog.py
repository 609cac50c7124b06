"""The catalogs and the translator they make (see `shared.i18n`).

A compiled `.mo` next to its `.po` is used when it is at least as new (`bash local/catalog
compile`, run by `local/test`); otherwise the `.po` is compiled in memory with Babel, so a
checkout or a deployed copy without the binary speaks the same words.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from shared.domain.language import DEFAULT_LANGUAGE, LANGUAGES, N_, Language

DOMAIN = "byteclips"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The channel's language as the control plane names it, as gettext and Babel name it.
LOCALES: dict[Language, str] = {"pt-BR": "pt_BR", "en": "en"}
# A moment with its date, as operators read it: the product's ISO style in English, the
# locale's medium date in Portuguese (`24 de nov. de 2026`); a 24-hour clock and the zone.
WHEN_PATTERNS: dict[Language, str | None] = {"en": "yyyy-MM-dd", "pt-BR": None}


def po_path(language: Language) -> Path:
    return LOCALE_DIR / LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(po: Path) -> bytes:
    """The `.mo` bytes of a `.po`, as `pybabel compile` writes them (fuzzy entries left out)."""
    with po.open("rb") as source:
        catalog = read_po(source)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _load(language: Language) -> gettext.NullTranslations:
    po = po_path(language)
    if not po.exists():
        return gettext.NullTranslations()
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    return gettext.GNUTranslations(io.BytesIO(compile_po(po)))


def _aware(value: datetime) -> datetime:
    """Firestore gives aware datetimes; a naive one is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True)
class Translator:
    """One language's words and formats. Safe to share between threads (read-only)."""

    language: Language
    catalog: gettext.NullTranslations

    @property
    def locale(self) -> Locale:
        return Locale.parse(LOCALES[self.language])

    def __call__(self, message: str, /, **params: object) -> str:
        """The message in this language, its `{placeholders}` filled in."""
        text = self.catalog.gettext(message)
        return text.format(**params) if params else text

    def plural(self, singular: str, plural: str, count: int, /, **params: object) -> str:
        """`t.plural("{count} clip", "{count} clips", n)`: the form for `count`."""
        text = self.catalog.ngettext(singular, plural, count)
        return text.format(count=self.number(count), **params)

    def number(self, value: float, digits: int = 3) -> str:
        """`1,234.5` / `1.234,5`."""
        return format_decimal(value, format=f"#,##0.{'#' * digits}", locale=self.locale)

    def fixed(self, value: float, places: int = 1) -> str:
        """`8.0` / `8,0`: always `places` decimals."""
        return format_decimal(value, format=f"#,##0.{'0' * places}", locale=self.locale)

    def percent(self, fraction: float) -> str:
        return format_percent(fraction, locale=self.locale)

    def time(self, value: datetime, zone: tzinfo = UTC) -> str:
        """`20:00:01` in the given zone (24-hour in both languages: a stream's clock)."""
        return format_time(_aware(value), "HH:mm:ss", tzinfo=zone, locale=self.locale)

    def date(self, value: datetime, zone: tzinfo = UTC) -> str:
        return format_date(_aware(value).astimezone(zone), "medium", locale=self.locale)

    def when(self, value: datetime, zone: tzinfo = UTC) -> str:
        """`2026-11-24 20:00:01 UTC` / `24 de nov. de 2026 20:00:01 UTC`, in `zone`."""
        day = WHEN_PATTERNS[self.language] or self.locale.date_formats["medium"].pattern
        return format_datetime(
            _aware(value), f"{day} HH:mm:ss zzz", tzinfo=zone, locale=self.locale
        )

    def span(self, seconds: float) -> str:
        """A length of time at a glance: `3 minutes` / `3 minutos`."""
        return format_timedelta(timedelta(seconds=abs(seconds)), threshold=1.5, locale=self.locale)

    def ago(self, then: datetime | None, now: datetime) -> str:
        """`12 seconds ago` / `há 12 segundos`; `in 5 seconds` for a time still ahead."""
        if then is None:
            return self(N_("never"))
        delta = _aware(then) - _aware(now)
        if abs(delta.total_seconds()) < 1:
            return self(N_("just now"))
        return format_timedelta(delta, threshold=1.5, add_direction=True, locale=self.locale)


@cache
def translator(language: str | None = DEFAULT_LANGUAGE) -> Translator:
    """The translator for a control-plane `language`; anything else speaks English."""
    chosen: Language = next((known for known in LANGUAGES if known == language), "en")
    return Translator(chosen, _load(chosen))
