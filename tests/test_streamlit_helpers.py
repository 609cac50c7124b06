"""The app's pure helpers, without Streamlit or Firestore: words, chart data, form logic."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import requests

from shared.domain.clip_candidate import new_candidate
from shared.domain.clip_job import ClipJob, JobStatus, new_job
from shared.domain.control_plane import (
    CHAT_FIELDS,
    EDITABLE_FIELDS,
    ControlPlaneConfig,
    setting_value,
)
from shared.domain.errors import ErrorCode, FieldProblem, operator_message
from shared.store.action_queue import ActionItem
from shared.store.twitch_tokens import StoredToken
from streamlit_app import auth, charts
from streamlit_app.connect import (
    DEFAULT_REDIRECT_URI,
    Callback,
    account_view,
    callback_from_query,
    connect_settings,
    finish_connect,
)
from streamlit_app.control_form import (
    changed_fields,
    chat_field_specs,
    field_specs,
    history_rows,
    widget_value,
)
from streamlit_app.formatting import (
    ago,
    candidate_view,
    clock_text,
    duration_text,
    expires_text,
    failure_view,
    percentile,
    retry_state,
)
from streamlit_app.liveness import RETRY_SECONDS, Drawn, needs_redraw
from streamlit_app.manual_form import (
    GENERAL,
    ManualInput,
    candidate_fields,
    errors_by_widget,
    parse_position,
)
from streamlit_app.paging import page_window
from tests.factories import live_fields, vod_fields

NOW = datetime(2026, 11, 24, 20, 0, 0, tzinfo=UTC)


def job(status: JobStatus = JobStatus.QUEUED, **changes: Any) -> ClipJob:
    candidate = new_candidate(live_fields(source_ts=(NOW - timedelta(seconds=20)).isoformat()))
    made = new_job("cc_x", candidate, approved_by="Ann", now=NOW)
    return made.model_copy(update={"status": status, **changes})


# ----------------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (45, "45 s"),
        (185, "3 min 5 s"),
        (600, "10 min"),
        (1039, "17 min"),
        (7440, "2 h 4 min"),
        (3 * 86400, "3 days"),
    ],
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


def test_ago_handles_past_future_and_missing():
    assert ago(NOW - timedelta(seconds=34), NOW) == "34 s ago"
    assert ago(NOW + timedelta(seconds=5), NOW) == "in 5 s"
    assert ago(NOW, NOW) == "just now"
    assert ago(None, NOW) == "never"
    assert ago(datetime(2026, 11, 24, 19, 59, 0), NOW) == "1 min ago"


def test_clock_text_and_percentile():
    assert clock_text(3723) == "1:02:03"
    assert clock_text(59.6) == "0:01:00"
    assert percentile([3, 1, 2, 4], 0.5) == 2
    assert percentile(list(range(1, 21)), 0.95) == 19
    assert math.isnan(percentile([], 0.5))


def test_candidate_view_for_live_and_vod():
    candidate = new_candidate(live_fields(source_ts=(NOW - timedelta(seconds=12)).isoformat()))
    item = ActionItem(action_id="cc_1", payload=candidate, created_at=NOW, updated_at=NOW)
    view = candidate_view(item, NOW)
    assert (view.source, view.score, view.age, view.heading) == (
        "Chat spike",
        "80%",
        "12 s ago",
        "What a save",
    )
    assert view.vod is None
    vod = new_candidate(vod_fields(vod_offset=3723.0, suggested_title=None))
    view = candidate_view(item.model_copy(update={"payload": vod}), NOW)
    assert view.vod == "VOD 900001, clip ends at 1:02:03"
    assert view.heading == "(no title yet)"


def test_failure_view_uses_the_canonical_operator_message():
    failed = job(JobStatus.FAILED, error_code=ErrorCode.FORBIDDEN, error_detail="403 banned")
    view = failure_view(failed)
    assert view is not None
    assert (view.code, view.detail) == ("clip_forbidden", "403 banned")
    assert view.what_to_do == operator_message(ErrorCode.FORBIDDEN)
    assert failure_view(job(JobStatus.READY)) is None
    unknown = failure_view(job(JobStatus.FAILED))
    assert unknown is not None and unknown.code == "clip_unknown"


def test_retry_state_counts_down_to_the_limit():
    assert retry_state(job(JobStatus.FAILED, manual_retries=1), 3).note == (
        "1 of 3 manual retries used, 2 left."
    )
    spent = retry_state(job(JobStatus.FAILED, manual_retries=3), 3)
    assert not spent.allowed and "retry limit is reached (3 of 3" in spent.note
    assert not retry_state(job(JobStatus.FAILED), 0).allowed
    assert not retry_state(job(JobStatus.READY), 3).allowed


def test_expires_text_counts_from_the_validation():
    assert expires_text(3600, NOW - timedelta(minutes=30), NOW) == "in 30 min"
    assert expires_text(60, NOW - timedelta(minutes=5), NOW) == "expired (a refresh is due)"
    assert expires_text(None, NOW, NOW) == "unknown"


# --------------------------------------------------------------------------------- charts


def test_jobs_per_hour_buckets_by_approval_hour_and_outcome():
    jobs = [
        job(JobStatus.READY, approved_at=NOW - timedelta(minutes=10)),
        job(JobStatus.READY, approved_at=NOW - timedelta(minutes=20)),
        job(JobStatus.FAILED, approved_at=NOW - timedelta(hours=2, minutes=1)),
        job(JobStatus.POLLING, approved_at=NOW - timedelta(minutes=1)),
        job(JobStatus.READY, approved_at=NOW - timedelta(hours=30)),
    ]
    frame = charts.jobs_per_hour(jobs, NOW + timedelta(minutes=30))
    assert len(frame) == 24 * 3
    assert frame["jobs"].sum() == 4
    by = {(r.label, r.outcome): r.jobs for r in frame.itertuples() if r.jobs}
    assert by == {("19:00", "ready"): 2, ("17:00", "failed"): 1, ("19:00", "in progress"): 1}
    assert list(frame["label"])[-1] == "20:00"
    charts.jobs_per_hour_chart(frame).to_dict()


def test_timing_frame_has_both_spans_for_ready_jobs_only():
    moment = NOW - timedelta(seconds=30)
    ready = job(
        JobStatus.READY,
        source_ts=moment,
        approved_at=moment + timedelta(seconds=12),
        ready_at=moment + timedelta(seconds=20),
        requested_title="Nice",
    )
    frame = charts.timing_frame([ready, job(JobStatus.FAILED)])
    assert list(frame["stage"]) == list(charts.STAGES)
    assert list(frame["seconds"]) == [12.0, 8.0]
    assert list(frame["start"]) == [0.0, 12.0]
    [first, second] = charts.timing_summary(frame)
    assert (first.median, second.p95, second.samples) == (12.0, 8.0, 1)
    charts.timing_chart(frame).to_dict()
    assert charts.timing_frame([]).empty


# ----------------------------------------------------------------------------- control form


def test_field_specs_cover_every_editable_field_with_bounds():
    specs = {spec.name: spec for spec in field_specs()}
    assert list(specs) == list(EDITABLE_FIELDS)
    assert specs["clip_api_enabled"].kind == "flag"
    assert specs["clip_mode_default"].options == ("live", "vod")
    assert (specs["max_manual_retries"].minimum, specs["max_manual_retries"].maximum) == (0, 20)
    assert (specs["clip_default_duration"].minimum, specs["clip_default_duration"].maximum) == (
        5.0,
        60.0,
    )
    assert specs["clip_editor_user_id"].kind == "text"
    assert "Rollback switch" in specs["clip_api_enabled"].help


def test_changed_fields_only_what_the_operator_changed():
    shown = ControlPlaneConfig()
    values = {spec.name: getattr(shown, spec.name) for spec in field_specs()}
    assert changed_fields(shown, values) == {}
    values |= {"clip_api_enabled": False, "clip_editor_user_id": "  ", "max_manual_retries": 4.0}
    assert changed_fields(shown, values) == {"clip_api_enabled": False, "max_manual_retries": 4}
    values["clip_editor_user_id"] = " 777 "
    assert changed_fields(shown, values)["clip_editor_user_id"] == "777"


def test_chat_settings_have_widgets_grouped_with_bounds():
    specs = {spec.name: spec for spec in chat_field_specs()}
    assert set(specs) == set(CHAT_FIELDS)
    multiplier = specs["chat.spike_multiplier"]
    assert (multiplier.kind, multiplier.minimum, multiplier.maximum) == ("number", 1.2, 50.0)
    assert multiplier.group == "Chat spikes" and multiplier.label == "Spike multiplier"
    assert specs["chat.clip_command_roles"].kind == "multi"
    assert "everyone" in specs["chat.clip_command_roles"].options
    assert specs["chat.keywords"].kind == "weights"
    assert specs["chat.clip_duration_seconds"].kind == "seconds_or_unset"
    assert specs["chat.clip_command"].kind == "text" and not specs["chat.clip_command"].optional


def test_changed_chat_fields_parse_what_the_operator_typed():
    shown = ControlPlaneConfig()
    specs = chat_field_specs()
    values = {s.name: widget_value(s, setting_value(shown, s.name)) for s in specs}
    assert changed_fields(shown, values) == {}
    values |= {
        "chat.keywords": "POG = 2\nkekw, x y = 1",
        "chat.clip_command_roles": ["vip", "moderator"],
        "chat.clip_duration_seconds": " 20 ",
        "chat.spike_multiplier": 3.0,
    }
    assert changed_fields(shown, values) == {
        "chat.keywords": {"pog": 2.0, "kekw": 1.0, "x y": 1.0},
        "chat.clip_command_roles": ["moderator", "vip"],
        "chat.clip_duration_seconds": 20.0,
    }
    values["chat.clip_duration_seconds"] = "soon"
    assert changed_fields(shown, values)["chat.clip_duration_seconds"] == "soon"


def test_history_rows_say_who_when_and_what():
    rows = history_rows(
        [
            {
                "by": "Ann",
                "at": NOW - timedelta(minutes=2),
                "changes": {"clip_api_enabled": False, "clip_editor_user_id": "777"},
                "before": {"clip_api_enabled": True, "clip_editor_user_id": None},
            }
        ],
        NOW,
    )
    assert rows == [
        {
            "when": "2026-11-24 19:58:00 UTC (2 min ago)",
            "who": "Ann",
            "what changed": "Twitch clip API on: on → off; Clip editor user id: (unset) → 777",
        }
    ]


# ------------------------------------------------------------------------------ manual form


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3723", 3723.0), ("12.5", 12.5), ("1:02:03", 3723.0), ("62:03", 3723.0), ("1h2m3s", 3723.0)],
)
def test_parse_position(text, seconds):
    assert parse_position(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5", "1:75:00"])
def test_parse_position_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_position(text)


def test_candidate_fields_for_live_vod_and_each_moment_choice():
    base = ManualInput(
        broadcaster_id=" 12345 ", mode="live", title="T", duration=30.0, moment="now"
    )
    fields, problems = candidate_fields(base, NOW)
    assert problems == []
    assert fields["source"] == "manual" and fields["source_ts"] == NOW.isoformat()
    assert fields["broadcaster_id"] == "12345" and "vod_id" not in fields
    new_candidate(fields)

    ago_input = ManualInput("12345", "live", "T", 30.0, "seconds_ago", seconds_ago=12)
    assert (
        candidate_fields(ago_input, NOW)[0]["source_ts"]
        == (NOW - timedelta(seconds=12)).isoformat()
    )
    at = ManualInput(
        "12345",
        "vod",
        "T",
        30.0,
        "at",
        at_date=date(2026, 11, 24),
        at_time=time(20, 0),
        time_zone="Europe/Berlin",
        vod_id="900001",
        vod_offset="1:02:03",
    )
    fields, problems = candidate_fields(at, NOW + timedelta(hours=1))
    assert problems == []
    assert fields["source_ts"] == "2026-11-24T19:00:00+00:00"
    assert (fields["vod_id"], fields["vod_offset"]) == ("900001", 3723.0)

    future = ManualInput(
        "1", "vod", "T", 30.0, "at", at_date=date(2026, 11, 25), at_time=time(0, 0)
    )
    _, problems = candidate_fields(future, NOW)
    assert {p.field for p in problems} == {"source_ts", "vod_offset"}


def test_errors_by_widget_puts_unknown_fields_on_top():
    errors = errors_by_widget(
        [
            FieldProblem("suggested_duration", "must be between 5.0 and 60.0 seconds"),
            FieldProblem("vod_offset", "is required"),
            FieldProblem("score", "must be a number"),
        ]
    )
    assert errors == {
        "duration": ["must be between 5.0 and 60.0 seconds"],
        "vod_offset": ["is required"],
        GENERAL: ["score: must be a number"],
    }


# ------------------------------------------------------------------------------------ auth


def test_auth_mode_prefers_oidc_then_password():
    assert auth.auth_mode({"client_id": "x"}, "pw") is auth.AuthMode.OIDC
    assert auth.auth_mode(None, "pw") is auth.AuthMode.PASSWORD
    assert auth.auth_mode({}, "  ") is auth.AuthMode.UNCONFIGURED


def test_password_and_operator_helpers():
    assert auth.password_matches("sesame", "sesame")
    assert not auth.password_matches("sesame ", "sesame")
    assert auth.password_tag("a") != auth.password_tag("b")
    assert auth.clean_operator_name("  Ann   Op ") == "Ann Op"
    with pytest.raises(ValueError, match="Enter your name"):
        auth.clean_operator_name("   ")
    with pytest.raises(ValueError, match="at most"):
        auth.clean_operator_name("x" * 61)
    assert auth.oidc_provider({"client_id": "x"}) is None
    assert auth.oidc_provider({"redirect_uri": "u", "google": {"client_id": "x"}}) == "google"
    assert auth.operator_from_user({"name": "Ann", "email": "ann@x.tv"}) == "ann@x.tv"
    assert auth.operator_from_user({"sub": "123"}) == "123"


# --------------------------------------------------------------------------------- connect


def test_connect_settings_and_callback_parsing():
    settings = connect_settings({"TWITCH_CLIENT_ID": "cid"})
    assert settings.redirect_uri == DEFAULT_REDIRECT_URI
    assert settings.missing == ["TWITCH_CLIENT_SECRET"]
    assert callback_from_query({}) is None
    assert callback_from_query({"code": "abc"}) is None
    assert callback_from_query({"code": "abc", "state": ["s1", "s2"]}) == Callback(
        "abc", "s2", None, None
    )
    assert callback_from_query({"error": "access_denied"}) == Callback(
        None, None, "access_denied", None
    )


class _Unreachable:
    client_id = "cid"
    auth_base = "http://127.0.0.1:9"

    def exchange_code(self, code: str, *, redirect_uri: str, client_secret: str) -> Any:
        raise requests.ConnectionError("refused")

    def validate_token(self, access_token: str) -> Any:
        raise AssertionError("not reached")


def test_finish_connect_turns_failures_into_words():
    from shared.connect.flow import make_state

    settings = connect_settings({"TWITCH_CLIENT_ID": "cid", "TWITCH_CLIENT_SECRET": "s" * 12})
    callback = Callback("code", make_state("s" * 12), None, None)
    result = finish_connect(callback, twitch=_Unreachable(), tokens=None, settings=settings)  # type: ignore[arg-type]
    assert not result.ok and "Twitch could not be reached" in result.message


def test_account_view_names_the_role_and_never_holds_tokens():
    token = StoredToken(
        user_id="777",
        login="editor",
        access_token="secret-access",
        refresh_token="secret-refresh",
        scopes=["clips:edit"],
        obtained_at=NOW,
    )
    view = account_view(token, broadcaster_id="12345", editor_id="777")
    assert view.role == "clip editor (creates the clips)"
    assert view.report.missing == ("editor:manage:clips or channel:manage:clips",)
    assert "secret" not in repr(view)
    assert account_view(token, broadcaster_id="777", editor_id=None).role == (
        "broadcaster, creates the clips"
    )
    assert account_view(token, broadcaster_id="1", editor_id=None).role == "not used for clipping"


# ------------------------------------------------------------------ live pages and paging


def test_a_live_page_redraws_only_when_its_data_moved_on():
    drawn = Drawn(marker=(3, 1), at=100.0)
    assert not needs_redraw(drawn, (3, 1), 100.2)
    assert not needs_redraw(drawn, (3, 1), 10_000.0)
    assert needs_redraw(drawn, (4, 1), 100.2)
    assert needs_redraw(drawn, (3, 2), 100.2)
    assert not needs_redraw(drawn, (3, 1), 110.0, refresh_after=15.0)
    assert needs_redraw(drawn, (3, 1), 116.0, refresh_after=15.0)


def test_a_live_page_without_data_retries_every_few_seconds():
    unavailable = Drawn(marker=None, at=100.0)
    assert not needs_redraw(unavailable, (1, 1), 100.0 + RETRY_SECONDS / 2)
    assert needs_redraw(unavailable, (1, 1), 100.1 + RETRY_SECONDS)
    assert not needs_redraw(Drawn((1, 1), 100.0), None, 101.0)
    assert needs_redraw(Drawn((1, 1), 100.0), None, 100.1 + RETRY_SECONDS)


@pytest.mark.parametrize(
    ("total", "page", "window", "text"),
    [
        (0, 1, (1, 1, 0, 0), ""),
        (20, 1, (1, 1, 0, 20), ""),
        (21, 2, (2, 2, 20, 21), "showing 21 to 21 of 21 items; 20 more on the other page"),
        (200, 3, (3, 10, 40, 60), "showing 41 to 60 of 200 items; 180 more on other pages"),
        (200, 99, (10, 10, 180, 200), "showing 181 to 200 of 200 items; 180 more on other pages"),
        (5, 0, (1, 1, 0, 5), ""),
    ],
)
def test_pages_of_a_long_list_say_what_is_hidden(total, page, window, text):
    shown = page_window(total, page, 20)
    assert (shown.page, shown.pages, shown.start, shown.stop) == window
    assert shown.hidden == total - (shown.stop - shown.start)
    assert shown.text("items") == text
