"""Connect Twitch: the authorization-code flow, the connected accounts, and disconnect.

Twitch sends the browser back to TWITCH_REDIRECT_URI (the app's root) with `?code=&state=`;
the app opens this page for that load, finishes the flow once, then drops the query so the
single-use code is never sent twice. Tokens stay in Firestore and are never shown.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import streamlit as st

from shared.connect.flow import authorization_url, make_state
from shared.domain.errors import StoredTokenUnusable
from shared.domain.language import N_
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.store.twitch_tokens import StoredToken
from shared.twitch.helix_clips import HelixClips
from streamlit_app import ui
from streamlit_app.actions import Level, Outcome
from streamlit_app.connect import (
    AccountView,
    ConnectSettings,
    account_view,
    callback_from_query,
    connect_settings,
    finish_connect,
)
from streamlit_app.formatting import ago, utc_text
from streamlit_app.language import operator_zone, words
from streamlit_app.resources import config_in_force, firestore_guard, stores, twitch_client

PAGE = "views/connect_twitch.py"
CONFIRM = "connect_confirm_disconnect"


def _twitch(settings: ConnectSettings) -> HelixClips:
    return twitch_client(
        settings.client_id,
        os.environ.get("TWITCH_AUTH_BASE") or None,
        os.environ.get("TWITCH_API_BASE") or None,
    )


def _finish_redirect(settings: ConnectSettings) -> None:
    """Handle Twitch's redirect once, keep the answer in the session, drop the query."""
    callback = callback_from_query(st.query_params.to_dict())
    if callback is None:
        return
    t = words()
    if settings.missing:
        ui.flash("connect", Outcome("error", t("Not connected: the Twitch settings are missing.")))
    else:
        with firestore_guard(N_("store the Twitch connection")):
            result = finish_connect(
                callback, twitch=_twitch(settings), tokens=stores().tokens, settings=settings, t=t
            )
            level: Level = "error"
            if result.connected is not None:
                level = "warning" if result.connected.report.missing else "success"
            ui.flash("connect", Outcome(level, result.message))
    st.query_params.clear()
    st.switch_page(PAGE)


def _disconnect(user_id: str, login: str) -> None:
    def run() -> Outcome:
        stores().tokens.delete(user_id)
        t = words()
        return Outcome(
            "success",
            t(
                "Disconnected {login}: its tokens are deleted. Clips that need this account "
                "fail until someone connects it again.",
                login=login,
            ),
        )

    st.session_state.pop(CONFIRM, None)
    ui.act("connect", run)


def _account(view: AccountView) -> None:
    t = words()
    with st.container(border=True, key=f"account_{view.user_id}"):
        login = ui.literal(view.login)
        st.markdown(f"#### {login}")
        st.caption(t("User id {id} · {role}", id=view.user_id, role=view.role))
        report = view.report
        marks = {True: ":green[:material/check_circle:]", False: ":red[:material/cancel:]"}
        st.markdown(
            t(
                "Live clips {live} · VOD clips {vod} · Downloads {downloads}",
                live=marks[report.live_clips],
                vod=marks[report.vod_clips],
                downloads=marks[report.downloads],
            )
        )
        st.caption(t("Scopes: {scopes}", scopes=ui.literal(", ".join(view.scopes) or t("none"))))
        if report.missing:
            st.warning(
                t(
                    "Missing {scopes}: connect again with this account and approve every "
                    "requested permission.",
                    scopes=", ".join(report.missing),
                )
            )
        expiry = t(
            ", access renews automatically (current one ends {when})",
            when=utc_text(view.expires_at, t, operator_zone()),
        )
        now = datetime.now(UTC)
        when = ago(view.obtained_at, now, t) if view.obtained_at else t("(time unknown)")
        st.caption(t("Connected {when}", when=when) + expiry)
        _disconnect_buttons(view.user_id, view.login)


