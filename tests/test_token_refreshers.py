"""One refresher per token (docs/architecture.md §6.4, 5): Twitch rotates refresh tokens, so every
refresh goes through the store's lease, twitchio's included, and token health refreshes only the
tokens whose `refresh_owner` it is. Against the Helix simulator, which spends a refresh token on
use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from twitchio.http import Route

from chatbot.control import StaticConfig
from chatbot.link_state import LinkState
from chatbot.runtime import ChatRuntime
from chatbot.twitch_bot import ByteChatBot
from local.helix_simulator import HelixSimulator
from shared.domain.twitch_models import TokenGrant
from shared.pipeline.token_health import TokenHealth
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import CHATBOT, FUNCTIONS, StoredTokenSource, TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

CLIENT_ID, SECRET = "cid-refreshers", "refreshers-client-secret"
BOT, CHANNEL = "777001", "12345"
ROUNDS = 4


class _Nothing:
    """The chat pipeline's sinks: these tests never see a chat message."""

    def submit(self, detection: object, *, requester_roles: frozenset[str] = frozenset()) -> bool:
        return True

    def post(self, text: str, *, urgent: bool = True) -> None: ...

    def set_privileged(self, privileged: bool) -> None: ...


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[HelixSimulator]:
    with HelixSimulator() as simulator:
        simulator.add_app(CLIENT_ID, SECRET)
        # twitchio's own OAuth client talks to the simulator instead of id.twitch.tv.
        monkeypatch.setattr(Route, "ID_BASE", simulator.auth_base.removesuffix("oauth2"))
        yield simulator


@pytest.fixture
def helix(sim: HelixSimulator) -> Iterator[HelixClips]:
    with HelixClips(CLIENT_ID, api_base=sim.api_base, auth_base=sim.auth_base) as client:
        yield client


def store_token(db, sim: HelixSimulator, user_id: str, owner: str, expires_in: int = 14400):
    access, refresh = sim.add_user(
        user_id, f"user{user_id}", client_id=CLIENT_ID, scopes=["clips:edit"], expires_in=expires_in
    )
    grant = TokenGrant(access, refresh, expires_in, ("clips:edit",))
    TwitchTokenStore(db).save_grant(
        grant, user_id=user_id, login=f"user{user_id}", client_id=CLIENT_ID, refresh_owner=owner
    )
    return access, refresh


def make_bot(tokens: TwitchTokenStore) -> ByteChatBot:
    nothing = _Nothing()
    return ByteChatBot(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        bot_id=BOT,
        broadcaster_id=CHANNEL,
        runtime=ChatRuntime(StaticConfig(), nothing, nothing),  # type: ignore[arg-type]
        tokens=tokens,
        link=LinkState(0.0),
    )


def test_twitchio_and_the_functions_racing_to_refresh_never_store_a_dead_token(
    db, new_client, sim, helix
):
    """Each round, twitchio (its own OAuth call, as on a 401 or in its validation loop) and
    a function (after Twitch refused the token) refresh the bot's token at the same moment:
    Twitch is asked once, both get the new pair, and the stored pair is alive."""
    access, refresh = store_token(db, sim, BOT, CHATBOT)
    bot = make_bot(TwitchTokenStore(new_client(), poll_seconds=0.05))
    twitchio_refresh = bot._http._ManagedHTTPClient__isolated.refresh_token  # type: ignore[attr-defined]
    function = StoredTokenSource(
        TwitchTokenStore(new_client(), poll_seconds=0.05),
        BOT,
        refresher=helix.refresher(SECRET),
        worker="worker-1",
    )
    store = TwitchTokenStore(db)
    refreshes = sim.count("POST", "/oauth2/token")

    async def one_round(access: str, refresh: str) -> tuple[str, str]:
        payload, fresh = await asyncio.gather(
            twitchio_refresh(refresh), asyncio.to_thread(function.refreshed_access_token, access)
        )
        return payload.access_token, fresh

    async def rounds() -> None:
        nonlocal access, refresh
        try:
            for number in range(1, ROUNDS + 1):
                from_twitchio, from_function = await one_round(access, refresh)
                stored = store.get(BOT)
                assert stored is not None
                assert from_twitchio == from_function == stored.access_token
                assert sim.count("POST", "/oauth2/token") == refreshes + number
                assert helix.validate_token(stored.access_token).user_id == BOT
                assert stored.refresh_holder is None
                access, refresh = stored.access_token, stored.refresh_token or ""
        finally:
            await bot._http.close()

    asyncio.run(rounds())
    alive = helix.refresh_token(refresh, client_secret=SECRET)
    assert alive.access_token and alive.refresh_token != refresh


def token_health(db, helix: HelixClips, worker_id: str, **owner: Any) -> TokenHealth:
    """Token health for CHANNEL on the emulator's stores; `owner` says whose tokens it refreshes."""
    return TokenHealth(
        tokens=TwitchTokenStore(db),
        config=ControlPlaneStore(db),
        clips_auth=ClipsAuthStore(db),
        twitch=helix,
        refresher=helix.refresher(SECRET),
        worker_id=worker_id,
        broadcaster_id=CHANNEL,
        **owner,
    )


def test_token_health_refreshes_only_the_tokens_it_owns(db, sim, helix):
    bot_access, _ = store_token(db, sim, BOT, CHATBOT, expires_in=600)
    clip_access, _ = store_token(db, sim, CHANNEL, FUNCTIONS, expires_in=600)
    health = token_health(db, helix, "auth-1", refreshes_for=FUNCTIONS)
    _, checks = health.run()
    by_user = {check.user_id: check for check in checks}
    assert by_user[BOT].valid and not by_user[BOT].refreshed
    assert by_user[CHANNEL].valid and by_user[CHANNEL].refreshed
    assert TwitchTokenStore(db).get(BOT).access_token == bot_access
    assert TwitchTokenStore(db).get(CHANNEL).access_token != clip_access
    assert sim.count("POST", "/oauth2/token") == 1
    sim.expire_token(bot_access)
    validate_only = token_health(db, helix, "chat-1")
    _, checks = validate_only.run()
    bot_check = next(check for check in checks if check.user_id == BOT)
    assert not bot_check.valid and not bot_check.refreshed
    assert "refresh owner (chatbot)" in (bot_check.error or "")
    assert sim.count("POST", "/oauth2/token") == 1


def test_the_bot_claims_its_tokens_refresh_and_a_reconnect_keeps_the_owner(db, sim):
    store_token(db, sim, BOT, FUNCTIONS)
    store = TwitchTokenStore(db)
    store.claim_refresh(BOT, CHATBOT)
    access, refresh = sim.add_user(BOT, "bytebot", client_id=CLIENT_ID, scopes=["user:read:chat"])
    store.save_grant(
        TokenGrant(access, refresh, 14400, ("user:read:chat",)),
        user_id=BOT,
        login="bytebot",
        client_id=CLIENT_ID,
    )
    assert store.get(BOT).owner == CHATBOT
    assert store.get(BOT).refresh_lease_seq == 0
