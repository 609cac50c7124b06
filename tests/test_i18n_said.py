"""Sentences decided long before anyone reads them (the moment plan, a token check, a refused
field, an event given up, the Health charts) are kept as phrases and said in the channel's
language where they are shown: in pt-BR nothing of them is left in English."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore
from pydantic import BaseModel, Field, ValidationError

from shared.domain.clip_job import JobStatus
from shared.domain.errors import ClipUnauthorized, InvalidInput
from shared.domain.language import ENGLISH, Phrase
from shared.domain.moment_plan import (
    Archive,
    MomentPlan,
    StreamState,
    plan_moment,
    words_from_document,
)
from shared.domain.text import clean_title
from shared.domain.validation import field_problems, load_section, problem_text
from shared.i18n import translator
from shared.pipeline.token_health import TokenCheck, error_phrase
from shared.pipeline.unprocessable import give_up, reason
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from streamlit_app import charts, language
from tests.factories import clips_auth
from tests.test_streamlit_app import (
    HEALTH,
    JOBS,
    connect_factory_channel,
    enqueue,
    make_job,
    open_app,  # noqa: F401 (the fixture)
    page_text,
    sim,  # noqa: F401 (the fixture)
    twitch_env,  # noqa: F401 (the fixture)
)

PT, EN = translator("pt-BR"), translator("en")
NOW = datetime(2026, 11, 24, 22, 0, tzinfo=UTC)
STREAM = "40000000001"


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def every_plan() -> Iterator[MomentPlan]:
    """One plan of each kind the planner makes: live, longer live (with both notes), VOD of
    this, an earlier and a finished broadcast, waiting for the archive, and each refusal."""
    started = NOW - timedelta(hours=2)
    archive = Archive("900001", started, STREAM, 3600.0)
    earlier = Archive("900000", started - timedelta(hours=5), "39", 3600.0)
    live = StreamState(True, STREAM, started, (archive, earlier))

    def plan(age: float, stream: StreamState, duration: float = 30.0) -> MomentPlan:
        return plan_moment(NOW - s(age), now=NOW, requested_duration=duration, stream=stream)

    yield plan(5, live)
    yield plan(40, live, 30.5)
    yield plan(3, StreamState(True, STREAM, NOW - s(4), ()), 5.0)
    yield plan(90, live)
    yield plan(3 * 3600 + 60, live)
    yield plan(90, StreamState(False, archives=(archive,)))
    yield plan(90, StreamState(True, STREAM, NOW - s(120), ()))
    yield plan(90, StreamState(True, STREAM, started, ()))
    yield plan(90, StreamState(True, STREAM, started, (Archive("1", NOW - s(30), STREAM),)))
    yield plan(3 * 3600, StreamState(True, STREAM, started, ()))
    yield plan(30, StreamState(False))
    yield plan(30, StreamState(False, archives=(Archive("2", NOW - s(10), "9", 5.0),)))
    yield plan(-60, live)


def messages(phrase: Phrase) -> Iterator[str]:
    """The phrase's catalog message and those of the phrases inside it."""
    yield phrase.message
    for value in phrase.params.values():
        inner = value if isinstance(value, tuple) else (value,)
        for item in inner:
            if isinstance(item, Phrase):
                yield from messages(item)


def untranslated(phrases: list[Phrase]) -> set[str]:
    """Messages the pt-BR catalog leaves as they are (every planner message has words)."""
    return {m for p in phrases for m in messages(p) if PT.catalog.gettext(m) == m}


def test_every_plan_is_said_in_portuguese_with_its_numbers_in_portuguese():
    plans = list(every_plan())
    assert {plan.mode.value for plan in plans} == {"live", "vod", "wait", "impossible"}
    phrases = [p for plan in plans for p in (plan.label_phrase, *plan.reason_phrases)]
    assert untranslated(phrases) == set()
    longer = plans[1]
    assert longer.label_in(PT) == "ao vivo, esticado para 52 s"
    assert "30,5 s" in longer.reason_in(PT) and "30.5 s" in longer.reason
    for plan in plans:
        assert plan.label_in(EN) == plan.label and plan.reason_in(EN) == plan.reason
        assert plan.label_in(PT) != plan.label and plan.reason_in(PT) != plan.reason


def test_the_check_finds_a_planner_message_the_catalog_does_not_translate():
    new = Phrase("a message nobody translated {x}", x=Phrase("this broadcast"))
    assert untranslated([new]) == {"a message nobody translated {x}"}


def test_a_plan_kept_on_a_job_is_said_again_in_any_language():
    plan = list(every_plan())[3]
    stored = json.loads(json.dumps(plan.words_document(), default=str))
    words = words_from_document(stored)
    assert words is not None
    label, reason_ = words
    assert label.say(PT) == plan.label_in(PT) and label.say(ENGLISH) == plan.label
    assert " ".join(p.say(PT) for p in reason_) == plan.reason_in(PT)
    assert words_from_document({"label": "VOD at 1:00:00"}) is None
    assert words_from_document(None) is None


class _Limits(BaseModel):
    seconds: float = Field(ge=5)
    title: str | None = None
    count: int


