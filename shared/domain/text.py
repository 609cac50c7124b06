"""Text we did not write (chat, the LLM, vision, Twitch, an OIDC provider) made safe; pure.

Any viewer can type into chat, and the LLM reads chat, so their words may carry links,
Markdown images, HTML, bidi overrides or invisible characters meant to track the operator,
plant a phishing link or spoof what is shown. The single cleaning pass is `clean_text`; each
use has one named contract on top of it:

- `clean_title`: a candidate's title (the schema validator): cleaned, None when nothing is
  left, and REFUSED (ValueError) over 100 characters, so an operator or a service learns its
  title is too long instead of seeing it cut.
- `fit_title`: titles from chat, the LLM and heuristics: cleaned and SHORTENED to 100
  characters before validation, never refused (a chatter cannot fix their message).
- `plain_excerpt`: context excerpts and chat text: cleaned and shortened to a given length.
- `visible_text`: text we must keep word for word (operator names, e-mails, Twitch's error
  messages): invisible and control characters out, whitespace folded, nothing defanged.
- `markdown_literal`: for a Markdown renderer (Streamlit, Discord): shows text as written.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from shared.domain.language import N_, Phrase
from shared.domain.validation import Refusal

MAX_TITLE_CHARS = 100
ELLIPSIS = "…"

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Characters that look blank but are letters or symbols: a "title" of them is empty.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: needed by emoji sequences and some scripts
_TAGS = range(0xE0020, 0xE0080)
_BLACK_FLAG = "\U0001f3f4"
# Tag characters spell subdivision flags after 🏴 (England: 🏴 g b e n g, cancel tag); any
# other run of them is hidden text (used to smuggle instructions to LLMs).
_TAG_RUN = re.compile(_BLACK_FLAG + "?[\U000e0020-\U000e007f]+")
_FLAG_TAGS = re.compile(_BLACK_FLAG + "[\U000e0020-\U000e007e]{1,6}\U000e007f")
_CUT_TRIM = " !?.,:;()[]{}\"'`~*\u200c\u200d"

_SCHEME_SLASHES = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]{0,31}):(?=[/\\])")
_SCHEME_BARE = re.compile(r"(?i)\b(javascript|vbscript|livescript|data|file|blob|mailto):(?=\S)")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_DOMAIN_DOT = re.compile(r"(?<=[^\W_])\.(?=(?:[^\W\d_]{2,63}|xn--[a-z0-9\-]+)(?![^\W_]))")
_IDEOGRAPHIC_DOT = re.compile(r"(?<=[A-Za-z0-9])\u3002(?=[A-Za-z]{2,})")
_LINK_TAIL = re.compile(r"\]\s*\(")
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")

_MD_ALWAYS = frozenset("\\`*[]<>$&|~#@{}")
_ORDERED_LIST = re.compile(r"\d{1,9}(?=[.)](?:\s|$))")


def _joinable(ch: str) -> bool:
    """A joiner stays only between two non-ASCII letters, marks or emoji (👨‍👩‍👧, می‌خواهم);
    unassigned code points count, as newer emoji are unassigned in Python's Unicode table."""
    category = unicodedata.category(ch)
    return not ch.isascii() and (category[0] in "LMS" or category == "Cn")


def _invisible(ch: str, category: str) -> bool:
    """Bidi controls, format characters, private use, lone surrogates and non-characters."""
    if ch in _BIDI_CONTROLS or category in ("Cf", "Co", "Cs"):
        return True
    return category == "Cn" and (0xFDD0 <= ord(ch) <= 0xFDEF or ord(ch) & 0xFFFE == 0xFFFE)


def _flag_or_nothing(run: re.Match[str]) -> str:
    """A subdivision flag stays whole; other tag characters go (a 🏴 before them stays)."""
    text = run.group(0)
    if _FLAG_TAGS.fullmatch(text):
        return text
    return _BLACK_FLAG if text.startswith(_BLACK_FLAG) else ""


