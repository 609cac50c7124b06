# ruff: noqa: RUF001, RUF002  (chat in many scripts: look-alike letters are meant)
"""What one message says about a moment, in any language: reaction, clip call, decoy marks.

Chat reacts to a moment the same way everywhere, only in different scripts: laughter
(KEKW, LUL, lol, ㅋㅋㅋ, 哈哈 and 233, hhhh, www and (笑), jaja, kkk, хаха, ههههه, xD, mdr,
555), hype and shock (POG, no way, ㄷㄷ, 卧槽, que isso, caraca, NÃO ACREDITO, ???), emotes
(EventSub fragments, and the channel's own ones above all) and its shape: short, shouted or
stretched ("NOOOO").
Patterns cover whole families (any number of ㅋ or k) so no list of spellings is needed;
`chat.keywords` adds the channel's own words on top.

A message with a link, or a long text, is also keyed for the decoy check (bot waves and
copypasta relays repeat it word for word); it never counts as a reaction itself.
Pure and fast: one regex pass and a split per message, so 50,000 messages a second fit one
core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from chatbot.chat_line import Fragment

_PUNCTUATION = "!?.,:;()[]{}\"'`~*"
LAUGH = "<laugh>"  # one token for every spelling of laughter, so repetition sees one crowd

# Laughter in any script: matched anywhere in the folded text.
_LAUGHTER = re.compile(
    r"ㅋ{2,}|ㅎ{3,}|哈{2,}|呵{3,}|嘻{2,}|笑死|xswl|[(（]笑[)）]|(?<![0-9])233+(?![0-9])|w{3,}|ｗ{2,}"
    r"|(?:ja){2,}|(?:ha){2,}|(?:he){3,}|(?:js){2,}|k{3,}|h{4,}|(?:rs){2,}|(?:ха){2,}|(?:ах){2,}"
    r"|ه{3,}|(?:חח){2,}|ฮ{3,}"
    r"|(?<![0-9])555+(?![0-9])|\bx+d+\b|\blo+l\b|\blmf?a+o+\b|\brofl\b|\bp?tdr\b|\bmdr\b"
    r"|\bkek\w*|\blul\w*|\bomegalul\b|\bicant\b|\bpepelaugh\b|😂|🤣|💀|😹"
)
# Hype, shock and disbelief, as phrases or script-specific runs.
_HYPE = re.compile(
    r"\bno+ +wa+y+\b|\blet'?s+ +go+\b|\bno+ +shot\b|\bwhat the\b|\boh my god\b|\bno+ +way\b"
    r"|\bque +isso\b|\bn[ãa]o +acredito\b|\bcaraca\b|\bmeu +deus\b|\bmds\b|\bnossa\b"
    r"|ㄷ{2,}|ㅗㅜㅑ|대박|미쳤|ㄹㅇ|헐+|와{2,}|卧槽|我靠|牛逼|(?<![0-9])666+(?![0-9])|离谱|绝了"
    r"|好家伙|啊{3,}|やば|すげ|жесть|\bору\b|[?？]{3,}|[!！]{3,}|😱|🔥|😳|😮|🤯"
)
# "Clip it" in any language, and anyone's `!clip`, allowed or not: chat asking for a clip.
_CLIP_CALL = re.compile(r"\bclip|클립|剪辑|切片|切り抜|клип")
_LINK = re.compile(
    r"https?://|\bwww\.[\w-]+\.[a-z]|\b[\w-]+\.(?:com|net|org|tv|gg|io|ly|xyz|ru|me|co|link|shop)"
    r"\b|\bdot +com\b"
)
_RUNS = re.compile(r"(.)\1{2,}")

# Single tokens that are reactions wherever they are typed (emote names and short words).
REACTION_WORDS: frozenset[str] = frozenset(
    {
        "pog", "poggers", "pogchamp", "pogu", "poggies", "pogo", "kekw", "lul", "lulw",
        "omegalul", "monkas", "monkaw", "pepega", "sadge", "sheesh", "wtf", "omg", "holy",
        "insane", "clutch", "wow", "w", "ayo", "bruh", "gigachad", "ez", "f",
        "caraca", "caralho", "mds", "nossa", "socorro", "eita", "vish", "clipa", "uau",
        "jaja", "jajaja", "лол", "кек", "жесть", "вау", "ору",
        "草", "牛", "卧槽", "6", "666", "nb", "헐", "와", "ㄷㄷ",
    }
)  # fmt: skip


class Reading(NamedTuple):
    """One message, read: `reaction` in 0..1, canonical `tokens` for repetition (at most
    three), `echo_key` for a text a bot wave or a relay would repeat, `emotes` by name."""

    reaction: float
    clip_call: bool
    tokens: tuple[str, ...]
    echo_key: str | None
    link: bool
    emotes: tuple[str, ...]


def _canonical(token: str) -> str:
    stripped = token.strip(_PUNCTUATION)
    if not stripped:
        return token[:2]
    if len(stripped) > 3 and stripped[-1] == stripped[-2] == stripped[-3]:
        stripped = _RUNS.sub(r"\1\1", stripped)
    return stripped


def _shouted(text: str, tokens: Sequence[str]) -> bool:
    """Short and in capitals or stretched ("NO WAY", "yoooo", "WHAT"): how a crowd shouts."""
    if len(tokens) > 3 or len(text) > 24:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 2 and text.upper() == text and text.lower() != text:
        return True
    return bool(_RUNS.search(text))


def strongest_keyword(text: str, keywords: Mapping[str, float]) -> tuple[str, str, float] | None:
    """(folded keyword, token as typed, weight) of the heaviest configured keyword in `text`."""
    best: tuple[str, str, float] | None = None
    for token in text.split():
        key = token.casefold()
        weight = keywords.get(key)
        if weight is None:
            key = key.strip(_PUNCTUATION)
            weight = keywords.get(key)
            if weight is None:
                continue
        if best is None or weight > best[2]:
            best = (key, token.strip(_PUNCTUATION), weight)
    return best


def read_message(
    text: str,
    fragments: Sequence[Fragment],
    keywords: Mapping[str, float],
    known_emotes: frozenset[str] | set[str],
    broadcaster_id: str,
) -> Reading:
    """Read one message. `known_emotes`: emote names this channel's fragments showed before,
    so a line that arrives without fragments (a replay) still counts its emotes."""
    folded = text.casefold()
    raw_tokens = folded.split()
    link = ("." in folded or "/" in folded or "dot" in folded) and bool(_LINK.search(folded))
    long_text = len(raw_tokens) >= 4 and len(folded) >= 24
    echo_key = " ".join(raw_tokens) if (link or long_text) else None
    if link:
        return Reading(0.0, False, (), echo_key, True, ())
    emotes: list[str] = []
    own = False
    emote_only = False
    if fragments:
        other = False
        for fragment in fragments:
            if fragment.kind == "emote":
                emotes.append(fragment.text)
                own = own or fragment.owner_id == broadcaster_id
            elif fragment.kind == "text" and fragment.text.strip():
                other = True
        emote_only = bool(emotes) and not other
    elif known_emotes:
        emotes = [t for t in text.split() if t in known_emotes]
        emote_only = bool(emotes) and len(emotes) == len(raw_tokens)
    laughing = bool(_LAUGHTER.search(folded))
    weight = 1.0 if laughing or _HYPE.search(folded) else 0.0
    if weight < 1.0:
        for token in raw_tokens:
            key = token.strip(_PUNCTUATION)
            if key in REACTION_WORDS:
                weight = 1.0
                break
            configured = keywords.get(key)
            if configured is not None:
                weight = max(weight, min(1.0, configured))
    if emotes:
        weight = max(weight, 1.0 if emote_only and own else 0.8 if emote_only else 0.5)
    if weight < 0.5 and _shouted(text, raw_tokens):
        weight = 0.5
    tokens: tuple[str, ...] = ()
    if len(raw_tokens) <= 6:
        picked: list[str] = [LAUGH] if laughing else []
        for token in raw_tokens:
            key = _canonical(token)
            if key and key not in picked:
                picked.append(key)
                if len(picked) == 3:
                    break
        tokens = tuple(picked)
    clip_call = bool(_CLIP_CALL.search(folded))
    return Reading(weight, clip_call, tokens, echo_key, False, tuple(emotes))


def is_reaction_token(token: str, keywords: Mapping[str, float]) -> bool:
    """Whether one typed token is a reaction (for titles: "KEKW moment" vs a plain word)."""
    folded = token.casefold().strip(_PUNCTUATION)
    return (
        folded in REACTION_WORDS
        or folded in keywords
        or bool(_LAUGHTER.search(folded))
        or bool(_HYPE.search(folded))
    )
