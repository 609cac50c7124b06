# ruff: noqa: RUF001, RUF002  (chat in many scripts: look-alike letters are meant)
"""Evaluation: chat moment detection against the naive rate rule, on generated chat.

    .venv/bin/python bench/chat_detection.py [--seeds 1 2 3] [--streams 8] [--minutes 60]
    .venv/bin/python bench/chat_detection.py --write-log chat.jsonl --seed 4   # one stream

A generator of chat that tries to be chat in general rather than one channel:
- audiences from 20 to 20,000 viewers (log-uniform), chat rate per viewer varying by stream,
  a chat rate that wanders (correlated log-normal noise, so real chat's burstiness is there),
  heavy-tailed chatter activity (a few chatters say most);
- seven chat cultures (English, Korean, Chinese, Spanish, Brazilian Portuguese, Russian,
  Japanese) with their casual talk and their laughter and hype, global emotes, the channel's
  own emotes (as EventSub fragments in half of the streams, text only in the others),
  third-party emotes (text only) and a channel meme word;
- moments of different kinds (laughter, hype, shock, clip calls), sizes (a few chatters to
  most of the room, plus lurkers who only speak then) and lengths, with ramps: each reacting
  chatter starts after the stream delay and a reaction time, spread over the ramp;
- every decoy of the issue: a bot wave (fresh accounts, one link or one long text), a
  copypasta relay, one spammer, and an audience that grows slowly;
- bursts of chat that talks rather than reacts, sized to the room (a share of the distinct
  chatters of a minute) and in the stream's language: a greeting wave as the stream starts; a
  streamer's poll answered "1"/"2", yes/no, a/b (some chatters twice, some lurkers); a question
  answered with many different short words ("what should I name him?"); a raid (a few to 1,500
  accounts never seen, one raid message each once to three times, then greetings, regulars
  welcoming them, a quarter of the raiders chatting on for minutes); a gift-sub wave (thank-yous
  to the gifter, hearts, "W @gifter"); `!commands` all along answered by the channel's bot, and
  a giveaway keyword (`!enter`) typed by regulars and lurkers; a chant the streamer asks for
  ("spam PogChamp": arguably a moment, counted as none). They come from their own random
  stream, so everything else is what it was for a seed.

What it still lacks (so a figure here is an upper bound for real chat): reaction vocabulary
beyond what `chatbot/detectors/reactions.py` reads (the generator's reaction lines all match
it, and so do most of its greetings and answers), raids and polls in other shapes, and moments
that chat barely marks. Score it on several seed sets (`--seeds 5 6 7`), never one. The last
table tells, per decoy kind, how many streams held one and the false alarms that fell in it
(from 25 s before it began to 30 s after it ended; "elsewhere" for the rest).

Both detectors get the same budget (`candidates_per_hour`, 4) over a rolling hour. The naive
rule: messages per 10 s above 3× the trailing 5-minute mean, 60 s refractory, `source_ts` =
when it fires minus the same reaction lag. A found moment is a hit when its `source_ts` lies
within 20 s before to 25 s after a true moment not yet matched; timing error = found
`source_ts` − true moment. A measurement, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chatbot.brain import ChatBrain
from chatbot.chat_line import ChatLine, Fragment
from chatbot.detection import REACTION_SOURCES
from shared.domain.chat_settings import DEFAULTS, ChatSettings

T0 = 1_795_550_400.0
CHANNEL = "12345"
HIT_BEFORE, HIT_AFTER = 20.0, 25.0

CULTURES: dict[str, dict[str, list[str]]] = {
    "en": {
        "casual": ["hi chat", "gg", "what game is this", "lol", "nice", "o7", "true",
                   "how long today", "that was close", "first time here", "hydrate", "based",
                   "rip", "ok", "wait what", "this song is good", "any tips for ranked?",
                   "he's cooking", "chat is slow today", "can you show settings", "good luck",
                   "yeah", "no", "LUL", "is this a new map", "what rank are you", "brb food",
                   "back", "my cat says hi", "the music is great"],
        "laugh": ["KEKW", "LUL", "OMEGALUL", "LMAO", "lmaooo", "KEKW KEKW", "lol what", "HAHAHA",
                  "I CANT", "💀💀💀", "he really did that KEKW"],
        "hype": ["POG", "NO WAY", "PogChamp", "HOLY", "LETS GOOO", "insane", "W", "WHAT",
                 "no shot", "POGGERS", "CLUTCH", "sheesh"],
        "shock": ["NOOOO", "F", "WTF", "what just happened", "NotLikeThis", "bro...", "no way"],
        "clip": ["CLIP IT", "clip that", "clip", "someone clip that", "CLIP"],
    },
    "ko": {
        "casual": ["ㅎㅇ", "안녕하세요", "ㅋㅋ", "오늘 방송 몇시까지?", "ㄱㄱ", "굿",
                   "이거 무슨 게임이에요", "배고프다", "ㅇㅇ", "ㄴㄴ", "좋아요", "재밌다", "오",
                   "음악 좋네요", "ㅋㅋㅋ 뭐야", "안녕", "잘한다", "ㅠㅠ", "화이팅"],
        "laugh": ["ㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋㅋㅋ 미쳤네",
                  "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋㅋ"],
        "hype": ["와 미쳤다", "대박", "ㄷㄷㄷㄷ", "와아아", "헐 ㄷㄷ", "ㅗㅜㅑ", "미쳤다 진짜"],
        "shock": ["헐", "ㄷㄷㄷ", "아 ㅠㅠㅠ", "뭐야 ㄷㄷ", "????"],
        "clip": ["클립각", "클립 ㄱㄱ", "클립", "이거 클립"],
    },
    "zh": {
        "casual": ["你好", "主播好", "来了", "哈哈", "这游戏叫什么", "几点下播", "好玩", "加油",
                   "晚上好", "吃了吗", "打卡", "同意", "确实", "？", "好听", "厉害", "主播加油"],
        "laugh": ["哈哈哈哈哈", "哈哈哈哈哈哈哈哈", "233333", "笑死我了", "哈哈哈哈哈哈哈 笑死",
                  "2333"],
        "hype": ["卧槽", "牛逼", "666666", "太离谱了", "绝了", "啊啊啊啊", "好家伙"],
        "shock": ["？？？？", "卧槽？", "离谱", "草"],
        "clip": ["剪辑一下", "切片", "快剪辑"],
    },
    "es": {
        "casual": ["hola", "buenas", "que juego es", "jaja", "gg", "saludos desde mexico", "buena",
                   "xd", "vamos", "que tal", "si", "no", "buenas noches", "grande"],
        "laugh": ["JAJAJAJA", "jajajajaja", "XDDD", "JAJAJAJAJAJA", "jsjsjs", "xDD"],
        "hype": ["QUE LOCURA", "NO PUEDE SER", "VAMOOOS", "DIOS MIO", "brutal"],
        "shock": ["NOOO", "F", "que paso", "???"],
        "clip": ["clip", "CLIPEA ESO", "clip pls"],
    },
    "pt": {
        "casual": ["oi", "boa noite", "kk", "que jogo é esse", "salve", "bom dia", "tmj", "gg",
                   "top", "vamo", "sim", "não", "salve salve", "primeira vez aqui"],
        "laugh": ["kkkkkkk", "KKKKKKKKK", "kkkkkkkkkkkk", "socorro kkkk", "KKKKKKKKKKKKK"],
        "hype": ["que isso", "caraca", "NÃO ACREDITO", "MDS", "QUE ISSO", "CARACA"],
        "shock": ["nãooo", "F", "como assim", "???"],
        "clip": ["CLIPA", "clipa isso", "CLIPA ISSO"],
    },
    "ru": {
        "casual": ["привет", "всем привет", "что за игра", "лол", "гг", "норм", "да", "нет", "ку",
                   "как дела", "хорошо играешь"],
        "laugh": ["ахахахах", "ХАХАХАХА", "ахаха", "ору", "КЕК", "ахахахахахах"],
        "hype": ["жесть", "ВАУ", "вот это да", "ОГО"],
        "shock": ["что", "??? ", "НЕЕЕТ"],
        "clip": ["клип", "клипай"],
    },
    "ja": {
        "casual": ["こんにちは", "初見です", "w", "おつ", "888", "かわいい", "がんばれ",
                   "こんばんは", "なるほど"],
        "laugh": ["wwwwww", "ｗｗｗｗ", "草", "草草草", "wwwwwwwww"],
        "hype": ["やばい", "すげえ", "うおおお", "神"],
        "shock": ["え？", "？？？", "まじか"],
        "clip": ["切り抜き", "切り抜き班"],
    },
}  # fmt: skip
GLOBAL_EMOTES = ["Kappa", "LUL", "PogChamp", "NotLikeThis", "BibleThump", "Kreygasm", "SeemsGood"]
THIRD_PARTY = ["KEKW", "OMEGALUL", "Pepega", "monkaS", "catJAM", "Sadge", "PepeLaugh", "EZ"]
OWN_SUFFIXES = ["Hype", "Lul", "Love", "Rage", "Wow", "GG", "Pog"]
MEMES = ["Ayaya", "Clap", "BASED", "YEP", "OOOO", "ICANT", "Aware", "xqcL", "peepoRun"]
COPYPASTA = [
    "I am once again asking chat to please stop typing in all caps because my monitor is tiny",
    "This is the greatest play in the history of this game and nobody will ever top it ever",
    "Imagine not being subscribed to the best streamer on this platform couldn't be me chat",
]
BOT_TEXTS = [
    "Wanna become famous? Buy followers, primes and viewers on cheap-viewers dot com",
    "best viewers here https://bit.ly/3xYzAbc cheap and fast",
    "Hello! I really like your stream, check my profile for a surprise gift for everyone",
]


@dataclass
class Stream:
    """One generated stream with its truth."""

    name: str
    language: str
    viewers: int
    seconds: float
    lines: list[ChatLine]
    moments: list[float]
    decoys: list[tuple[str, float, float]] = field(default_factory=list)  # kind, start, end

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


class _Writer:
    def __init__(self, rng: random.Random, channel: str, own_prefix: str, fragments: bool) -> None:
        self.rng = rng
        self.channel = channel
        self.own = {own_prefix + s for s in OWN_SUFFIXES}
        self.foreign: set[str] = set()  # another channel's emotes (a raiding streamer's)
        self.fragments = fragments
        self.out: list[tuple[float, str, str, tuple[Fragment, ...]]] = []

    def say(self, at: float, user: str, text: str) -> None:
        frags: tuple[Fragment, ...] = ()
        if self.fragments:
            parts = []
            for word in text.split(" "):
                if word in self.own:
                    parts.append(Fragment("emote", word, f"e_{word}", self.channel))
                elif word in GLOBAL_EMOTES or word in EVENT_EMOTES:
                    parts.append(Fragment("emote", word, f"e_{word}", "0"))
                elif word in self.foreign:
                    parts.append(Fragment("emote", word, f"e_{word}", "777"))
                elif word.startswith("@") and len(word) > 1:
                    parts.append(Fragment("mention", word))
                else:
                    parts.append(Fragment("text", word))
            if any(p.kind in ("emote", "mention") for p in parts):
                frags = tuple(parts)
        self.out.append((at, user, text, frags))


def _casual(rng: random.Random, culture: dict[str, list[str]], own: list[str], meme: str) -> str:
    roll = rng.random()
    if roll < 0.07:
        return rng.choice(own + GLOBAL_EMOTES)
    if roll < 0.11:
        return rng.choice(THIRD_PARTY)
    if roll < 0.13:
        return meme
    if roll < 0.18:
        return rng.choice(culture["laugh"] + culture["hype"])[:6]
    return rng.choice(culture["casual"])


def _reaction(
    rng: random.Random,
    kind: str,
    culture: dict[str, list[str]],
    own: list[str],
    meme: str,
    style: float,
) -> str:
    """One reacting message; `style` decides how much this channel reacts with emotes."""
    roll = rng.random()
    if roll < 0.25 * style:
        if kind == "laugh":
            return rng.choice([o for o in own if o.endswith(("Lul", "GG"))] + ["LUL", "KEKW"])
        return rng.choice([o for o in own if not o.endswith("Lul")] + ["PogChamp"])
    if roll < 0.35 * style + 0.05:
        return meme if rng.random() < 0.6 else f"{meme} {meme}"
    if roll < 0.42:
        return rng.choice(culture["clip"])
    if roll < 0.5:
        return rng.choice(culture["casual"])
    pool = culture[kind] if kind in culture else culture["hype"]
    return rng.choice(pool)


# Conversation-shaped bursts that are no moment. {s}: the streamer, {g}: a gifter, {u}: a
# chatter, {r}/{R}: a raiding channel's emote prefix and name, {own}: this channel's prefix.
EVENT_EMOTES = ["HeyGuys", "VoHiYo", "TwitchUnity", "<3", "HypeLUL", "GivePLZ", "TakeNRG"]
GREETINGS: dict[str, list[str]] = {
    "en": ["hi", "hello", "hey @{s}", "hi chat", "o7", "HeyGuys", "hiii", "hey everyone",
           "good evening chat", "hello hello", "yo @{s}", "VoHiYo", "hi {s}", "Hi!", "hey hey"],
    "ko": ["ㅎㅇ", "ㅎㅇㅎㅇ", "안녕하세요", "하이", "안녕", "방가방가", "ㅎㅇㅎㅇ @{s}"],
    "zh": ["你好", "主播好", "大家好", "晚上好", "来了", "hi", "哈喽", "主播晚上好"],
    "es": ["hola", "buenas", "holaa", "hola a todos", "buenas noches", "hola @{s}", "saludos"],
    "pt": ["oi", "olá", "salve", "boa noite", "eae", "oii", "salve @{s}", "opa", "oi chat"],
    "ru": ["привет", "всем привет", "ку", "здарова", "хай", "приветик", "привет @{s}"],
    "ja": ["こんにちは", "こんばんは", "初見です", "おはよう", "こん", "こんばんは〜"],
}  # fmt: skip
WELCOMES: dict[str, list[str]] = {
    "en": ["welcome raiders", "welcome in", "hi raiders", "o7 raiders", "welcome!", "welcome"],
    "ko": ["어서오세요", "환영합니다", "레이드 환영", "어서오세요~"],
    "zh": ["欢迎", "欢迎欢迎", "欢迎大家", "欢迎欢迎欢迎"],
    "es": ["bienvenidos", "bienvenidos raiders", "bienvenidos!"],
    "pt": ["bem-vindos", "sejam bem vindos", "bem vindos raiders", "bem vindos"],
    "ru": ["добро пожаловать", "привет рейдерам", "добро пожаловать!"],
    "ja": ["いらっしゃい", "ようこそ", "いらっしゃい〜"],
}  # fmt: skip
VOTES: dict[str, list[str]] = {
    "en": ["1", "2", "1", "2", "3", "yes", "no", "a", "b", "Yes", "NO", "1111", "2!", "B"],
    "ko": ["1", "2", "1", "2", "ㅇㅇ", "ㄴㄴ", "네", "아니", "2번", "1번"],
    "zh": ["1", "2", "1", "2", "是", "不", "要", "不要", "111", "2222"],
    "es": ["1", "2", "1", "2", "si", "no", "sí", "A", "b"],
    "pt": ["1", "2", "1", "2", "sim", "não", "s", "n", "11111"],
    "ru": ["1", "2", "1", "2", "да", "нет", "Да", "2)"],
    "ja": ["1", "2", "1", "2", "はい", "いいえ", "１", "２"],
}  # fmt: skip
NAMES: dict[str, list[str]] = {
    "en": ["Bob", "steve", "Gerald", "name him Kevin", "chungus", "Mr Whiskers", "potato",
           "Sir Meows", "Dave", "Lord Fluff", "Jeff", "bingus", "nugget", "Tony", "kevin",
           "Bob!", "jimmy", "Sir Reginald the third", "Chad", "biscuit"],
    "ko": ["초코", "나비", "뭉치", "두부", "코코", "감자", "초코!", "보리", "콩이", "모찌"],
    "zh": ["小黑", "旺财", "豆豆", "大黄", "咪咪", "汤圆", "小白", "豆豆吧", "可乐"],
    "es": ["Pepe", "Chispa", "Toby", "Luna", "Manchas", "Firulais", "pepe", "Pelusa"],
    "pt": ["Tobias", "Pipoca", "Bolinha", "Paçoca", "Fred", "pipoca", "Thor", "Zeca"],
    "ru": ["Барсик", "Мурзик", "Шарик", "Васька", "Пушок", "барсик", "Кекс"],
    "ja": ["タマ", "ポチ", "ミケ", "モモ", "きなこ", "たま", "コロ"],
}  # fmt: skip
THANKS: dict[str, list[str]] = {
    "en": ["thanks for the gift @{g}", "ty @{g} <3", "thank you for the sub!", "thanks @{g}",
           "tysm @{g}", "thanks for the gifted sub", "ty for the gift!"],
    "ko": ["선물 감사합니다", "감사합니다 @{g}", "고마워요", "구독 선물 감사해요"],
    "zh": ["谢谢老板", "感谢@{g}的礼物", "谢谢@{g}", "谢谢老板的订阅"],
    "es": ["gracias por la sub @{g}", "gracias!", "muchas gracias @{g}", "gracias por el regalo"],
    "pt": ["obrigado pelo sub @{g}", "valeu @{g}", "obrigada!", "valeu pelo presente"],
    "ru": ["спасибо за подписку @{g}", "спасибо!", "спс @{g}", "спасибо за подарок"],
    "ja": ["ありがとうございます", "ギフトありがとう @{g}", "ありがとう!", "サブギフありがとう"],
}  # fmt: skip
GIFT_CHEERS = ["{own}Love", "<3", "<3 <3", "W @{g}", "{own}Love {own}Love", "@{g} legend",
               "generous", "HypeLUL", "PogChamp", "{own}Hype", "W"]  # fmt: skip
INFO_COMMANDS = ["!discord", "!uptime", "!socials", "!specs", "!rank", "!sens", "!followage",
                 "!lurk", "!points", "!commands", "!song", "!youtube", "!age"]  # fmt: skip
GIVEAWAY = {"en": ["!enter", "!join", "!giveaway", "!ticket", "!raffle"], "es": ["!sorteo"],
            "pt": ["!sorteio", "!participar"], "ru": ["!розыгрыш"]}  # fmt: skip
BOT_REPLIES = ["@{u} join the discord: https://discord.gg/byt3cl1p",
               "@{u} the stream has been live for 1 hour 23 minutes",
               "@{u} you're in, good luck!", "@{u} -> !discord !uptime !socials !specs",
               "@{u} has been following for 2 years 3 months"]  # fmt: skip
RAIDERS = [("pixel", "PixelPanda"), ("ghost", "GhostlyGG"), ("lumi", "Lumiere_TV"),
           ("dex", "DexterPlays"), ("yuna", "yuna_live"), ("boom", "BoomerKing")]  # fmt: skip
RAID_TEXTS = ["{r}Raid {r}Raid {r}Raid", "TwitchUnity {R} RAID TwitchUnity",
              "{R} RAID PogChamp PogChamp", "{r}Hype {R} RAID {r}Hype", "{r}Raid {r}Raid",
              "raid from {R} <3"]  # fmt: skip


def _conversation(
    rng: random.Random,
    writer: _Writer,
    language: str,
    own: list[str],
    meme: str,
    users: list[str],
    weights: list[float],
    viewers: int,
    per_minute: float,
    seconds: float,
    moments: Sequence[float],
    tag: str,
) -> list[tuple[str, float, float]]:
    """Bursts of chat that are conversation, not moments: a greeting wave at the start, a
    streamer's poll answered "1"/"2", a question answered with many different words, a raid
    (fresh accounts posting one raid message, then greetings and welcomes), a gift-sub
    thank-you wave, `!commands` (a trickle, and a giveaway keyword wave), a streamer-led chant.
    Sizes follow the room: `per_minute` is about how many distinct chatters speak in a minute."""
    decoys: list[tuple[str, float, float]] = []
    culture = CULTURES[language]
    prefix = own[0][: -len(OWN_SUFFIXES[0])]
    streamer = f"{prefix}_{tag}"
    fresh = 0

    def fill(text: str, **extra: str) -> str:
        return text.format(s=streamer, own=prefix, **extra)

    def free_at(lo: float, hi: float, length: float) -> float:
        for _ in range(100):
            candidate = rng.uniform(lo, hi)
            if all(m - length - 120.0 > candidate or candidate > m + 120.0 for m in moments):
                return candidate
        return rng.uniform(lo, hi)

    def crowd(share: tuple[float, float], fresh_share: float = 0.0) -> list[str]:
        nonlocal fresh
        size = max(4, int(per_minute * rng.uniform(*share)))
        picked = set(rng.choices(users, weights, k=size))
        newcomers = int(len(picked) * rng.uniform(0.0, fresh_share))
        fresh += newcomers
        return list(picked) + [f"N{tag}{fresh - i:05d}" for i in range(newcomers)]

    # everyone says hello when the stream starts
    for user in crowd((0.5, 2.0), 0.3):
        writer.say(rng.uniform(0.0, rng.choice([60.0, 120.0, 240.0])), user,
                   fill(rng.choice(GREETINGS[language])))  # fmt: skip
    decoys.append(("greeting wave", 0.0, 240.0))
    # a few `!commands` all along, answered by the channel's bot
    at = rng.uniform(30.0, 600.0)
    while at < seconds:
        user = rng.choices(users, weights)[0]
        writer.say(at, user, rng.choice(INFO_COMMANDS))
        if rng.random() < 0.7:
            writer.say(at + rng.uniform(0.5, 2.0), "BOT", fill(rng.choice(BOT_REPLIES), u=user))
        at += rng.expovariate(1.0 / rng.uniform(60.0, 400.0))
    if rng.random() < 0.5:  # "1 or 2, chat?"
        span = rng.uniform(15.0, 60.0)
        start = free_at(400.0, seconds - 120.0, span)
        options = VOTES[language]
        for user in crowd((0.3, 1.2), 0.2):
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                writer.say(start + rng.gammavariate(2.0, span / 6.0), user, rng.choice(options))
        decoys.append(("poll answers", start, start + span))
    if rng.random() < 0.4:  # "what should I name him?"
        span = rng.uniform(20.0, 60.0)
        start = free_at(400.0, seconds - 120.0, span)
        names = NAMES[language]
        popular = [1.0 / (i + 1) for i in range(len(names))]
        for user in crowd((0.15, 0.6), 0.1):
            for _ in range(rng.choice([1, 1, 2])):
                writer.say(start + rng.uniform(0.0, span), user, rng.choices(names, popular)[0])
        decoys.append(("question answers", start, start + span))
    if rng.random() < 0.45:  # a raid
        start = free_at(400.0, seconds - 300.0, 90.0)
        short, name = rng.choice(RAIDERS)
        writer.foreign.update({f"{short}Raid", f"{short}Hype"})
        text = fill(rng.choice(RAID_TEXTS), r=short, R=name)
        size = int(min(1500, max(5, viewers * rng.uniform(0.1, 1.0))) * rng.uniform(0.3, 0.7))
        raiders = [f"R{tag}{i:05d}" for i in range(max(4, size))]
        greet = GREETINGS[language] + GREETINGS["en"]
        for user in raiders:
            t = start + rng.gammavariate(2.0, rng.uniform(1.0, 4.0))
            for _ in range(rng.choice([1, 1, 2, 3])):
                writer.say(t, user, text)
                t += rng.uniform(1.0, 5.0)
            roll = rng.random()
            if roll < 0.4:
                writer.say(t + rng.uniform(5.0, 60.0), user, fill(rng.choice(greet)))
            if roll < 0.25:  # some stay a while
                t += rng.uniform(30.0, 120.0)
                until = t + rng.uniform(120.0, 600.0)
                while t < until:
                    writer.say(t, user, _casual(rng, culture, own, meme))
                    t += rng.uniform(40.0, 180.0)
        for user in crowd((0.1, 0.5)):
            writer.say(start + rng.uniform(3.0, 60.0), user, rng.choice(WELCOMES[language]))
        decoys.append(("raid", start, start + 90.0))
    if rng.random() < 0.45:  # a gift-sub wave and its thank-yous
        span = rng.uniform(20.0, 60.0)
        start = free_at(400.0, seconds - 120.0, span)
        gifter = f"gifter{tag}"
        gifted = rng.choice([1, 5, 5, 10, 10, 20, 50, 100])
        thankers = crowd((0.02, 0.1), 0.3)[: max(1, int(gifted * rng.uniform(0.3, 0.6)))]
        for user in thankers:
            writer.say(start + rng.uniform(2.0, span), user,
                       fill(rng.choice(THANKS[language]), g=gifter))  # fmt: skip
        for user in crowd((0.1, 0.4)):
            writer.say(start + rng.uniform(0.0, span), user,
                       fill(rng.choice(GIFT_CHEERS), g=gifter))  # fmt: skip
        decoys.append(("gift-sub thanks", start, start + span))
    if rng.random() < 0.35:  # a giveaway: "type !enter"
        span = rng.uniform(30.0, 120.0)
        start = free_at(400.0, seconds - 150.0, span)
        keyword = rng.choice(GIVEAWAY.get(language, []) + GIVEAWAY["en"])
        for user in crowd((0.3, 1.0), 0.5):
            t = start + rng.gammavariate(2.0, span / 6.0)
            for _ in range(rng.choice([1, 1, 2, 3])):
                writer.say(t, user, keyword)
                t += rng.uniform(2.0, 15.0)
            if rng.random() < 0.3:
                writer.say(t + 1.0, "BOT", fill(BOT_REPLIES[2], u=user))
        decoys.append(("giveaway !enter", start, start + span))
    if rng.random() < 0.25:  # "spam {own}Hype chat!"
        span = rng.uniform(15.0, 40.0)
        start = free_at(400.0, seconds - 120.0, span)
        text = rng.choice([f"{prefix}Hype", f"{prefix}Pog", meme, "PogChamp", "TakeNRG"])
        for user in crowd((0.3, 0.8)):
            t = start + rng.gammavariate(2.0, 1.5)
            for _ in range(rng.randint(1, 4)):
                writer.say(t, user, text if rng.random() < 0.8 else f"{text} {text} {text}")
                t += rng.uniform(2.0, 8.0)
        decoys.append(("chant on request", start, start + span))
    return decoys


def generate_stream(seed: int, index: int, minutes: float) -> Stream:
    rng = random.Random(seed * 1000 + index)
    language = rng.choice(list(CULTURES))
    culture = CULTURES[language]
    viewers = int(math.exp(rng.uniform(math.log(20), math.log(20_000))))
    per_viewer = rng.uniform(0.004, 0.015)
    base_rate = min(150.0, max(0.08, viewers * per_viewer))
    seconds = minutes * 60.0 * rng.uniform(0.8, 1.3)
    prefix = rng.choice(["byte", "nova", "kiri", "zed", "momo", "lulu", "tako"])
    writer = _Writer(rng, CHANNEL, prefix, fragments=rng.random() < 0.5)
    own = [prefix + s for s in OWN_SUFFIXES]
    meme = rng.choice(MEMES)
    emote_style = rng.uniform(0.2, 1.0)
    regulars = max(6, int(viewers * rng.uniform(0.15, 0.4)))
    weights = [1.0 / (i + 1) ** 0.8 for i in range(regulars)]
    user_ids = [f"{index}{i:06d}" for i in range(regulars)]
    growth_from = rng.uniform(0.3, 0.6) * seconds if rng.random() < 0.4 else math.inf
    growth_span = rng.uniform(1200, 2400)
    growth_to = rng.uniform(1.8, 2.6)

    def growth(at: float) -> float:
        if at < growth_from:
            return 1.0
        return 1.0 + (growth_to - 1.0) * min(1.0, (at - growth_from) / growth_span)

    # baseline chat: Poisson at a rate that wanders (log-normal AR(1) over 20 s steps)
    at, noise, step_end = 0.0, 0.0, 0.0
    active: deque[tuple[float, str]] = deque()
    while at < seconds:
        if at >= step_end:
            noise = 0.7 * noise + rng.gauss(0.0, 0.2)
            step_end = at + 20.0
        rate = base_rate * growth(at) * math.exp(noise)
        at += rng.expovariate(rate)
        user = rng.choices(user_ids, weights)[0]
        writer.say(at, user, _casual(rng, culture, own, meme))
        active.append((at, user))
    # moments: about three an hour, at least four minutes apart, none in the first five
    count = max(1, round(rng.uniform(2.0, 4.0) * seconds / 3600.0))
    moments: list[float] = []
    tries = 0
    while len(moments) < count and tries < 200:
        tries += 1
        moment = rng.uniform(300.0, seconds - 90.0)
        if all(abs(moment - other) > 240.0 for other in moments):
            moments.append(moment)
    moments.sort()
    delay = rng.uniform(2.0, 5.0)  # stream delay: chat sees the moment this late
    lurker = 0
    for moment in moments:
        kind = rng.choice(["laugh", "hype", "shock", "laugh", "hype"])
        recent_rate = base_rate * growth(moment)
        chatters_per_minute = min(regulars, recent_rate * 60.0 * 0.6)
        share = rng.uniform(0.25, 0.9)
        reacting = max(6, int(chatters_per_minute * share * rng.uniform(0.5, 1.2)))
        ramp = rng.choice([0.0, 2.0, 5.0, 10.0, 20.0])
        length = rng.uniform(8.0, 45.0)
        crowd = rng.sample(user_ids, min(len(user_ids), reacting))
        lurkers = int(reacting * rng.uniform(0.0, 0.4))
        crowd += [f"L{index}{lurker + i:06d}" for i in range(lurkers)]
        lurker += lurkers
        for user in crowd:
            start = moment + delay + rng.gammavariate(2.0, 0.8) + rng.uniform(0.0, ramp)
            writer.say(start, user, _reaction(rng, kind, culture, own, meme, emote_style))
            extra = rng.random()
            t = start
            while extra < 0.6 and t < moment + delay + ramp + length:
                t += rng.uniform(1.0, 6.0)
                writer.say(t, user, _reaction(rng, kind, culture, own, meme, emote_style))
                extra = rng.random() + 0.15
    # decoys
    decoys: list[tuple[str, float, float]] = []
    bot = 0

    def free_at(lo: float, hi: float) -> float:
        for _ in range(100):
            candidate = rng.uniform(lo, hi)
            if all(abs(candidate - m) > 120.0 for m in moments):
                return candidate
        return rng.uniform(lo, hi)

    if rng.random() < 0.6:
        start = free_at(400.0, seconds - 120.0)
        text = rng.choice(BOT_TEXTS)
        for _ in range(rng.randint(40, 100)):
            writer.say(start + rng.uniform(0.0, rng.uniform(15.0, 60.0)), f"B{index}{bot}", text)
            bot += 1
        decoys.append(("bot wave", start, start + 60.0))
    if rng.random() < 0.6:
        start = free_at(400.0, seconds - 150.0)
        text = rng.choice(COPYPASTA)
        relay = rng.sample(user_ids, max(3, int(len(user_ids) * rng.uniform(0.05, 0.3))))
        span = rng.uniform(30.0, 90.0)
        for user in relay[: min(len(relay), int(60 + base_rate * 20))]:
            writer.say(start + rng.uniform(0.0, span), user, text)
        decoys.append(("copypasta relay", start, start + span))
    if rng.random() < 0.7:
        start = free_at(200.0, seconds - 200.0)
        every = rng.uniform(0.3, 1.0)
        text = rng.choice(culture["laugh"] + culture["hype"] + ["CLIP IT CLIP IT"])
        t = start
        while t < start + rng.uniform(60.0, 180.0):
            writer.say(t, "S0", text)
            t += every
        decoys.append(("spammer", start, t))
    if growth_from < seconds:
        decoys.append(("slow growth", growth_from, growth_from + growth_span))
    # conversation-shaped bursts, from their own random stream so that everything above stays
    # as it was for a seed
    regular_rate = min(regulars, base_rate * 60.0 * 0.6)  # distinct chatters a minute, about
    decoys += _conversation(
        random.Random(seed * 7919 + index * 31 + 5),
        writer,
        language,
        own,
        meme,
        user_ids,
        weights,
        viewers,
        regular_rate,
        seconds,
        moments,
        f"{index}",
    )
    writer.out.sort(key=lambda item: item[0])
    lines = [
        ChatLine(T0 + at, CHANNEL, user, f"u{user}", text, frozenset(), "", frags)
        for at, user, text, frags in writer.out
        if at < seconds
    ]
    return Stream(
        f"s{seed}-{index}",
        language,
        viewers,
        seconds,
        lines,
        [T0 + m for m in moments],
        decoys,
    )


# ------------------------------------------------------------------------------ detectors


def detector_moments(lines: Sequence[ChatLine], settings: ChatSettings) -> list[float]:
    """`source_ts` of every reaction candidate the chat bot's brain proposes."""
    brain = ChatBrain()
    found: list[float] = []
    for line in lines:
        for detection in brain.observe(line, settings, pipeline_enabled=True).detections:
            if detection.source in REACTION_SOURCES:
                found.append(detection.moment_ts)
    return found


