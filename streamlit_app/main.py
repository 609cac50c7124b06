"""Login first, then the pages: nothing reads Firestore before `require_operator()` passes.

Each page runs inside `contain`: an unexpected error shows a short message with a reference,
never a traceback (and `.streamlit/config.toml` turns Streamlit's own details off too).
"""

from __future__ import annotations

import streamlit as st

from shared.domain.language import N_
from streamlit_app.auth import logout_button, require_operator
from streamlit_app.connect import callback_from_query
from streamlit_app.incidents import contain
from streamlit_app.language import words
from streamlit_app.resources import setup_logging


def main() -> None:
    st.set_page_config(page_title="Byte Clips", page_icon=":material/movie:", layout="wide")
    setup_logging()
    operator = require_operator()
    # Twitch redirects to the app's root; that load opens Connect Twitch to finish the flow.
    twitch_redirect = callback_from_query(st.query_params.to_dict()) is not None
    t = words()
    pages = [
        st.Page(
            "views/queue.py",
            title=t("Queue"),
            icon=":material/inbox:",
            default=not twitch_redirect,
        ),
        st.Page("views/jobs.py", title=t("Jobs"), icon=":material/movie:"),
        st.Page("views/manual_clip.py", title=t("Manual clip"), icon=":material/content_cut:"),
        st.Page("views/control_plane.py", title=t("Control plane"), icon=":material/tune:"),
        st.Page("views/health.py", title=t("Health"), icon=":material/monitor_heart:"),
        st.Page(
            "views/connect_twitch.py",
            title=t("Connect Twitch"),
            icon=":material/link:",
            default=twitch_redirect,
        ),
    ]
    navigation = st.navigation(pages)
    logout_button(operator)
    with contain(N_("show this page")):
        navigation.run()
