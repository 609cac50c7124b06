"""Tokens in Firestore and their refresh, against the emulator and the Helix simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from local.helix_simulator import HelixSimulator
from shared.connect.flow import ConnectError, authorization_url, complete, make_state
from shared.domain.errors import ClipUnauthorized, StoredTokenUnreadable
from shared.domain.twitch_scopes import CONNECT_SCOPES, scope_report, scopes_for
from shared.logs import redact
from shared.store.twitch_tokens import (
    StoredToken,
    StoredTokenSource,
    TokenRefreshBusy,
    TwitchTokenStore,
)
from shared.twitch.helix_clips import HelixClips, TokenGrant
from tests.racing import race

CLIENT_ID, SECRET = "cid-tokens", "client-secret-value-123"
USER = "12345"


@pytest.fixture
def sim():
    with HelixSimulator() as simulator:
        simulator.add_app(CLIENT_ID, SECRET)
        yield simulator


@pytest.fixture
def twitch(sim):
    with HelixClips(CLIENT_ID, api_base=sim.api_base, auth_base=sim.auth_base) as client:
        yield client


@pytest.fixture
def stored(sim, db):
    access, refresh = sim.add_user(
        USER, "bytestreamer", client_id=CLIENT_ID, scopes=["clips:edit", "channel:manage:clips"]
    )
    grant = TokenGrant(
        access_token=access,
        refresh_token=refresh,
        expires_in=3600,
        scopes=("clips:edit", "channel:manage:clips"),
    )
    TwitchTokenStore(db).save_grant(grant, user_id=USER, login="bytestreamer", client_id=CLIENT_ID)
    return access, refresh


def refresher(twitch: HelixClips):
    return lambda refresh_token: twitch.refresh_token(refresh_token, client_secret=SECRET)


def test_saved_token_round_trips_without_showing_secrets(db, stored):
    token = TwitchTokenStore(db).get(USER)
    assert token is not None
    assert token.access_token == stored[0]
    assert token.login == "bytestreamer"
    assert stored[0] not in repr(token) and stored[1] not in repr(token)
    assert TwitchTokenStore(db).user_ids() == [USER]


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"refresh_token": ["refresh-secret"]}, "refresh_token"),
        ({"access_token": ["access-secret"]}, "access_token"),
    ],
)
def test_malformed_token_document_errors_without_the_tokens(db, broken, field):
    # Short token values last in the document: pydantic would show them in its error text.
    document = {
        "user_id": "4242",
        "scopes": ["clips:edit"],
        "obtained_at": datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
        "access_token": "access-secret",
        "refresh_token": "refresh-secret",
    }
    document = {k: v for k, v in (document | broken).items() if v is not None}
    db.collection("twitch_tokens").document("4242").set(document)
    with pytest.raises(StoredTokenUnreadable) as caught:
        TwitchTokenStore(db).get("4242")
    text = f"{caught.value} {caught.value!r} {caught.value.operator_message}"
    assert field in text
    assert "The stored Twitch token for user 4242 is unreadable" in text
    assert "reconnect Twitch" in text
    assert "access-secret" not in text and "refresh-secret" not in text


def test_building_a_stored_token_registers_no_secret():
    StoredToken(
        user_id="4243",
        access_token="built-access-unregistered",
        refresh_token="built-refresh-unregistered",
        obtained_at=datetime(2026, 11, 24, 20, 0, tzinfo=UTC),
    )
    said = "saw built-access-unregistered and built-refresh-unregistered"
    assert redact(said) == said


def test_refresh_rotates_and_stores_the_new_refresh_token(db, sim, twitch, stored):
    store = TwitchTokenStore(db)
    new = store.refresh(USER, refresher=refresher(twitch), worker="w1", rejected=stored[0])
    assert new.access_token != stored[0]
    assert new.refresh_token != stored[1]
    again = store.get(USER)
    assert (again.access_token, again.refresh_token) == (new.access_token, new.refresh_token)
    assert again.refresh_holder is None
    assert twitch.validate_token(new.access_token).user_id == USER
    assert store.refresh(USER, refresher=refresher(twitch), worker="w2").refresh_token != (
        new.refresh_token
    )


def test_racing_refreshes_call_twitch_once_and_keep_the_newest(db, new_client, sim, twitch, stored):
    results = race(
        6,
        new_client,
        lambda client, i: TwitchTokenStore(client, poll_seconds=0.05).refresh(
            USER, refresher=refresher(twitch), worker=f"w{i}", rejected=stored[0]
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sim.count("POST", "/oauth2/token") == 1
    final = TwitchTokenStore(db).get(USER)
    assert {r.access_token for r in results} == {final.access_token}
    assert twitch.refresh_token(final.refresh_token, client_secret=SECRET).access_token


def test_dead_holder_lease_expires_and_is_taken_over(db, sim, twitch, stored):
    clock = [datetime(2026, 11, 24, 20, 0, tzinfo=UTC)]
    store = TwitchTokenStore(db, lease_seconds=30, clock=lambda: clock[0])
    token = store.get(USER)
    assert store._take_lease(token, "crashed", clock[0]) is not None
    waiting = TwitchTokenStore(
        db, wait_seconds=0.3, poll_seconds=0.05, clock=lambda: clock[0], lease_seconds=30
    )
    with pytest.raises(TokenRefreshBusy, match="try again"):
        waiting.refresh(USER, refresher=refresher(twitch), worker="w2", rejected=stored[0])
    clock[0] += timedelta(seconds=31)
    new = waiting.refresh(USER, refresher=refresher(twitch), worker="w2", rejected=stored[0])
    assert new.access_token != stored[0]
    assert store.get(USER).refresh_lease_seq == 2


def test_refused_refresh_releases_the_lease(db, sim, twitch, stored):
    store = TwitchTokenStore(db)

    def bad(refresh_token: str) -> TokenGrant:
        return twitch.refresh_token(refresh_token, client_secret="wrong-secret")

    with pytest.raises(ClipUnauthorized) as caught:
        store.refresh(USER, refresher=bad, worker="w1", rejected=stored[0])
    assert SECRET not in str(caught.value) and stored[1] not in str(caught.value)
    assert store.get(USER).refresh_holder is None


def test_token_source_refreshes_once_after_a_401(db, sim, twitch, stored):
    source = StoredTokenSource(TwitchTokenStore(db), USER, refresher=refresher(twitch), worker="w1")
    assert source.access_token() == stored[0]
    sim.expire_token(stored[0])
    fresh = source.refreshed_access_token(stored[0])
    assert fresh != stored[0]
    assert source.access_token() == fresh


def test_token_source_without_a_token_says_connect(db):
    source = StoredTokenSource(TwitchTokenStore(db), "999", refresher=lambda _: None, worker="w")
    with pytest.raises(ClipUnauthorized, match="connect Twitch"):
        source.access_token()


def test_scope_report():
    full = scope_report(["clips:edit", "editor:manage:clips"])
    assert full.clipping_ok and full.missing == ()
    live_only = scope_report(["clips:edit"])
    assert (live_only.live_clips, live_only.vod_clips) == (True, False)
    assert live_only.missing == ("editor:manage:clips or channel:manage:clips",)
    assert scope_report([]).missing[0] == "clips:edit"
    assert scopes_for("live") == ("clips:edit",)


def test_connect_flow_end_to_end(db, sim, twitch):
    sim.add_user("777", "editorperson", client_id=CLIENT_ID, scopes=[])
    sim.authorize_as("777")
    redirect = "http://localhost:8501/"
    url = authorization_url(
        sim.auth_base, client_id=CLIENT_ID, redirect_uri=redirect, state=make_state(SECRET)
    )
    assert "force_verify=true" in url and "clips%3Aedit" in url
    landed = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    query = dict(part.split("=", 1) for part in landed.split("?", 1)[1].split("&"))
    connected = complete(
        twitch,
        TwitchTokenStore(db),
        code=query["code"],
        state=requests.utils.unquote(query["state"]),
        redirect_uri=redirect,
        client_secret=SECRET,
    )
    assert (connected.user_id, connected.login) == ("777", "editorperson")
    assert set(connected.scopes) == set(CONNECT_SCOPES)
    assert connected.report.clipping_ok
    assert TwitchTokenStore(db).get("777").scopes == sorted(CONNECT_SCOPES)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"error": "access_denied", "code": None, "state": None}, "not granted"),
        ({"code": None, "state": "x"}, "no code"),
        ({"code": "abc", "state": "forged.state"}, "not one we started"),
        ({"code": "abc", "state": make_state("other-secret")}, "not one we started"),
        ({"code": "abc", "state": make_state(SECRET, now=1_000_000)}, "10 minutes"),
    ],
)
def test_connect_refuses_bad_answers_before_any_exchange(db, sim, twitch, kwargs, words):
    with pytest.raises(ConnectError, match=words):
        complete(
            twitch,
            TwitchTokenStore(db),
            redirect_uri="http://localhost:8501/",
            client_secret=SECRET,
            **kwargs,
        )
    assert sim.count("POST", "/oauth2/token") == 0


def test_headless_cli_connects(db, sim, firestore_emulator, monkeypatch, capsys):
    from shared.connect.terminal import main

    sim.add_user("888", "headless", client_id=CLIENT_ID, scopes=[])
    sim.authorize_as("888")
    monkeypatch.setenv("TWITCH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("TWITCH_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("TWITCH_API_BASE", sim.api_base)
    monkeypatch.setenv("TWITCH_AUTH_BASE", sim.auth_base)
    answers = []

    def browser(prompt: str) -> str:
        url = capsys.readouterr().out.strip().splitlines()[-1]
        landed = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
        answers.append(landed)
        return landed

    monkeypatch.setattr("builtins.input", browser)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Connected headless (user id 888)" in out
    assert "all allowed" in out
    assert TwitchTokenStore(db).get("888").login == "headless"
    assert SECRET not in out
    assert main(["--answer", answers[0]]) == 1
    assert "Not connected" in capsys.readouterr().err
