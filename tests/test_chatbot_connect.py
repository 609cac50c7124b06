"""`python -m chatbot.connect`: the bot account and the broadcaster's channel:bot, against
the Helix simulator's OAuth endpoints."""

from __future__ import annotations

import pytest
import requests

from chatbot.connect import main
from local.helix_simulator import HelixSimulator
from shared.domain.twitch_scopes import CHANNEL_BOT, CHAT_BOT, CONNECT_SCOPES
from shared.store.twitch_tokens import TwitchTokenStore

CLIENT_ID, SECRET = "cid-chat", "chat-client-secret-456"


@pytest.fixture
def sim(monkeypatch):
    with HelixSimulator() as simulator:
        simulator.add_app(CLIENT_ID, SECRET)
        monkeypatch.setenv("TWITCH_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("TWITCH_CLIENT_SECRET", SECRET)
        monkeypatch.setenv("TWITCH_API_BASE", simulator.api_base)
        monkeypatch.setenv("TWITCH_AUTH_BASE", simulator.auth_base)
        yield simulator


def browse(monkeypatch, capsys) -> None:
    def browser(prompt: str) -> str:
        url = capsys.readouterr().out.strip().splitlines()[-1]
        return requests.get(url, allow_redirects=False, timeout=5).headers["Location"]

    monkeypatch.setattr("builtins.input", browser)


@pytest.mark.parametrize(
    ("account", "user_id", "scopes"),
    [("bot", "777001", set(CHAT_BOT)), ("broadcaster", "12345", {*CONNECT_SCOPES, CHANNEL_BOT})],
)
def test_connect_stores_the_scopes_each_account_needs(
    db, sim, monkeypatch, capsys, account, user_id, scopes
):
    sim.add_user(user_id, f"{account}login", client_id=CLIENT_ID, scopes=[])
    sim.authorize_as(user_id)
    browse(monkeypatch, capsys)
    assert main([account]) == 0
    out = capsys.readouterr().out
    assert f"(user id {user_id})" in out and SECRET not in out
    assert set(TwitchTokenStore(db).get(user_id).scopes) == scopes
    if account == "bot":
        assert f"TWITCH_BOT_USER_ID={user_id}" in out