def naive_moments(lines: Sequence[ChatLine], budget: float, lag: float) -> list[float]:
    """Messages per 10 s above 3x the trailing 5-minute mean; 60 s refractory; the budget."""
    found: list[float] = []
    if not lines:
        return found
    start = int(lines[0].ts)
    counts: dict[int, int] = {}
    for line in lines:
        second = int(line.ts)
        counts[second] = counts.get(second, 0) + 1
    end = int(lines[-1].ts)
    window: deque[int] = deque()
    history: deque[int] = deque()  # per-second counts of the 5 minutes before the window
    in_window = in_history = 0
    quiet_until = -math.inf
    emitted: deque[float] = deque()
    for second in range(start, end + 1):
        count = counts.get(second, 0)
        window.append(count)
        in_window += count
        if len(window) > 10:
            moved = window.popleft()
            in_window -= moved
            history.append(moved)
            in_history += moved
            if len(history) > 300:
                in_history -= history.popleft()
        if len(history) < 300 or second < quiet_until:
            continue
        mean = in_history / 30.0
        if in_window > 3.0 * mean and in_window >= 3:
            quiet_until = second + 60
            while emitted and emitted[0] <= second - 3600:
                emitted.popleft()
            if len(emitted) + 1 > budget:
                continue
            emitted.append(float(second))
            found.append(second - lag)
    return found