def _disconnect_buttons(user_id: str, login: str) -> None:
    """Disconnect, confirmed by a second click."""
    t = words()
    if st.session_state.get(CONFIRM) == user_id:
        st.warning(
            t("Disconnect {login}? Its tokens are deleted from Firestore.", login=ui.literal(login))
        )
        yes, no, _ = st.columns([0.25, 0.15, 0.6])
        yes.button(
            t("Yes, disconnect"),
            type="primary",
            key=f"disconnect_yes_{user_id}",
            on_click=_disconnect,
            args=(user_id, login),
        )
        no.button(
            t("Cancel"),
            key=f"disconnect_no_{user_id}",
            on_click=st.session_state.pop,
            args=(CONFIRM, None),
        )
    else:
        st.button(
            t("Disconnect"),
            key=f"disconnect_{user_id}",
            on_click=st.session_state.__setitem__,
            args=(CONFIRM, user_id),
        )


def _unreadable(user_id: str, error: StoredTokenUnusable) -> None:
    t = words()
    box = ui.unreadable(
        f"account_{user_id}",
        t("Unreadable Twitch connection (user id {id})", id=user_id),
        error.phrase.say(t),
        t(
            "reconnect: use Connect with Twitch below, signed in as that account (the new "
            "connection replaces this document), or disconnect it to delete it."
        ),
    )
    with box:
        _disconnect_buttons(user_id, t("user {id}", id=user_id))


def _accounts(settings: ConnectSettings) -> None:
    t = words()
    st.subheader(t("Connected accounts"))
    with firestore_guard(N_("load the connected accounts")):
        store = stores()
        editor = config_in_force().config.clip_editor_user_id
        tokens: list[StoredToken] = []
        unreadable: list[tuple[str, StoredTokenUnusable]] = []
        for uid in store.tokens.user_ids():
            try:
                token = store.tokens.get(uid)
            except StoredTokenUnusable as error:
                unreadable.append((uid, error))
                continue
            if token is not None:
                tokens.append(token)
        connected = {token.user_id for token in tokens} | {uid for uid, _ in unreadable}
        if not connected:
            st.warning(
                t(
                    "Twitch is not connected: no clip can be created. Use Connect with Twitch "
                    "below and sign in as the broadcaster (or the clip editor)."
                ),
                icon=":material/cloud_off:",
            )
        clipper = editor or settings.broadcaster_id
        if connected and clipper and clipper not in connected:
            st.warning(
                t(
                    "The account that creates clips (user id {id}, the {role}) is not "
                    "connected: clips fail until it is. Connect with Twitch below and sign in "
                    "as that account.",
                    id=clipper,
                    role=t("clip editor") if editor else t("broadcaster"),
                ),
                icon=":material/warning:",
            )
        for token in tokens:
            _account(
                account_view(token, broadcaster_id=settings.broadcaster_id, editor_id=editor, t=t)
            )
        for uid, problem in unreadable:
            _unreadable(uid, problem)


def _connect_button(settings: ConnectSettings) -> None:
    t = words()
    st.subheader(t("Connect an account"))
    if settings.missing:
        missing = list(settings.missing)
        needs = missing[0]
        if len(missing) > 1:
            needs = t("{some} and {last}", some=", ".join(missing[:-1]), last=missing[-1])
        st.error(
            t(
                "Connecting needs {settings}: create an application in the Twitch developer "
                "console, register the redirect URL `{url}`, then start this app with those "
                "variables set.",
                settings=needs,
                url=settings.redirect_uri,
            )
        )
        return
    url = authorization_url(
        _twitch(settings).auth_base,
        client_id=settings.client_id,
        redirect_uri=settings.redirect_uri,
        state=make_state(settings.client_secret),
    )
    st.markdown(
        t(
            "Sign in as the **broadcaster**, or as the **clip editor** set on the Control plane "
            "page. Twitch asks for: {scopes}. Twitch then sends you back to `{url}` and this "
            "page finishes the connection.",
            scopes=", ".join(f"`{s}`" for s in CONNECT_SCOPES),
            url=settings.redirect_uri,
        )
    )
    st.link_button(t("Connect with Twitch"), url, type="primary", icon=":material/link:")


settings = connect_settings()
_finish_redirect(settings)
t = words()
st.title(t("Connect Twitch"))
ui.show_flash("connect")
_accounts(settings)
_connect_button(settings)
