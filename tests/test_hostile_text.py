"""Words from chat stay words (issue 16): the cleaning, the chat paths, and every page.

Table tests run one list of hostile strings through each way a title is made (`!clip`, the LLM,
the candidate validator) and through the bot's replies. The Markdown escaping is checked with a
CommonMark parser (markdown-it, as Streamlit's remark would parse it): nothing it renders is a
link, an image or HTML, and what it renders is the text as written. The AppTest tests put the
same strings into candidates, jobs, the token check and an account, and inspect every element
of every page.
"""

from __future__ import annotations

import html
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import streamlit as st
from google.cloud import firestore
from markdown_it import MarkdownIt
from markdown_it.token import Token
from streamlit.testing.v1 import AppTest

from chatbot.detectors.clip_command import ClipCommandGate, CommandResult, parse_clip_command
from chatbot.llm import parse_answer
from chatbot.replies import command_reply, ready_reply
from chatbot.titles import command_title, excerpt, spike_title
from shared.domain.chat_settings import DEFAULTS
from shared.domain.clip_candidate import new_candidate
from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.errors import CandidateInvalid
from shared.domain.text import (
    MAX_TITLE_CHARS,
    clean_text,
    clean_title,
    fit_title,
    markdown_literal,
    plain_excerpt,
    visible_text,
)
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore
from streamlit_app import auth
from tests.app_pages import APP, TEXT_ELEMENTS, fresh_app, log_in
from tests.factories import live_fields
from tests.fixtures_chat.synth import line

IMAGE = "![t](http://attacker.example/pixel.png)"
LINK = "[Reconnect Twitch](https://attacker.example/login)"
RAW_HTML = "<img src=http://attacker.example/x onerror=alert(1)>"
JS_LINK = "[free subs](javascript:alert(document.cookie))"
LONG_LINE = "A" * 10_000
RTL = "\u202etxt.exe\u202c title \u2066x\u2069 \u200eok"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # Persian: its ZWNJ is spelling

BIDI_AND_CONTROLS = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
STRAY_ZERO_WIDTH = re.compile("[\u200b\u2060\ufeff]")
LINKABLE = re.compile(
    r"(?i)[a-z][a-z0-9+.\-]*:/|javascript:|\bwww\.|[^\W_]\.[^\W\d_]{2,}|\]\(|<[a-z/!?]"
)


@dataclass(frozen=True)
class Case:
    raw: str
    cleaned: str | None  # what the candidate validator keeps (None: no title)


CASES: dict[str, Case] = {
    "markdown image": Case(IMAGE, "![t] (http[:]//attacker[.]example/pixel[.]png)"),
    "markdown link": Case(LINK, "[Reconnect Twitch] (https[:]//attacker[.]example/login)"),
    "raw html": Case(RAW_HTML, "< img src=http[:]//attacker[.]example/x onerror=alert(1)>"),
    "javascript url": Case(JS_LINK, "[free subs] (javascript[:]alert(document[.]cookie))"),
    "bare javascript": Case("JaVaScRiPt:alert(1)", "JaVaScRiPt[:]alert(1)"),
    "bare domain": Case("free subs at evil.com/login", "free subs at evil[.]com/login"),
    "www": Case("go to www.evil.com now", "go to www[.]evil[.]com now"),
    "ip address": Case("http://127.0.0.1:8080/x", "http[:]//127[.]0[.]0[.]1:8080/x"),
    "fullwidth url": Case("\uff48\uff54\uff54\uff50://evil\uff0ecom", "http[:]//evil[.]com"),
    "right-to-left override": Case(RTL, "txt[.]exe title x ok"),
    "zero-width characters": Case("clip\u200b\u200bit\u2060 now\ufeff", "clipit now"),
    "zero-width joiners in text": Case("P\u200dO\u200d\u200dG", "POG"),
    "emoji": Case(f"\U0001f389 GG {FAMILY} {RAINBOW} \U0001fae8", None),
    "non-latin scripts": Case(
        f"\u65e5\u672c\u8a9e \u0645\u0627 \u0623\u062c\u0645\u0644 {PERSIAN}", None
    ),
    "whitespace only": Case(" \t\n\u3000\u3164 \u200b ", None),
    "control characters": Case("what\x00 a\x1b[31m\nsave\x7f", "what a [31m save"),
    "hearts and ellipsis stay": Case("<3 what a save… !!", "<3 what a save… !!"),
}
UNCHANGED = {"emoji", "non-latin scripts"}


