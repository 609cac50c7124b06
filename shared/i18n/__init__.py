"""What Byte says, in the channel's language: gettext catalogs kept with Babel.

`translator(language)` hands out the process's one `Translator` per language (the catalog is
read once); its call translates a message and fills in its `{placeholders}`, and its
`number`, `time`, `datetime` and `ago` format with Babel in that language, in the operator's
time zone where the caller knows it. English is the catalogs' source language, so it needs
no catalog; a message missing from a catalog is said in English.

Reading the catalog is I/O (a package file), so this sits above the pure domain
(pyproject.toml [tool.importlinter]); pure code takes a `shared.domain.language.Translate`.
The catalogs: `shared/i18n/locale/byteclips.pot` (extracted), `.../pt_BR/LC_MESSAGES/
byteclips.po` (translated); `bash local/catalog extract|update|compile` keeps them.
"""

from shared.i18n.catalog import DOMAIN, LOCALE_DIR, Translator, po_path, translator

__all__ = ["DOMAIN", "LOCALE_DIR", "Translator", "po_path", "translator"]