@dataclass
class Score:
    moments: int = 0
    found: int = 0
    hits: int = 0
    hours: float = 0.0
    errors: list[float] = field(default_factory=list)

    def add(self, found: Sequence[float], truth: Sequence[float], hours: float) -> list[float]:
        """Score one stream; the false alarms (found moments that match none)."""
        self.moments += len(truth)
        self.found += len(found)
        self.hours += hours
        unmatched = list(truth)
        false: list[float] = []
        for at in sorted(found):
            match = min(
                (m for m in unmatched if m - HIT_BEFORE <= at <= m + HIT_AFTER),
                key=lambda m: abs(at - m),
                default=None,
            )
            if match is not None:
                unmatched.remove(match)
                self.hits += 1
                self.errors.append(at - match)
            else:
                false.append(at)
        return false

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.hits / self.moments if self.moments else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def timing(self) -> float:
        return statistics.median(self.errors) if self.errors else float("nan")

    def row(self, label: str) -> str:
        return (
            f"| {label:<22} | {self.precision:9.3f} | {self.recall:6.3f} | {self.f1:5.3f} | "
            f"{self.timing:+7.1f} s | {self.found / max(self.hours, 1e-9):8.2f} |"
        )


HEADER = (
    "| detector               | precision | recall |    F1 | timing (median) | cand./h |\n"
    "| ---------------------- | --------- | ------ | ----- | --------------- | ------- |"
)