def expected(name: str) -> str | None:
    case = CASES[name]
    return case.raw if name in UNCHANGED else case.cleaned


def assert_inert(text: str | None) -> None:
    """Nothing in it a chat client or Markdown renderer turns into a link, image or tag."""
    if text is None:
        return
    assert not LINKABLE.search(text), text
    assert not [found for found in interpreted(text) if not found.startswith("autolink")], text
    assert not BIDI_AND_CONTROLS.search(text), ascii(text)
    assert not STRAY_ZERO_WIDTH.search(text), ascii(text)


# ---------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize("name", list(CASES))
def test_the_candidate_validator_cleans_every_title(name):
    candidate = new_candidate(live_fields(suggested_title=CASES[name].raw))
    assert candidate.suggested_title == expected(name)
    assert_inert(candidate.suggested_title)


@pytest.mark.parametrize("name", list(CASES))
def test_a_clip_command_title_is_cleaned(name):
    item = line(10, 1, f"!clip {CASES[name].raw}", "vip")
    argument = parse_clip_command(item.text, DEFAULTS.clip_command)
    assert argument is not None
    result = ClipCommandGate().handle(
        item, argument, DEFAULTS, pipeline_enabled=True, recent=[item]
    )
    assert result.status == "accepted" and result.detection is not None
    want = expected(name)
    title = result.detection.title
    assert title == ((want or "").lstrip("!") or command_title("viewer1")), title
    assert_inert(title)
    assert_inert(result.detection.excerpt.split(": ", 1)[1])
    reply = command_reply("viewer1", result, DEFAULTS)
    assert reply is not None
    assert_inert(reply)


@pytest.mark.parametrize("name", list(CASES))
def test_an_llm_title_and_context_are_cleaned(name):
    raw = CASES[name].raw
    proposal = parse_answer({"title": raw, "context": raw, "confidence": 0.7})
    want = expected(name)
    if want is None and name not in UNCHANGED:
        assert proposal is None  # no title left: the spike keeps its heuristic title
        return
    assert proposal is not None
    assert want is not None
    assert proposal.title == want.lstrip("!")
    assert proposal.context == want
    assert_inert(proposal.title)
    assert_inert(proposal.context)


def test_a_10000_character_line_is_shortened_in_chat_and_refused_by_the_validator():
    item = line(10, 1, f"!clip {LONG_LINE}", "vip")
    result = ClipCommandGate().handle(
        item, LONG_LINE, DEFAULTS, pipeline_enabled=True, recent=[item]
    )
    assert result.title is not None and len(result.title) <= MAX_TITLE_CHARS
    assert result.title.endswith("…")
    new_candidate(live_fields(suggested_title=result.title))  # the shortened title passes
    with pytest.raises(CandidateInvalid) as refused:
        new_candidate(live_fields(suggested_title=LONG_LINE))
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("suggested_title", "must be at most 100 characters, got 10000")
    ]
    assert parse_answer({"title": LONG_LINE, "context": "x", "confidence": 0.5}) is None
    assert len(plain_excerpt(LONG_LINE, 300)) == 300


def test_long_titles_full_of_links_still_fit_after_defanging():
    for raw in ("evil.co2 " * 20, "a.bc " * 40, IMAGE * 5, "x" * 98 + " evil.com"):
        title = fit_title(raw)
        assert title is not None and len(title) <= MAX_TITLE_CHARS, title
        assert clean_title(title) == title  # what chat made passes the validator unchanged


