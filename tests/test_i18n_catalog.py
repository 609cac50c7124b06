"""The message catalogs: every message the source says has a pt-BR translation that keeps
its placeholders, the template is in step with the source, and the checks really fail."""

from __future__ import annotations

import gettext
import io
import shutil
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from shared.domain.language import LANGUAGES, Language
from shared.i18n import LOCALE_DIR, po_path, translator
from shared.i18n import catalog as catalog_module

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("shared", "chatbot", "streamlit_app", "functions")


def extracted(tmp_path: Path) -> Catalog:
    """What `bash local/catalog extract` finds in the source now (pybabel, in process)."""
    out = tmp_path / "extracted.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "pyproject.toml"), "--no-location"]
        + ["--omit-header", "-o", str(out)]
        + [str(ROOT / source) for source in SOURCES]
    )
    with out.open("rb") as template:
        return read_po(template)


def placeholders(text: str) -> set[str]:
    """The `{names}` of a brace-format message (a malformed one raises ValueError)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


MessageId = str | tuple[str, ...]


def problems(messages: Catalog, source_ids: set[MessageId]) -> list[str]:
    """Each message said in the source that has no translation here, or whose translation
    drops or invents a placeholder."""
    found: list[str] = []
    for wanted in sorted(source_ids, key=str):
        message = messages.get(wanted)
        forms: list[str] = []
        if message is not None:
            string = message.string
            forms = [string] if isinstance(string, str) else list(string or ())
        if message is None or message.fuzzy or not all(forms):
            found.append(f"no translation: {wanted!r}")
            continue
        ids = list(wanted) if isinstance(wanted, tuple) else [wanted]
        expected: set[str] = set().union(*(placeholders(text) for text in ids))
        for form in forms:
            try:
                names = placeholders(form)
            except ValueError as error:
                found.append(f"malformed translation of {wanted!r}: {error}")
                continue
            if names != expected:
                found.append(
                    f"placeholders of {wanted!r}: {sorted(names)} instead of {sorted(expected)}"
                )
    return found


def read_catalog(language: Language) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory: pytest.TempPathFactory) -> set[MessageId]:
    template = extracted(tmp_path_factory.mktemp("catalog"))
    ids: set[MessageId] = {
        message.id if isinstance(message.id, str) else tuple(message.id)
        for message in template
        if message.id
    }
    assert len(ids) > 300, "the extraction found almost nothing: check [tool.babel]"
    return ids


def test_every_message_of_the_source_has_a_pt_br_translation_with_its_placeholders(source_ids):
    assert problems(read_catalog("pt-BR"), source_ids) == []


def test_the_template_is_in_step_with_the_source(source_ids):
    with (LOCALE_DIR / "byteclips.pot").open("rb") as template:
        committed = {message.id for message in read_po(template) if message.id}
    assert committed == source_ids, "run `bash local/catalog update` and translate what is new"


def test_the_check_fails_on_a_missing_translation_and_on_a_dropped_placeholder():
    messages = Catalog(locale="pt_BR")
    messages.add("Clip ready: {title}", "Clip pronto")
    messages.add("{mention} try again in {seconds} s.", "{mention} tenta de novo em {segundos} s.")
    messages.add("Open {url}", "Abra {url}")
    messages.add("Untranslated", "")
    messages.add("Guessed", "Chutado", flags=["fuzzy"])
    found = problems(
        messages,
        {
            "Clip ready: {title}",
            "{mention} try again in {seconds} s.",
            "Open {url}",
            "Untranslated",
            "Guessed",
            "Never added",
        },
    )
    assert found == [
        "placeholders of 'Clip ready: {title}': [] instead of ['title']",
        "no translation: 'Guessed'",
        "no translation: 'Never added'",
        "no translation: 'Untranslated'",
        "placeholders of '{mention} try again in {seconds} s.': ['mention', 'segundos'] instead "
        "of ['mention', 'seconds']",
    ]


def test_the_pt_br_translator_speaks_portuguese_and_english_is_the_source():
    pt, en = translator("pt-BR"), translator("en")
    assert pt("Clip ready: {title}", title="“GG”") == "Clip pronto: “GG”"
    assert en("Clip ready: {title}", title="“GG”") == "Clip ready: “GG”"
    assert translator("fr").language == "en"
    assert set(LANGUAGES) == {"pt-BR", "en"}


def test_babel_formats_follow_the_language():
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    pt, en = translator("pt-BR"), translator("en")
    assert (pt.number(1234.5), en.number(1234.5)) == ("1.234,5", "1,234.5")
    now = datetime(2026, 11, 24, 20, 0, 1, tzinfo=UTC)
    assert pt.ago(now - timedelta(seconds=30), now) == "há 30 segundos"
    assert en.ago(now - timedelta(seconds=30), now) == "30 seconds ago"
    assert pt.time(now, ZoneInfo("America/Sao_Paulo")) == "17:00:01"
    assert pt.when(now) == "24 de nov. de 2026 20:00:01 UTC"
    assert en.when(now) == "2026-11-24 20:00:01 UTC"


def test_the_po_is_used_when_no_compiled_catalog_is_newer(tmp_path, monkeypatch):
    """A checkout without `pybabel compile` (or with a stale .mo) speaks the .po's words."""
    copied = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copied, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalog_module, "LOCALE_DIR", copied)
    loaded = catalog_module._load("pt-BR")
    assert loaded.gettext("Clip ready: {title}") == "Clip pronto: {title}"
    compiled = gettext.GNUTranslations(io.BytesIO(catalog_module.compile_po(po_path("pt-BR"))))
    assert compiled.gettext("this moment") == "esse momento"
