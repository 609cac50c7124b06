"""Sentences decided long before anyone reads them (the moment plan, a token check, a refused
field, an event given up, the Health charts) are kept as phrases and said in the channel's
language where they are shown: in pt-BR nothing of them is left in English."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore
from pydantic import BaseModel, Field, ValidationError
from streamlit.testing.v1 import AppTest

from shared.domain.approval_settings import ApprovalSettings, approval_problems
from shared.domain.chat_settings import ChatSettings
from shared.domain.clip_candidate import ClipCandidate, new_candidate
from shared.domain.clip_job import JobStatus
from shared.domain.control_plane import ControlPlaneConfig, apply_changes, retired_phrases
from shared.domain.errors import (
    CandidateInvalid,
    ClipUnauthorized,
    ConfigInvalid,
    FieldProblem,
    InvalidInput,
    StoredDocumentUnreadable,
    StoredTokenUnreadable,
    TokenNotRefreshable,
)
from shared.domain.language import ENGLISH, Phrase
from shared.domain.moment_plan import (
    Archive,
    MomentPlan,
    StreamState,
    plan_moment,
    words_from_document,
)
from shared.domain.text import clean_title
from shared.domain.validation import field_problems, load_section, problem_text, problems_text
from shared.domain.vision import SceneClassification, VisionSettings
from shared.i18n import translator
from shared.pipeline.create import plan_fields
from shared.pipeline.token_health import TokenCheck, error_phrase
from shared.pipeline.unprocessable import give_up, reason
from shared.store.action_queue import UNREADABLE_FIX as ACTION_QUEUE_FIX
from shared.store.clip_jobs import UNREADABLE_FIX as CLIP_JOBS_FIX
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import UNREADABLE_FIX as CLIPS_AUTH_FIX
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import NO_REFRESH_TOKEN, TwitchTokenStore
from streamlit_app import charts, language
from tests import spec_documents as spec
from tests.factories import clips_auth, live_fields, vod_fields
from tests.test_streamlit_app import (
    CONNECT,
    CONTROL,
    HEALTH,
    JOBS,
    QUEUE,
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
    now = datetime.now(UTC)
    return make_job(db, JobStatus.READY, ready_at=now, **plan_fields(plan, now))


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


# ------------------------------------------- refusals of the domain models and stored documents


def _refusals(model: type[BaseModel], data: dict[str, Any]) -> ValidationError:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return error
    raise AssertionError(f"{model.__name__} accepted {data}")


REFUSALS: list[tuple[type[BaseModel], dict[str, Any], str, str, str]] = [
    # model, refused data, field, English message (as before), pt-BR
    (
        ApprovalSettings,
        {"chat_roles": ["vip", "vip"]},
        "approval.chat_roles",
        "lists an entry twice",
        "tem um item repetido",
    ),
    (
        ApprovalSettings,
        {"policy_rules": [{"name": "a", "source": "vision", "roles": ["vip"]}]},
        "approval.policy_rules",
        "rule 1: roles: only a `command` rule looks at who asked",
        "regra 1: roles: só uma regra `command` olha quem pediu",
    ),
    (
        ApprovalSettings,
        {"policy_rules": [{"name": "a", "source": "command", "vision_events": ["victory"]}]},
        "approval.policy_rules",
        "rule 1: vision_events: only a `vision` rule looks at the event",
        "regra 1: vision_events: só uma regra `vision` olha o evento",
    ),
    (
        ApprovalSettings,
        {"policy_rules": [{"name": "a", "source": "command"}, {"name": "a", "source": "vision"}]},
        "approval.policy_rules",
        "rule names must differ; a is used twice",
        "cada regra precisa de um nome diferente; a aparece mais de uma vez",
    ),
    (
        ApprovalSettings,
        {
            "policy_rules": [
                {"name": "a", "source": "manual"},
                {"name": "b", "source": "command", "roles": "vip vip"},
            ]
        },
        "approval.policy_rules",
        "rule 2, roles: lists an entry twice",
        "regra 2, roles: tem um item repetido",
    ),
    (
        ApprovalSettings,
        {"policy_rules": [{"name": "a", "source": "command", "min_score": 2}]},
        "approval.policy_rules",
        "rule 1, min_score: Input should be less than or equal to 1",
        "regra 1, min_score: deve ser menor ou igual a 1",
    ),
    (
        VisionSettings,
        {"trigger_events": "victory"},
        "trigger_events",
        "must be a list of events",
        "deve ser uma lista de eventos",
    ),
    (
        SceneClassification,
        {"game": 5, "confidence": 0.5},
        "game",
        "must be text",
        "deve ser um texto",
    ),
    (
        ControlPlaneConfig,
        {"clip_api_enabled": "yes"},
        "clip_api_enabled",
        "must be true or false, got 'yes'",
        "deve ser true ou false, mas veio 'yes'",
    ),
    (
        ControlPlaneConfig,
        {"clip_editor_user_id": "bytestreamer"},
        "clip_editor_user_id",
        "must be the numeric Twitch editor (user) id (e.g. '12345'), not 'bytestreamer'; a "
        "login name is not accepted",
        "deve ser o id numérico do editor (usuário) na Twitch (ex.: '12345'), não "
        "'bytestreamer'; nome de login não vale",
    ),
    (
        ControlPlaneConfig,
        {"clip_default_duration": 90},
        "clip_default_duration",
        "must be between 5.0 and 60.0 seconds, got 90",
        "deve ficar entre 5,0 e 60,0 segundos, mas veio 90",
    ),
    (
        ChatSettings,
        {"keywords": {"pog": 20}},
        "keywords",
        "the weight of 'pog' must be above 0 and at most 10",
        "o peso de 'pog' deve ser maior que 0 e no máximo 10",
    ),
    (
        ChatSettings,
        {"clip_command_roles": ["mods"]},
        "clip_command_roles",
        "'mods' is not a role; choose from everyone, broadcaster, moderator, vip, subscriber",
        "'mods' não é um cargo; escolha entre everyone, broadcaster, moderator, vip, subscriber",
    ),
    (
        ChatSettings,
        {"signal_weights": {"surge": 0}},
        "signal_weights",
        "at least one signal needs a weight above 0",
        "pelo menos um sinal precisa de peso acima de 0",
    ),
    (
        ClipCandidate,
        live_fields(candidate_id="c", dedupe_key="k", score=2),
        "score",
        "must be between 0 and 1, got 2",
        "deve ficar entre 0 e 1, mas veio 2",
    ),
    (
        ClipCandidate,
        live_fields(candidate_id="c", dedupe_key="k", source_ts="2026-11-24T20:00:01"),
        "source_ts",
        "must include a timezone (e.g. a trailing Z for UTC)",
        "precisa ter fuso horário (ex.: um Z no final para UTC)",
    ),
]


def _problems_of(model: type[BaseModel], error: ValidationError) -> list[FieldProblem]:
    if model is ApprovalSettings:
        return approval_problems(error)
    return field_problems(error, with_input=model is ClipCandidate)


@pytest.mark.parametrize(("model", "data", "field", "english", "portuguese"), REFUSALS)
def test_a_domain_models_refusal_is_said_in_portuguese_and_stays_english_in_english(
    model: type[BaseModel], data: dict[str, Any], field: str, english: str, portuguese: str
):
    problems = _problems_of(model, _refusals(model, data))
    assert [(p.field, p.message) for p in problems] == [(field, english)]
    assert problems_text(problems, PT) == f"{field}: {portuguese}"
    assert problems[0].said is not None
    assert untranslated_words([problems[0].said]) == set()


def untranslated_words(phrases: list[Phrase]) -> set[str]:
    """`untranslated`, less the messages of placeholders and punctuation only (`{field}:
    {problem}`), which every language says the same way."""
    return {m for m in untranslated(phrases) if re.search(r"[a-z]", re.sub(r"\{\w+\}", "", m))}


class _Holder(BaseModel):
    payload: ClipCandidate


@pytest.mark.parametrize(
    ("changes", "field", "english", "portuguese"),
    [
        (
            {"vod_id": None},
            "vod_id",
            "is required when mode is 'vod'",
            "é obrigatório quando o modo é 'vod'",
        ),
        (
            {"vod_offset": 10.0},
            "vod_offset",
            "must be at least the duration (30 s): it is where the clip ends, not where it starts",
            "deve ser pelo menos a duração (30 s): é onde o clip termina, não onde começa",
        ),
        (
            {"mode": "live"},
            "vod_id",
            "only a 'vod' mode candidate has vod_id / vod_offset",
            "só um candidato no modo 'vod' tem vod_id / vod_offset",
        ),
    ],
)
def test_a_candidates_mode_rule_is_said_at_its_field_in_portuguese(
    changes: dict[str, Any], field: str, english: str, portuguese: str
):
    with pytest.raises(CandidateInvalid) as caught:
        new_candidate(vod_fields(**changes))
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == (field, english)
    assert problem_text(problem, PT) == portuguese
    nested = field_problems(
        _refusals(_Holder, {"payload": vod_fields(candidate_id="c", dedupe_key="k", **changes)})
    )
    assert [(p.field, p.message) for p in nested] == [("payload", f"{field}: {english}")]
    assert problem_text(nested[0], PT) == f"{field}: {portuguese}"


def test_the_control_planes_own_refusals_are_said_in_portuguese():
    current = ControlPlaneConfig()
    changes = {"chat.nope": 1, "chat": {}, "approval.nope": 1, "approval": {}, "nope": 1}
    with pytest.raises(ConfigInvalid) as unknown:
        apply_changes(current, changes, by="Ana", now=NOW)
    assert [p.message for p in unknown.value.problems] == [
        "is not a chat setting",
        "is not a control-plane setting; change chat.<setting> instead",
        "is not an approval setting",
        "is not a control-plane setting; change approval.<setting> instead",
        "is not a control-plane setting",
    ]
    assert [problem_text(p, PT) for p in unknown.value.problems] == [
        "não é uma configuração do chat",
        "não é uma configuração do painel de controle; mude chat.<setting> no lugar",
        "não é uma configuração de aprovação",
        "não é uma configuração do painel de controle; mude approval.<setting> no lugar",
        "não é uma configuração do painel de controle",
    ]
    with pytest.raises(ConfigInvalid) as nobody:
        apply_changes(current, {"clip_api_enabled": False}, by=" ", now=NOW)
    assert str(nobody.value.problems[0]) == "updated_by: who made the change is required"
    assert problems_text(nobody.value.problems, PT) == "updated_by: falta dizer quem fez a mudança"
    [retired] = retired_phrases({"clip_has_delay": True})
    assert retired.say(ENGLISH) == (
        "clip_has_delay is stored but ignored: Twitch removed has_delay from Create Clip"
    )
    assert retired.say(PT) == (
        "clip_has_delay está salvo, mas é ignorado: a Twitch tirou o has_delay do Create Clip"
    )


@pytest.mark.parametrize(
    ("error", "english", "portuguese"),
    [
        (
            TokenNotRefreshable("7", NO_REFRESH_TOKEN),
            "clip_unauthorized: The stored Twitch token for user 7 cannot be renewed: the "
            "document has no refresh_token; reconnect Twitch",
            "O token da Twitch salvo para o usuário 7 não pode ser renovado: o documento não tem "
            "refresh_token; reconecte a Twitch",
        ),
        (
            StoredTokenUnreadable("8", field_problems(_refused())),
            "clip_unauthorized: The stored Twitch token for user 8 is unreadable: seconds input "
            "should be greater than or equal to 5; reconnect Twitch",
            "O token da Twitch salvo para o usuário 8 não pode ser lido: seconds deve ser maior "
            "ou igual a 5; reconecte a Twitch",
        ),
    ],
    ids=["cannot be renewed", "unreadable"],
)
def test_a_stored_token_that_cannot_be_used_is_said_in_portuguese_and_logged_in_english(
    error: TokenNotRefreshable | StoredTokenUnreadable, english: str, portuguese: str
):
    assert str(error) == english
    assert error.operator_phrase.say(PT) == portuguese
    assert error.phrase.say(PT) == f"clip_unauthorized: {portuguese}"
    assert error.phrase.say(ENGLISH) == english


def test_a_refused_token_is_said_in_portuguese():
    assert ClipUnauthorized().operator_phrase.say(PT).startswith("A Twitch não aceitou")


@pytest.mark.parametrize(
    ("fix", "portuguese"),
    [
        (ACTION_QUEUE_FIX, "recuse na página Fila para arquivar"),
        (CLIP_JOBS_FIX, "corrija ou apague esse documento no Firestore"),
        (CLIPS_AUTH_FIX, "a próxima verificação de token (validate_tokens, de hora em hora)"),
    ],
)
def test_an_unreadable_document_and_its_fix_are_said_in_portuguese(fix: str, portuguese: str):
    error = StoredDocumentUnreadable("clip_jobs/j1", field_problems(_refused()), fix)
    assert str(error) == (
        f"The stored document clip_jobs/j1 is unreadable: seconds input should be greater than "
        f"or equal to 5; {fix}"
    )
    said = error.phrase.say(PT)
    assert said.startswith(
        "O documento salvo clip_jobs/j1 não pode ser lido: seconds deve ser maior ou igual a 5; "
    )
    assert said.endswith(PT(fix)) and portuguese in said
    assert untranslated_words([error.phrase]) == set()


def test_a_token_that_cannot_be_renewed_fails_its_job_in_the_channels_language(portuguese):
    job_id = make_job(portuguese, JobStatus.QUEUED)
    TwitchTokenStore(portuguese).ref("555").set({"access_token": "a-token-1234"})
    with pytest.raises(TokenNotRefreshable) as caught:
        TwitchTokenStore(portuguese).refresh("555", refresher=_never, worker="w")
    jobs = ClipJobStore(portuguese)
    given = give_up(
        jobs,
        job_id,
        caught.value,
        worker="w",
        now=datetime.now(UTC),
        config=ControlPlaneStore(portuguese),
    )
    assert given.job_failed and "cannot be renewed" in given.reason
    assert jobs.require(job_id).error_detail == (
        "O token da Twitch salvo para o usuário 555 não pode ser renovado: o documento não tem "
        "refresh_token; reconecte a Twitch"
    )


def _never(refresh_token: str) -> Any:
    raise AssertionError("a token without a refresh token was sent to Twitch")


def saved_with(at: AppTest, fields: Iterable[Any], key_prefix: str, value: str) -> list[str]:
    """Type `value` into the one Control plane field whose key starts with `key_prefix`, save,
    and return the errors the page shows."""
    [field] = [f for f in fields if (f.key or "").startswith(key_prefix)]
    field.input(value)
    at.button(key="cp_save").click().run()
    return [e.value for e in at.error]


def test_the_control_plane_page_refuses_a_bad_rule_in_portuguese(open_app, portuguese):  # noqa: F811
    at = open_app(CONTROL)
    errors = saved_with(at, at.text_area, "cp_approval.policy_rules_", "mods vision roles=vip")
    assert "Não salvo: corrija os campos marcados abaixo." in page_text(at)
    said = [e for e in errors if "regra 1: roles: só uma regra" in e]
    assert said and "olha quem pediu" in said[0], errors
    assert "only a" not in page_text(at) and "rule 1" not in page_text(at)
    stored = ControlPlaneStore(portuguese).read(fresh=True)
    assert stored.approval.policy_rules == ()


def test_the_control_plane_page_refuses_a_login_name_in_portuguese(open_app, portuguese):  # noqa: F811
    at = open_app(CONTROL)
    errors = saved_with(at, at.text_input, "cp_clip_editor_user_id_", "bytestreamer")
    assert any("deve ser o id numérico do editor (usuário) na Twitch" in e for e in errors), errors
    assert "numeric Twitch" not in page_text(at) and "login name" not in page_text(at)
    assert ControlPlaneStore(portuguese).read(fresh=True).clip_editor_user_id is None


def test_every_unreadable_document_is_flagged_in_portuguese(open_app, db):  # noqa: F811
    written = spec.write_foreign(db)
    db.document("control_plane/config").update({"language": "pt-BR"})
    language.forget()
    at = open_app()
    texts = {}
    for page in (QUEUE, JOBS, HEALTH, CONNECT, CONTROL):
        at.switch_page(page).run()
        texts[page] = page_text(at)
    language.forget()
    assert f"action_queue/{written.wrong_item} não pode ser lido: payload.score" in texts[QUEUE]
    assert "recuse na página Fila para arquivar" in texts[QUEUE]
    assert "kind é 'poll', não clip\\_candidate" in texts[QUEUE] or (
        "kind é 'poll', não clip_candidate" in texts[QUEUE]
    )
    assert f"clip_jobs/{written.wrong_job} não pode ser lido: attempts" in texts[JOBS]
    assert "corrija ou apague esse documento no Firestore" in texts[JOBS]
    assert "observability/clips\\_auth não pode ser lido: last\\_validated\\_at" in texts[
        HEALTH
    ] or ("observability/clips_auth não pode ser lido: last_validated_at" in texts[HEALTH])
    assert f"usuário {written.wrong_token} não pode ser lido: scopes" in texts[CONNECT]
    assert "reconecte a Twitch" in texts[CONNECT]
    assert "deve ser true ou false, mas veio 'maybe'" in texts[CONTROL]
    for page, text in texts.items():
        for english in ("is unreadable", "reject it on the Queue page", "fix or delete", "got '"):
            assert english not in text, (page, english)