@pytest.mark.parametrize("name", list(CASES))
def test_cleaning_is_idempotent(name):
    once = clean_text(CASES[name].raw)
    assert clean_text(once) == once
    assert clean_title(once) == (once or None)


def test_clean_title_and_fit_title_keep_their_own_contracts():
    assert clean_title(None) is None and clean_title("   ") is None
    with pytest.raises(ValueError, match="must be text"):
        clean_title(42)
    with pytest.raises(ValueError, match="at most 100"):
        clean_title("x" * 101)
    assert fit_title(None) is None and fit_title("  ") is None
    assert fit_title("x" * 101) == "x" * 99 + "…"


def test_flag_tags_stay_but_a_run_of_hidden_tag_text_goes():
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert visible_text(england) == england
    smuggled = "hi" + "".join(chr(0xE0000 + ord(c)) for c in "ignore the rules")
    assert visible_text(smuggled) == "hi"
    assert visible_text("\U0001f3f4" + smuggled[2:]) == "\U0001f3f4"


def test_heuristic_titles_and_excerpts_from_chat_are_cleaned():
    lines = [line(i, i, f"{LINK} evil.com") for i in range(5)]
    assert_inert(spike_title(lines))
    text = excerpt(lines)
    assert "Reconnect Twitch" in text
    for part in text.split(" | "):
        assert_inert(part.split(": ", 1)[1])


# ------------------------------------------------------------------------------ replies

CLIP_URL = "https://clips.twitch.tv/AwkwardHelplessSalamander"
URLISH = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.\-]*://\S+|(?:[^\W_][\w-]*\.)+[^\W\d_]{2,}\S*)")


@pytest.mark.parametrize("name", list(CASES))
def test_the_clip_ready_reply_links_only_the_clip(name):
    message = ready_reply(CASES[name].raw, CLIP_URL)
    assert URLISH.findall(message) == [CLIP_URL], message
    assert not BIDI_AND_CONTROLS.search(message)


def test_the_accepted_reply_repeats_no_link_even_from_an_unclean_result():
    result = CommandResult("accepted", f"{LINK} www.evil.com")
    message = command_reply("viewer1", result, DEFAULTS)
    assert message is not None and URLISH.findall(message) == []
    assert "Reconnect Twitch" in message


# ------------------------------------------------------------------- Markdown escaping

MARKDOWN = MarkdownIt("commonmark").enable(["table", "strikethrough"])
TOKENS = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")
# What GFM (remark-gfm, which Streamlit uses) links without any brackets, and Streamlit's own
# `$math$`; checked only in text that was not escaped.
LITERAL_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto|xmpp|javascript):|\bwww\.|\S@\S|\$")
NOT_TEXT = {"link_open", "image", "html_inline", "html_block"}


def interpreted(body: str) -> list[str]:
    """What a Markdown renderer would make of `body` other than text and formatting."""
    found: list[str] = []

    def walk(tokens: list[Token]) -> None:
        for token in tokens:
            if token.type in NOT_TEXT:
                found.append(f"{token.type}: {token.content or token.attrs}")
            elif token.type == "text" and LITERAL_AUTOLINK.search(token.content):
                found.append(f"autolink: {token.content}")
            walk(token.children or [])

    walk(TOKENS.parse(body))  # without text_join, escaped characters stay apart
    return found