AUDIENCES = (("20-99 viewers", 0, 100), ("100-999", 100, 1000), ("1,000-20,000", 1000, 10**9))


def blame(false: Sequence[float], decoys: Sequence[tuple[str, float, float]]) -> list[str]:
    """The decoy each false alarm falls in (the narrowest one around it, `source_ts` from 25 s
    before its start to 30 s after its end), or "elsewhere"."""
    kinds = []
    for at in false:
        around = [d for d in decoys if T0 + d[1] - 25.0 <= at <= T0 + d[2] + 30.0]
        kinds.append(min(around, key=lambda d: d[2] - d[1])[0] if around else "elsewhere")
    return kinds


def evaluate(
    seeds: Sequence[int],
    streams: int,
    minutes: float,
    settings: ChatSettings,
    verbose: bool,
    by_audience: dict[str, tuple[Score, Score]] | None = None,
    by_decoy: dict[str, list[int]] | None = None,
) -> tuple[Score, Score]:
    total_ours, total_naive = Score(), Score()
    for seed in seeds:
        ours, naive = Score(), Score()
        messages, spent = 0, 0.0
        for index in range(streams):
            stream = generate_stream(seed, index, minutes)
            started = time.perf_counter()
            found = detector_moments(stream.lines, settings)
            spent += time.perf_counter() - started
            messages += len(stream.lines)
            baseline = naive_moments(
                stream.lines, settings.candidates_per_hour, settings.reaction_lag_seconds
            )
            ours.add(found, stream.moments, stream.hours)
            naive.add(baseline, stream.moments, stream.hours)
            false_ours = total_ours.add(found, stream.moments, stream.hours)
            false_naive = total_naive.add(baseline, stream.moments, stream.hours)
            if by_decoy is not None:  # decoys seen, false alarms of ours and of the naive rule
                for kind, _, _ in stream.decoys:
                    by_decoy.setdefault(kind, [0, 0, 0])[0] += 1
                for column, false in ((1, false_ours), (2, false_naive)):
                    for kind in blame(false, stream.decoys):
                        by_decoy.setdefault(kind, [0, 0, 0])[column] += 1
            if by_audience is not None:
                label = next(n for n, low, high in AUDIENCES if low <= stream.viewers < high)
                pair = by_audience.setdefault(label, (Score(), Score()))
                pair[0].add(found, stream.moments, stream.hours)
                pair[1].add(baseline, stream.moments, stream.hours)
            if verbose:
                one, other = Score(), Score()
                one.add(found, stream.moments, stream.hours)
                other.add(baseline, stream.moments, stream.hours)
                decoys = ", ".join(kind for kind, _, _ in stream.decoys) or "none"
                print(
                    f"  {stream.name:<6} {stream.language} {stream.viewers:>6} viewers "
                    f"{len(stream.lines):>8,} msgs  moments {len(stream.moments)}  ours "
                    f"{one.hits}/{one.found}  naive {other.hits}/{other.found}  "
                    f"errors {[round(e, 1) for e in one.errors]}  decoys: {decoys}"
                )
        print(f"\nseed {seed}: {streams} streams, {messages:,} messages, "
              f"{ours.hours:.1f} h, {ours.moments} moments; detectors "
              f"{messages / max(spent, 1e-9):,.0f} msg/s")  # fmt: skip
        print(HEADER)
        print(ours.row("moment detector"))
        print(naive.row("naive rate rule"))
    return total_ours, total_naive