def visible_text(text: str) -> str:
    """Control and bidi characters, stray zero-width characters and whitespace runs folded.

    Emoji (with their joiners, variation selectors and flag tags) and every script stay.
    """
    out: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in _JOINERS:
            if not out or out[-1] not in _JOINERS:
                out.append(ch)
        elif category == "Cc" or ch in _BLANK_LOOKING:
            out.append(" ")
        elif ord(ch) in _TAGS:
            out.append(ch)  # judged as a run below
        elif not _invisible(ch, category):
            out.append(ch)
    kept = [
        ch
        for i, ch in enumerate(out)
        if ch not in _JOINERS
        or (i > 0 and i + 1 < len(out) and _joinable(out[i - 1]) and _joinable(out[i + 1]))
    ]
    text = _TAG_RUN.sub(_flag_or_nothing, "".join(kept))
    return " ".join(text.split())


def _defang(text: str) -> str:
    """No renderer or chat client makes a link of it: `http[:]//evil[.]com`, `javascript[:]`."""
    text = _SCHEME_SLASHES.sub(r"\1[:]", text)
    text = _SCHEME_BARE.sub(r"\1[:]", text)
    text = _IPV4.sub(lambda match: match.group(0).replace(".", "[.]"), text)
    text = _DOMAIN_DOT.sub("[.]", text)
    return _IDEOGRAPHIC_DOT.sub("[.]", text)


def _unmarkup(text: str) -> str:
    """Break the two shapes that become links or elements: `](` and `<tag`."""
    return _TAG_OPEN.sub("< ", _LINK_TAIL.sub("] (", text))


def clean_text(text: str) -> str:
    """The one cleaning pass: compatibility forms folded (a fullwidth 'http' is 'http'),
    invisible characters out, whitespace folded, links defanged, markup broken.

    Idempotent, so a title cleaned in chat passes the candidate validator unchanged; '…' is
    kept (NFKC would make it '...', and a shortened title longer)."""
    text = ELLIPSIS.join(unicodedata.normalize("NFKC", part) for part in text.split(ELLIPSIS))
    return _unmarkup(_defang(visible_text(text)))


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a space when one is in the last fifth, with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(_CUT_TRIM) + ELLIPSIS


def require_text(value: Any) -> str:
    """A validator's input that must be a string, or the refusal that says so."""
    if not isinstance(value, str):
        raise Refusal(Phrase(N_("must be text")))
    return value


def check_length(text: str, limit: int) -> str:
    """`text` when it has at most `limit` characters; else refused with both counts, for
    fields whose author can shorten them (unlike `fit_title`'s)."""
    if len(text) > limit:
        raise Refusal(
            Phrase(
                N_("must be at most {limit} characters, got {count}"),
                limit=limit,
                count=str(len(text)),
            )
        )
    return text


def clean_title(value: Any) -> str | None:
    """A candidate's title: cleaned; empty means 'no title'; over 100 characters is refused."""
    if value is None:
        return None
    title = clean_text(require_text(value))
    return check_length(title, MAX_TITLE_CHARS) if title else None


def fit_title(value: str | None) -> str | None:
    """A title from chat, the LLM or a heuristic: cleaned and cut to fit, never refused."""
    if not value:
        return None
    title = clean_text(value)
    limit = MAX_TITLE_CHARS
    while len(title) > MAX_TITLE_CHARS:
        # Cleaning a cut can defang anew (a cut 'evil.co2' ends in the domain 'evil.co').
        title = clean_text(shorten(title, limit))
        limit -= 5
    return title or None


def plain_excerpt(value: str | None, limit: int) -> str:
    """Chat text or an LLM's context as a cleaned excerpt of at most `limit` characters."""
    return shorten(clean_text(value or ""), limit)


def markdown_literal(text: str) -> str:
    """Markdown that renders as exactly `text` (visible characters, one line): no link, image,
    HTML, math, directive or formatting. Punctuation that only matters in some positions (the
    `.` of `www.` and the `:` of `http:` or `:red[`, which GFM and Streamlit turn into links
    and directives; `_` at a word edge; a leading list marker) is escaped there only, so
    ordinary sentences and ids stay readable in the source."""
    text = visible_text(text)
    listed = _ORDERED_LIST.match(text)
    marker = listed.end() if listed else -1
    out: list[str] = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if (
            ch in _MD_ALWAYS
            or (ch == "_" and not (before.isalnum() and after.isalnum()))
            or (ch == "." and text[max(i - 3, 0) : i].casefold() == "www")
            or (ch == ":" and (after.isalpha() or after in ("/", "\\")))
            or (ch in "-+=" and i == 0)
            or i == marker
        ):
            out.append("\\")
        out.append(ch)
    return "".join(out)