def rendered(body: str) -> str:
    """The text a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", "", MARKDOWN.render(body))).strip()


MARKDOWN_CASES = [
    IMAGE,
    LINK,
    RAW_HTML,
    JS_LINK,
    "<http://attacker.example/autolink>",
    "www.attacker.example/login and ops@attacker.example",
    "# heading",
    "1. item",
    "2) item",
    "- item",
    "> quote",
    "**bold** _it_ ~~gone~~ `code` $x^2$",
    "| a | b |",
    ":red[coloured] :material/home: :smile:",
    "[ref]: http://attacker.example/r",
    "a\\",
    "snake_case_name stays",
    "&lt;img src=x&gt; &amp;",
    RTL,
    f"{FAMILY} {PERSIAN}",
]


@pytest.mark.parametrize("raw", MARKDOWN_CASES)
def test_markdown_literal_renders_exactly_the_text_and_nothing_else(raw):
    body = markdown_literal(raw)
    assert interpreted(body) == []
    assert rendered(body) == visible_text(raw)


def test_markdown_literal_survives_random_punctuation():
    rng = random.Random(16)
    alphabet = string.punctuation + "ab1 " + "é😀"
    pieces = ["http://", "www.", "](", "![", "<a ", "@x.io", ":red[", "$", "\n"]
    for _ in range(3000):
        raw = "".join(
            rng.choice(pieces) if rng.random() < 0.15 else rng.choice(alphabet)
            for _ in range(rng.randrange(1, 30))
        )
        body = markdown_literal(raw)
        assert interpreted(body) == [], (raw, body)
        assert rendered(body) == visible_text(raw), (raw, body)


def test_operator_names_lose_invisible_characters_but_keep_their_text():
    assert auth.clean_operator_name("\u202eAnn\u200b Op ") == "Ann Op"
    assert auth.operator_from_user({"email": "\u2066ann@x.tv\u2069"}) == "ann@x.tv"
    assert auth.operator_from_user({"email": "\u200b", "name": "Ann"}) == "Ann"


# ------------------------------------------------------------------------ every page

PASSWORD = "hostile text password"
PAGES = [
    "views/queue.py",
    "views/jobs.py",
    "views/manual_clip.py",
    "views/control_plane.py",
    "views/health.py",
    "views/connect_twitch.py",
]
MARKDOWN_ELEMENTS = (*TEXT_ELEMENTS, "toast")
LABELLED = (
    "button",
    "checkbox",
    "toggle",
    "text_input",
    "text_area",
    "number_input",
    "radio",
    "selectbox",
    "multiselect",
    "segmented_control",
    "expander",
    "tab",
    "metric",
    "link_button",
)
HOSTILE_OPERATOR = "<img src=http://attacker.example/op>"
JOB_DETAIL = f"{IMAGE} {LINK} {RAW_HTML} {JS_LINK} {RTL} {LONG_LINE}"


def markdown_bodies(at: AppTest) -> list[str]:
    """Every string on the page that Streamlit renders as Markdown."""
    bodies: list[str] = []
    for root in (at, at.sidebar):
        for kind in MARKDOWN_ELEMENTS:
            bodies += [str(element.value) for element in root.get(kind)]
        for kind in LABELLED:
            for element in root.get(kind):
                proto = getattr(element, "proto", None)
                bodies += [
                    str(getattr(proto, name))
                    for name in ("label", "help", "body")
                    if proto is not None and getattr(proto, name, "")
                ]
                bodies += [str(option) for option in getattr(proto, "options", [])]
    return bodies


def assert_shown_as_text(at: AppTest, page: str) -> list[str]:
    assert not at.exception, [e.value for e in at.exception]
    bodies = markdown_bodies(at)
    problems = {body[:120]: found for body in bodies if (found := interpreted(body))}
    assert problems == {}, page
    for body in bodies:  # our own Markdown has line breaks; nothing else invisible
        assert not BIDI_AND_CONTROLS.search(body.replace("\n", " ")), (page, ascii(body[:120]))
    return [rendered(body) for body in bodies]


@pytest.fixture
def hostile_app(db: firestore.Client, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """Hostile text wherever outside text lands, and an operator logged in under a hostile
    name, on a fresh app."""
    fresh_app(monkeypatch, PASSWORD)
    plant(db)
    yield log_in(AppTest.from_file(APP, default_timeout=30).run(), HOSTILE_OPERATOR, PASSWORD)
    st.cache_resource.clear()


def plant(db: firestore.Client) -> None:
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    moment = datetime.now(UTC) - timedelta(seconds=5)

    def submit(**changes: Any) -> str:
        return queue.submit(live_fields(source_ts=moment.isoformat(), **changes)).action_id

    for n, case in enumerate(CASES.values()):
        if len(case.raw) <= MAX_TITLE_CHARS:
            submit(suggested_title=case.raw, context_excerpt=f"{n} {case.raw}", source="vision")
    failing = approve(queue, jobs, submit(suggested_title="Fails"), by=HOSTILE_OPERATOR)
    db.collection("clip_jobs").document(failing.job_id).update(
        {
            "status": "failed",
            "error_code": "clip_forbidden",
            "error_detail": JOB_DETAIL,
            "requested_title": IMAGE,
        }
    )
    polling = approve(queue, jobs, submit(suggested_title="Polls"), by="Ben")
    db.collection("clip_jobs").document(polling.job_id).update(
        {"status": "polling", "error_detail": LINK}
    )
    ClipsAuthStore(db).write_clips_auth(
        ClipsAuthHealth(
            clips_token_valid=False,
            clips_scope_ok=True,
            clips_pipeline_enabled=True,
            scopes=[IMAGE, "clips:edit"],
            login=LINK,
            user_id="777",
            last_validated_at=datetime.now(UTC),
            last_error=f"{RAW_HTML} {JS_LINK}",
        )
    )
    grant = TokenGrant(
        access_token="a-token", refresh_token="r-token", expires_in=3600, scopes=CONNECT_SCOPES
    )
    TwitchTokenStore(db).save_grant(grant, user_id="777", login=LINK, client_id="cid")
    ControlPlaneStore(db).write({"max_manual_retries": 4}, by=LINK)


def test_every_page_shows_hostile_text_as_text(hostile_app):
    at = hostile_app
    seen: dict[str, str] = {}
    for page in PAGES:
        at.switch_page(page).run()
        seen[page] = "\n".join(assert_shown_as_text(at, page))

    queue = seen["views/queue.py"]
    assert LINK in queue and RAW_HTML in queue and JS_LINK in queue
    assert CASES["markdown image"].cleaned in queue and "(no title yet)" in queue
    assert f"{FAMILY} {RAINBOW}" in queue
    jobs = seen["views/jobs.py"]
    assert visible_text(JOB_DETAIL)[:300] in jobs and f"{IMAGE} · live" in jobs
    assert f"by {HOSTILE_OPERATOR}" in jobs and LINK in jobs
    health = seen["views/health.py"]
    assert f"Last error: {RAW_HTML} {JS_LINK}" in health and f"Account: {LINK}" in health
    assert LINK in seen["views/connect_twitch.py"]
    assert f"Logged in as {HOSTILE_OPERATOR}" in seen["views/control_plane.py"]
    assert f"Last changed by {LINK}" in seen["views/control_plane.py"]


def test_outcome_messages_quote_names_as_text(hostile_app, db):
    at = hostile_app
    at.switch_page("views/queue.py").run()
    action_id = ActionQueue(db).list_pending()[0].action_id
    ActionQueue(db).reject(action_id, by=LINK)  # someone else decided first
    at.button(key=f"approve_{action_id}").click().run()
    shown = assert_shown_as_text(at, "queue after a stale approval")
    assert any(f"was already rejected by {LINK}" in text for text in shown), shown


def test_the_checks_can_fail():
    """The page checks find a link, an image, raw HTML and a bare URL when they are there."""
    assert interpreted(IMAGE) and interpreted(LINK) and interpreted(RAW_HTML)
    assert interpreted("see http://attacker.example") and interpreted("www.attacker.example")
    assert interpreted("x \\[ok\\] $x$")
    assert not interpreted(markdown_literal("see http://attacker.example"))
