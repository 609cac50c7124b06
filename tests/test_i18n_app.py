"""Every page of the app in both languages (control plane `language`), through AppTest on the
emulator: in pt-BR no English sentence of our catalog is left on a page, in English no
Portuguese one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from babel.messages.pofile import read_po
from google.cloud import firestore
from streamlit.testing.v1 import AppTest

from shared.domain.clip_job import JobStatus
from shared.domain.language import ENGLISH, N_, Language, Phrase
from shared.domain.moment_plan import Archive, StreamState, plan_moment
from shared.i18n import po_path
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from streamlit_app import language
from tests.app_pages import TEXT_ELEMENTS
from tests.factories import clips_auth
from tests.test_streamlit_app import (
    APP,
    CONNECT,
    CONTROL,
    HEALTH,
    JOBS,
    MANUAL,
    OPERATOR,
    QUEUE,
    enqueue,
    make_job,
    open_app,  # noqa: F401 (the fixture)
)

PAGES = (QUEUE, JOBS, MANUAL, CONTROL, HEALTH, CONNECT)
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
# Markdown our messages use, and what Streamlit keeps of it in an element's value.
_MARKUP = re.compile(r"[*`]")

WIDGETS = (
    "button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "text_input",
    "text_area",
    "number_input",
    "date_input",
    "time_input",
)
TEXTS = (*TEXT_ELEMENTS, "exception")


def chart_titles(spec: object) -> list[str]:
    """The titles a Vega-Lite chart draws (axes, legends, tooltips), and its data's words."""
    if isinstance(spec, dict):
        found = [v for k, v in spec.items() if k == "title" and isinstance(v, str)]
        found += [v for v in spec.get("domain", []) or [] if isinstance(v, str)]
        return found + [t for k, v in spec.items() if k != "datasets" for t in chart_titles(v)]
    if isinstance(spec, list):
        return [t for item in spec for t in chart_titles(item)]
    return []


def shown(at: AppTest) -> list[str]:
    """Every text a person reads on the page: texts, labels, helps, metrics, expanders, and
    the charts' titles."""
    found: list[str] = []
    for kind in TEXTS:
        found += [str(element.value) for element in at.get(kind)]
    for kind in WIDGETS:
        for widget in at.get(kind):
            found += [str(getattr(widget, "label", "") or ""), str(widget.help or "")]
            found += [str(option) for option in getattr(widget, "options", ()) or ()]
    for metric in at.metric:
        found += [metric.label, str(metric.value), str(metric.help or "")]
    found += [str(expander.label) for expander in at.expander]
    found += [str(tab.label) for tab in at.tabs]
    for chart in at.get("vega_lite_chart"):
        found += chart_titles(json.loads(chart.proto.spec))
    return [_MARKUP.sub("", text) for text in found if text]


@cache
def catalog(language_name: Language) -> tuple[tuple[str, str], ...]:
    """(English, translation) of every message the pt-BR catalog translates differently."""
    with po_path(language_name).open("rb") as source:
        messages = read_po(source)
    pairs = []
    for message in messages:
        if not message.id or message.pluralizable:
            continue
        if message.string and message.string != message.id:
            pairs.append((str(message.id), str(message.string)))
    return tuple(pairs)


def fragments(message: str) -> list[str]:
    """The parts of a message a page shows word for word: the whole of a short one, the
    long literal runs between its placeholders."""
    plain = _MARKUP.sub("", message)
    if not _PLACEHOLDER.search(plain):
        return [plain.strip()]
    return [part.strip() for part in _PLACEHOLDER.split(plain) if len(part.strip()) >= 16]


def leftovers(texts: list[str], messages: list[str]) -> list[str]:
    """Messages of `messages` still on the page: equal to a text, or (a sentence of three
    words or more, or a long run) inside one."""
    found = set()
    for message in messages:
        for piece in fragments(message):
            if not piece:
                continue
            long_enough = len(piece.split()) >= 3 or len(piece) >= 16
            for text in texts:
                if text.strip() == piece or (long_enough and piece in text):
                    found.add(message)
    return sorted(found)


