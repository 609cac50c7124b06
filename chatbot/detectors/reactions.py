# ruff: noqa: RUF001, RUF002  (chat in many scripts: look-alike letters are meant)
"""What one message says about a moment, in any language: reaction, clip call, decoy marks.

Chat reacts to a moment the same way everywhere, only in different scripts: laughter
(KEKW, LUL, lol, LMAO, ㅋㅋㅋ, 哈哈 and 233, hhhh, www, 草 and (笑), jaja, kkk, хаха, ههههه, xD,
mdr, 555), hype and shock (POG and its family, no way, W and L, ㄷㄷ, ㅠㅠㅠ, 卧槽, 牛, 666,
que isso, caraca, no manches, まじか, жесть, ???, !!!), emotes (EventSub fragments, and the
channel's own ones above all) and its shape: short, shouted or stretched ("NOOOO").
Patterns cover whole families (any number of ㅋ or k) so no list of spellings is needed;
`chat.keywords` adds the channel's own words on top. Words chat types as much in small talk
("gg", ㄱㄱ "go go", a lone ㅠㅠ) are left out: counted, they made calm chat look like a moment.

Chat also talks, and a crowd talking is no moment. An aside counts for nothing (`aside`): a
bot command (`!discord`, `!uptime`, a giveaway's `!enter`; the clip command and "clip" in any
language excepted), an answer to a poll typed alone (a number, one letter that is no reaction,
yes/no in any language), a line of only hearts or waves (`<3`, `peepoLove`). Talk counts as a
chatter, never as a reaction nor a shared token (`talk`): a greeting, welcome, farewell or
thank-you in any language (hi, o7, HeyGuys, olá, 안녕, 你好, привет, ありがとう), a raid or a
gifted sub; so does a line addressed to someone (`@name`). Categories, not one stream's
strings: shapes (a command, a number) and small lexicons of what every chat says.

A message with a link, or a long text, is also keyed for the decoy check (bot waves and
copypasta relays repeat it word for word); it never counts as a reaction itself.
Pure and fast: a few regex passes and a split per message, so 50,000 messages a second fit one
core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from chatbot.chat_line import Fragment

_PUNCTUATION = "!?.,:;()[]{}\"'`~*"
LAUGH = "<laugh>"  # one token for every spelling of laughter, so repetition sees one crowd

# Laughter and hype in any script, matched anywhere in the folded text. Each is split in what
# ASCII text can hold and the rest, so the common ASCII line runs only the first half.
_LAUGHTER_ASCII = (
    r"(?<![0-9])233+(?![0-9])|w{3,}|(?:ja){2,}|(?:ha){2,}|(?:he){3,}|(?:js){2,}|k{3,}|h{4,}"
    r"|(?:rs){2,}|(?<![0-9])555+(?![0-9])|\bx+d+\b|\blo+l\b|\blmf?a+o+\b|\brofl\b|\bp?tdr\b"
    r"|\bmdr\b|\bkek\w*|\blul\w*|\bomegalul\b|\bicant\b|\bpepelaugh\b|xswl"
)
_LAUGHTER_OTHER = (
    r"ㅋ{2,}|ㅎ{3,}|哈{2,}|呵{3,}|嘻{2,}|笑死|[(（]笑[)）]|草{2,}|ｗ{2,}|(?:ха){2,}|(?:ах){2,}"
    r"|ه{3,}|(?:חח){2,}|ฮ{3,}|😂|🤣|💀|😹"
)
_HYPE_ASCII = (
    r"\bno+ +wa+y+\b|\blet'?s+ *go+\b|\bno+ +shot\b|\bwhat the\b|\boh my god\b"
    r"|\bque +isso\b|\bnao +acredito\b|\bcaraca\b|\bmeu +deus\b|\bmds\b|\bnossa\b"
    r"|\bno +manches\b|\bque +locura\b|\bno +puede +ser\b|\bdios +mio\b|\bmadre +mia\b"
    r"|(?<![0-9])666+(?![0-9])|[?]{3,}|[!]{3,}"
)
_HYPE_OTHER = (
    r"\bnão +acredito\b|\bdios +mío\b|\bmadre +mía\b"
    r"|ㄷ{2,}|ㅠ{3,}|ㅜ{3,}|ㅁㅊ|ㅗㅜㅑ|대박|미쳤|ㄹㅇ|헐+|와{2,}|레전드|실화|지렸"
    r"|卧槽|我靠|牛逼|牛{2,}|离谱|绝了|好家伙|太强|泪目|破防|啊{3,}"
    r"|やば|すげ|まじか|マジか|えぐ|жесть|\bору\b|офиге|капец|ахрен|\bимба\b|вот это да"
    r"|[?？]{3,}|[!！]{3,}|😱|🔥|😳|😮|🤯"
)
_LAUGHTER_IN_ASCII = re.compile(_LAUGHTER_ASCII)
_LAUGHTER = re.compile(_LAUGHTER_ASCII + "|" + _LAUGHTER_OTHER)
_HYPE_IN_ASCII = re.compile(_HYPE_ASCII)
_HYPE = re.compile(_HYPE_ASCII + "|" + _HYPE_OTHER)
# Emote families: every spelling of POG and monka is a reaction.
_REACTION_PREFIXES = ("pog", "monka")
# "Clip it" in any language, and anyone's `!clip`, allowed or not: chat asking for a clip.
_CLIP_CALL = re.compile(r"\bclip|클립|剪辑|切片|切り抜|клип")
_LINK = re.compile(
    r"https?://|\bwww\.[\w-]+\.[a-z]|\b[\w-]+\.(?:com|net|org|tv|gg|io|ly|xyz|ru|me|co|link|shop)"
    r"\b|\bdot +com\b"
)
# A bot command: "!" and a word ("!!!" is hype, not a command).
_COMMAND = re.compile(r"\s*!(\w+)")
# Greetings, welcomes, farewells and thank-yous in any language, a raid or a gifted sub: chat
# talking to people, not reacting to the stream. Whole words in spaced scripts, as written in
# the others.
_SOCIAL = re.compile(
    r"\b(?:hi+|hey+a?|hell?o+|hiya|howdy|heyguys|vohiyo|o7|hola+|buenas|saludos|oi+|ol[áa]"
    r"|salve|ea[ei]|bom dia|boa (?:tarde|noite)|bonjour|salut|hallo|moin|merhaba|selam"
    r"|good (?:morning|afternoon|evening|night)|gn|goodnight|bye+|cya|tchau|adi[óo]s"
    r"|welcome|welc|bem[- ]vind[oa]s?|bienvenid[oa]s?|willkommen|bienvenue"
    r"|thanks?|thx|ty+|tysm|tyvm|gracias|obrigad[oa]|valeu|vlw|merci|danke|grazie"
    r"|gift\w*|subs?|subbed|subscri\w*|resub\w*|raid\w*|hype ?train"
    r"|привет\w*|здаров\w*|здравствуй\w*|ку|хай|спасибо|спс|добро пожаловать|подпис\w*"
    r"|подар\w*|рейд\w*)\b"
    r"|안녕|ㅎㅇ|하이\b|방가|어서 ?오|어서와|환영|감사|고마|구독|선물|레이드|잘자"
    r"|你好|您好|大家好|哈喽|主播好|晚上好|早上好|下午好|欢迎|谢谢|感谢|多谢|订阅|礼物|老板|拜拜|晚安"
    r"|こんにちは|こんばんは|おはよう|初見|ようこそ|いらっしゃい|ありがとう|あざ[すっ]|サブ|ギフ|レイド"
    r"|おやすみ|おつ"
)
# A raiding channel's emote ("pixelRaid"): the raid named inside a camel-cased emote.
_RAID_EMOTE = re.compile(r"[a-z0-9](?:Raid|RAID)\b")
# Emotes that greet or show affection (a wave, a heart, a hug): talk, not a reaction.
_SOCIAL_EMOTE = re.compile(
    r"(?i:love|heart|hug|kiss|wave|bye|unity)$|[a-z](?:Hey|Hi)$|^(?i:<3|o7|heyguys|vohiyo)$"
)
# An answer to a poll typed alone: yes or no in any language (one letter and numbers by shape).
_VOTES: frozenset[str] = frozenset(
    {
        "yes", "no", "yea", "yeah", "yep", "yup", "nah", "nope", "sim", "não", "nao", "si", "sí",
        "oui", "non", "ja", "nein", "да", "нет", "ага", "ㅇㅇ", "ㄴㄴ", "네", "넹", "아니",
        "아니요", "是", "不", "要", "不要", "对", "不对", "はい", "いいえ", "うん", "evet",
        "hayır", "tak", "nie",
    }
)  # fmt: skip
_NUMBER = re.compile(r"\d+\D{0,2}")
_RUNS = re.compile(r"(.)\1{2,}")

# Single tokens that are reactions wherever they are typed (emote names and short words).
REACTION_WORDS: frozenset[str] = frozenset(
    {
        "pog", "poggers", "pogchamp", "pogu", "poggies", "pogo", "kekw", "lul", "lulw",
        "omegalul", "monkas", "monkaw", "pepega", "sadge", "sheesh", "wtf", "omg", "holy",
        "insane", "clutch", "wow", "w", "ww", "l", "ll", "ayo", "bruh", "gigachad", "ez", "f",
        "ggez", "lfg", "letsgo", "goated", "cracked",
        "dayum", "rip", "clap", "ezclap", "5head", "pepehands", "biblethump", "notlikethis",
        "dansgame", "wutface", "kreygasm", "pagchomp", "pagman", "copium", "jpp", "4head",
        "caraca", "caralho", "mds", "nossa", "socorro", "eita", "vish", "clipa", "uau", "pqp",
        "jaja", "jajaja", "golazo", "brutal", "increible", "joder", "hostia", "krass",
        "лол", "кек", "жесть", "вау", "ору", "ого", "имба",
        "草", "牛", "卧槽", "6", "666", "nb", "神", "헐", "와", "ㄷㄷ",
    }
)  # fmt: skip


class Reading(NamedTuple):
    """One message, read: `reaction` in 0..1, canonical `tokens` for repetition (at most
    three), `echo_key` for a text a bot wave or a relay would repeat, `emotes` by name,
    `aside` for a line that counts for nothing (a command, a poll answer, only hearts), `talk`
    for a greeting, welcome, thank-you or raid message (a chatter, never a reaction)."""

    reaction: float
    clip_call: bool
    tokens: tuple[str, ...]
    echo_key: str | None
    link: bool
    emotes: tuple[str, ...]
    aside: bool = False
    talk: bool = False


_ASIDE = Reading(0.0, False, (), None, False, (), True)


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


def _command(text: str, clip_command: str) -> bool | None:
    """None when `text` is no bot command; else whether it asks for a clip (the clip command,
    or "clip" in any language as its name: `!clipa`, `!clipit`, `!클립`)."""
    if not text.lstrip().startswith("!"):
        return None
    found = _COMMAND.match(text)
    if found is None:
        return None
    name = found.group(1).casefold()
    return name == clip_command.casefold() or bool(_CLIP_CALL.search(name))


def _social(text: str, folded: str) -> bool:
    """A greeting, welcome, farewell or thank-you, a raid or a gift, in any language."""
    return bool(_SOCIAL.search(folded)) or ("raid" in folded and bool(_RAID_EMOTE.search(text)))


def _vote(token: str) -> bool:
    """A poll answer typed alone: a number, one letter that is no reaction ("W", "L" and "F"
    are), yes or no in any language."""
    token = token.strip(_PUNCTUATION)
    if len(token) == 1:
        return (token.isalpha() and token not in REACTION_WORDS) or token.isdigit()
    return token in _VOTES or bool(_NUMBER.fullmatch(token))


def read_message(
    text: str,
    fragments: Sequence[Fragment],
    keywords: Mapping[str, float],
    known_emotes: frozenset[str] | set[str],
    broadcaster_id: str,
    clip_command: str = "clip",
) -> Reading:
    """Read one message. `known_emotes`: emote names this channel's fragments showed before,
    so a line that arrives without fragments (a replay) still counts its emotes."""
    folded = text.casefold()
    command = _command(text, clip_command)
    if command is not None:
        return Reading(0.0, True, (), None, False, ()) if command else _ASIDE
    raw_tokens = folded.split()
    link = ("." in folded or "/" in folded or "dot" in folded) and bool(_LINK.search(folded))
    long_text = len(raw_tokens) >= 4 and len(folded) >= 24
    echo_key = " ".join(raw_tokens) if (link or long_text) else None
    if link:
        return Reading(0.0, False, (), echo_key, True, ())
    ascii_only = folded.isascii()
    laughing = bool((_LAUGHTER_IN_ASCII if ascii_only else _LAUGHTER).search(folded))
    hyped = not laughing and bool((_HYPE_IN_ASCII if ascii_only else _HYPE).search(folded))
    if len(raw_tokens) == 1 and not (laughing or hyped) and _vote(raw_tokens[0]):
        return _ASIDE
    if _social(text, folded):  # a chatter talking to people: a chatter, never a reaction
        return Reading(0.0, False, (), echo_key, False, (), False, True)
    emotes: list[str] = []
    own = False
    emote_only = False
    addressed = False
    waves = 0  # hearts and waves: talk, not a reaction
    if fragments:
        other = False
        for fragment in fragments:
            if fragment.kind == "emote":
                if _SOCIAL_EMOTE.search(fragment.text):
                    waves += 1
                    continue
                emotes.append(fragment.text)
                own = own or fragment.owner_id == broadcaster_id
            elif fragment.kind == "mention":
                addressed = True
            elif fragment.kind == "text" and fragment.text.strip():
                other = True
        emote_only = bool(emotes) and not other
        if waves and not emotes and not other and not addressed:
            return _ASIDE
    else:
        if all(_SOCIAL_EMOTE.search(t) for t in text.split()):
            return _ASIDE
        if known_emotes:
            emotes = [t for t in text.split() if t in known_emotes]
            emote_only = bool(emotes) and len(emotes) == len(raw_tokens)
    if not addressed and "@" in text:
        addressed = any(t.startswith("@") and len(t) > 1 for t in raw_tokens)
    if addressed:  # a chatter talking to another: a chatter, never a reaction
        return Reading(0.0, bool(_CLIP_CALL.search(folded)), (), echo_key, False, ())
    weight = 1.0 if laughing or hyped else 0.0
    if weight < 1.0:
        for token in raw_tokens:
            key = token.strip(_PUNCTUATION)
            if (
                key in REACTION_WORDS
                or key.startswith(_REACTION_PREFIXES)
                or (len(key) > 3 and _canonical(key) in REACTION_WORDS)  # "LLLL", "Wwww"
            ):
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
        or folded.startswith(_REACTION_PREFIXES)
        or folded in keywords
        or bool(_LAUGHTER.search(folded))
        or bool(_HYPE.search(folded))
    )