def write_log(stream: Stream, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for line in stream.lines:
            record: dict[str, object] = {
                "ts": datetime.fromtimestamp(line.ts, tz=UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "user_id": line.user_id,
                "user": line.user,
                "text": line.text,
                "badges": [],
                "broadcaster_id": line.broadcaster_id,
            }
            if line.fragments:
                record["fragments"] = [
                    {"type": f.kind, "text": f.text}
                    | ({"emote": {"id": f.emote_id, "owner_id": f.owner_id}} if f.emote_id else {})
                    for f in line.fragments
                ]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--budget", type=float, default=DEFAULTS.candidates_per_hour)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--write-log", type=Path, help="write one stream as a replay log")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.write_log:
        stream = generate_stream(args.seed, 0, args.minutes)
        write_log(stream, args.write_log)
        moments = [round(m - T0, 1) for m in stream.moments]
        print(f"wrote {len(stream.lines):,} lines; moments at {moments} s")
        return 0
    settings = DEFAULTS.model_copy(update={"candidates_per_hour": args.budget})
    audiences: dict[str, tuple[Score, Score]] = {}
    decoys: dict[str, list[int]] = {}
    ours, naive = evaluate(
        args.seeds, args.streams, args.minutes, settings, args.verbose, audiences, decoys
    )
    print(f"\nall seeds {args.seeds}: budget {args.budget:g}/h")
    print(HEADER)
    print(ours.row("moment detector"))
    print(naive.row("naive rate rule"))
    print("\nby audience (all seeds)")
    print(HEADER)
    for label, _, _ in AUDIENCES:
        if label in audiences:
            mine, theirs = audiences[label]
            print(mine.row(f"ours, {label}"))
            print(theirs.row(f"naive, {label}"))
    print("\nfalse alarms by decoy (all seeds)")
    print("| decoy                  | streams | ours | naive |")
    print("| ---------------------- | ------- | ---- | ----- |")
    for kind, (seen, mine_false, naive_false) in sorted(decoys.items()):
        print(f"| {kind:<22} | {seen:7d} | {mine_false:4d} | {naive_false:5d} |")
    print(f"F1 gain over the naive rule: {ours.f1 - naive.f1:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
