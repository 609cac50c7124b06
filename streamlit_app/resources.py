"""Process-wide resources (one Firestore client, the stores, the Twitch client) and the guard
that turns a Firestore outage into words on the page instead of a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import firestore

from shared.domain.errors import ConfigInvalid
from shared.logs import configure_logging
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import default_client
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips
from streamlit_app.data import FirestoreUnavailable, emulator_problem

logger = logging.getLogger("streamlit_app")


@dataclass(frozen=True)
class Stores:
    db: firestore.Client
    queue: ActionQueue
    jobs: ClipJobStore
    control: ControlPlaneStore
    observability: ClipsAuthStore
    tokens: TwitchTokenStore


@st.cache_resource(show_spinner=False)
def setup_logging() -> bool:
    configure_logging()
    return True


@st.cache_resource(show_spinner=False)
def _stores() -> Stores:
    client = default_client()
    return Stores(
        db=client,
        queue=ActionQueue(client),
        jobs=ClipJobStore(client),
        control=ControlPlaneStore(client),
        observability=ClipsAuthStore(client),
        tokens=TwitchTokenStore(client),
    )


def stores() -> Stores:
    """The shared stores, or FirestoreUnavailable saying what to fix."""
    problem = emulator_problem()
    if problem:
        raise FirestoreUnavailable(problem)
    try:
        return _stores()
    except (RuntimeError, GoogleAuthError) as error:
        raise FirestoreUnavailable(
            f"Firestore is not configured: {error}. Set GOOGLE_CLOUD_PROJECT and give this "
            "app Google credentials (or FIRESTORE_EMULATOR_HOST for a local emulator), then "
            "restart it."
        ) from None


@st.cache_resource(show_spinner=False)
def twitch_client(client_id: str, auth_base: str | None, api_base: str | None) -> HelixClips:
    """One pooled Twitch client per settings (env changes in tests make a new one)."""
    return HelixClips(client_id, auth_base=auth_base, api_base=api_base)


@contextmanager
def firestore_guard(what: str) -> Iterator[None]:
    """Show an outage as what happened and what to do; the page's refresh retries it."""
    try:
        yield
    except FirestoreUnavailable as error:
        st.error(f"Cannot {what}. {error}", icon=":material/cloud_off:")
    except ConfigInvalid as error:
        st.error(
            f"Cannot {what}: the stored control plane (control_plane/config) is invalid: "
            f"{'; '.join(str(p) for p in error.problems)}. Save valid values on the Control "
            "plane page.",
            icon=":material/warning:",
        )
    except (GoogleAPIError, GoogleAuthError) as error:
        logger.warning("firestore call failed", extra={"what": what, "error": str(error)})
        summary = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        st.error(
            f"Cannot {what}: Firestore answered with an error ({type(error).__name__}: "
            f"{summary}). Check the network and the app's Google credentials and "
            "permissions; this page retries by itself.",
            icon=":material/cloud_off:",
        )