@pytest.fixture
def seeded(db: firestore.Client) -> Iterator[firestore.Client]:
    """Something on every page: a pending candidate, jobs in each status (one with the plan its
    worker applied, one timed for the Health charts), a token check with a problem."""
    now = datetime.now(UTC)
    enqueue(db, suggested_title="Virada no último segundo")
    make_job(db, JobStatus.QUEUED)
    make_job(db, JobStatus.READY, clip_url="https://clips.twitch.tv/A")
    plan = plan_moment(
        now - timedelta(seconds=90),
        now=now,
        requested_duration=30.0,
        stream=StreamState(
            True, "1", now - timedelta(hours=1), (Archive("9", now - timedelta(hours=1), "1"),)
        ),
    )
    make_job(
        db,
        JobStatus.READY,
        source_ts=now - timedelta(minutes=5),
        approved_at=now - timedelta(minutes=5) + timedelta(seconds=12),
        ready_at=now - timedelta(minutes=4),
        plan_mode=plan.mode.value,
        plan_label=plan.label,
        plan_reason=plan.reason,
        plan_words=plan.words_document(),
    )
    scopes = Phrase(N_("missing scopes: {scopes}"), scopes="editor:manage:clips")
    make_job(db, JobStatus.FAILED, error_code="clip_forbidden", error_detail="403")
    ClipsAuthStore(db).write_clips_auth(
        clips_auth(
            last_validated_at=now - timedelta(minutes=3),
            last_error=scopes.say(ENGLISH),
            last_error_words=scopes.to_document(),
        )
    )
    language.forget()
    yield db
    language.forget()


def speak(db: firestore.Client, chosen: Language) -> None:
    ControlPlaneStore(db).write({"language": chosen}, by="Ana")
    language.forget()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_portuguese_leaves_no_english_sentence_of_the_catalog(
    open_app,  # noqa: F811
    seeded,
    page,
):
    speak(seeded, "pt-BR")
    at = open_app(page)
    texts = shown(at)
    assert not at.exception, [e.value for e in at.exception]
    english = [source for source, _ in catalog("pt-BR")]
    assert leftovers(texts, english) == []
    portuguese = [translated for _, translated in catalog("pt-BR")]
    assert leftovers(texts, portuguese), "the page shows nothing of the pt-BR catalog"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_english_shows_no_portuguese_sentence(open_app, seeded, page):  # noqa: F811
    speak(seeded, "en")
    at = open_app(page)
    assert not at.exception, [e.value for e in at.exception]
    portuguese = [translated for _, translated in catalog("pt-BR")]
    assert leftovers(shown(at), portuguese) == []


def test_the_checker_finds_an_english_sentence_left_on_a_page():
    english = ["Nothing is waiting for approval.", "Approve", "Retrying at {time} UTC after it"]
    texts = ["Nada esperando.", "Approve", "Retrying at 20:00 UTC after it failed"]
    assert leftovers(texts, english) == ["Approve"]
    texts.append("Nothing is waiting for approval. New candidates appear here")
    assert leftovers(texts, english) == ["Approve", "Nothing is waiting for approval."]


def test_the_language_is_chosen_on_the_control_plane_page_and_the_app_follows(
    open_app,  # noqa: F811
    seeded,
):
    at = open_app(CONTROL)
    choice = at.radio(key="cp_language_defaults")
    assert choice.value == "en" and "Português (Brasil)" in choice.options
    choice.set_value("pt-BR")
    at.button(key="cp_save").click().run()
    config = ControlPlaneStore(seeded).read(fresh=True)
    assert (config.language, config.updated_by) == ("pt-BR", OPERATOR)
    at.run()
    assert [title.value for title in at.title] == ["Painel de controle"]
    history = at.dataframe[0].value
    assert "Idioma (chat, Discord e este app): en → pt-BR" in history["o que mudou"][0]


def test_the_login_page_speaks_the_language_the_app_last_read(open_app, seeded):  # noqa: F811
    speak(seeded, "pt-BR")
    open_app(QUEUE)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [title.value for title in at.title] == ["Operações do Byte Clips"]
    assert [button.label for button in at.button] == ["Entrar"]
    language.forget()
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [title.value for title in at.title] == ["Byte Clips operations"]