def test_field_problems_are_said_in_portuguese_and_keep_their_field_names():
    with pytest.raises(ValidationError) as caught:
        _Limits.model_validate({"seconds": 1, "count": "many"})
    problems = field_problems(caught.value)
    said = {p.field: problem_text(p, PT) for p in problems}
    assert said == {
        "seconds": "deve ser maior ou igual a 5",
        "count": "deve ser um número inteiro (não deu pra ler o texto como número)",
    }
    assert problems[0].message == "Input should be greater than or equal to 5"
    with pytest.raises(ValueError) as too_long:
        clean_title("x" * 101)
    assert str(too_long.value) == "must be at most 100 characters, got 101"
    _, fallen = load_section(
        {"seconds": 1, "count": 2}, _Limits(seconds=5, count=1), "s", field_problems
    )
    assert problem_text(fallen[0], PT) == "deve ser maior ou igual a 5; vale o padrão"
    assert fallen[0].message == "Input should be greater than or equal to 5; the default applies"


def test_a_token_check_is_said_in_portuguese():
    refused = TokenCheck("1", False, True, None, error_phrase(ClipUnauthorized()))
    assert (refused.error or "").startswith("clip_unauthorized: Twitch did not accept")
    assert refused.problem is not None and "Reconecte a Twitch" in refused.problem.say(PT)


def test_the_charts_speak_the_language():
    now = datetime.now(UTC)
    frame = charts.jobs_per_hour([], now)
    spec = json.dumps(charts.jobs_per_hour_chart(frame, PT).to_dict(), ensure_ascii=False)
    assert "hora da aprovação (UTC)" in spec and "resultado" in spec and '"decimal": ","' in spec
    assert "hour approved" not in spec and '"title": "outcome"' not in spec
    english = json.dumps(charts.jobs_per_hour_chart(frame).to_dict())
    assert "hour approved (UTC)" in english


@pytest.fixture
def portuguese(db: firestore.Client) -> Iterator[firestore.Client]:
    ControlPlaneStore(db).write({"language": "pt-BR"}, by="Ana")
    language.forget()
    yield db
    language.forget()


def test_an_event_given_up_fails_its_job_in_the_channels_language(portuguese):
    job_id = make_job(portuguese, JobStatus.QUEUED)
    jobs, config = ClipJobStore(portuguese), ControlPlaneStore(portuguese)
    error = InvalidInput("candidate", field_problems(_refused()))
    given = give_up(jobs, job_id, error, worker="w", now=datetime.now(UTC), config=config)
    assert given.job_failed and given.reason == reason(error)
    assert given.reason == "invalid candidate: seconds: input should be greater than or equal to 5"
    failed = jobs.require(job_id)
    assert failed.error_detail == "candidate inválido: seconds: deve ser maior ou igual a 5"


def _refused() -> ValidationError:
    try:
        _Limits.model_validate({"seconds": 1, "count": 1})
    except ValidationError as error:
        return error
    raise AssertionError("the model accepted a refused value")


def _plan_job(db: firestore.Client, plan: MomentPlan) -> str:
    fields: dict[str, Any] = {
        "plan_mode": plan.mode.value,
        "plan_label": plan.label,
        "plan_reason": plan.reason,
        "plan_words": plan.words_document(),
        "planned_duration": plan.duration,
    }
    return make_job(db, JobStatus.READY, ready_at=datetime.now(UTC), **fields)


def test_the_jobs_page_says_the_stored_plan_in_portuguese(open_app, portuguese):  # noqa: F811
    plan = list(every_plan())[3]
    _plan_job(portuguese, plan)
    text = page_text(open_app(JOBS))
    assert plan.label_in(PT) in text and plan.reason_in(PT) in text
    assert plan.label not in text and plan.reason not in text


def test_the_queue_says_what_approving_makes_in_portuguese(
    open_app,  # noqa: F811
    portuguese,
    twitch_env,  # noqa: F811
):
    connect_factory_channel(portuguese, twitch_env)
    twitch_env.start_broadcast("12345", started_ago=3600)
    enqueue(portuguese, age=5)
    enqueue(portuguese, age=200)
    text = page_text(open_app())
    assert "Aprovar agora gera: **ao vivo 30 s**" in text
    assert "Aprovar agora gera: **VOD em 0:56:" in text
    assert not re.search(r"\*\*(live|VOD at) ", text)
    assert "The moment is" not in text


def test_the_health_page_says_the_token_problem_and_the_charts_in_portuguese(
    open_app,  # noqa: F811
    portuguese,
):
    problem = Phrase("missing scopes: {scopes}", scopes="clips:edit")
    ClipsAuthStore(portuguese).write_clips_auth(
        clips_auth(last_error=problem.say(ENGLISH), last_error_words=problem.to_document())
    )
    moment = datetime.now(UTC) - timedelta(minutes=5)
    make_job(
        portuguese,
        JobStatus.READY,
        source_ts=moment,
        approved_at=moment + s(12),
        ready_at=moment + s(20),
    )
    at = open_app(HEALTH)
    assert "Último erro: faltam permissões: clips" in page_text(at)
    assert "missing scopes" not in page_text(at)
    specs = " ".join(
        json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)
        for chart in at.get("vega_lite_chart")
    )
    assert "hora da aprovação (UTC)" in specs and "segundos desde o momento" in specs
    assert "seconds since the moment" not in specs and "hour approved" not in specs
