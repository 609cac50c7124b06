"""Process-wide resources (one Firestore client, the stores, the Twitch client, the listeners
the live pages poll) and the guard that turns a Firestore outage into words on the page
instead of a stack trace.

The listeners are shared by every session of the process through `st.cache_resource`: the
Queue and Jobs pages ask them "what changed?" several times a second without a read, and
Firestore bills a listener one read per document that enters or changes in its result.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError
from google.cloud import firestore

from shared.domain.clip_job import ClipJob, JobStatus
from shared.domain.control_plane import ControlPlaneConfig
from shared.domain.errors import (
    ConfigInvalid,
    FieldProblem,
    StoredDocumentUnreadable,
    StoredTokenUnusable,
)
from shared.domain.text import markdown_literal
from shared.domain.validation import problems_text
from shared.logs import configure_logging
from shared.store.action_queue import ActionItem, ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import default_client
from shared.store.live_query import LiveQuery
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips
from streamlit_app.data import FirestoreUnavailable, emulator_problem

logger = logging.getLogger("streamlit_app")
# How long a page waits for a new listener's first snapshot before it shows what it has.
FIRST_SNAPSHOT_SECONDS = 10.0
JOBS_PER_STATUS = 50


@dataclass(frozen=True)
class Stores:
    db: firestore.Client
    queue: ActionQueue
    jobs: ClipJobStore
    # `control` refuses a stored document that does not parse (so the app can say what is
    # wrong); `control_in_force` runs on the last good or default values instead, and saves.
    control: ControlPlaneStore
    control_in_force: ControlPlaneStore
    observability: ClipsAuthStore
    tokens: TwitchTokenStore


@dataclass(frozen=True)
class ConfigInForce:
    """The settings the app runs on, and the stored ones it refused (their fields, in
    `problems`), which take their last good value or their default (a switch: off)."""

    config: ControlPlaneConfig
    problems: tuple[FieldProblem, ...] = ()


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
        control_in_force=ControlPlaneStore(client, tolerant=True),
        observability=ClipsAuthStore(client),
        tokens=TwitchTokenStore(client),
    )


def stores() -> Stores:
    """The shared stores, or FirestoreUnavailable saying what to fix."""
    from streamlit_app.language import words

    t = words(read=False)
    problem = emulator_problem(t=t)
    if problem:
        raise FirestoreUnavailable(problem)
    try:
        return _stores()
    except (RuntimeError, GoogleAuthError) as error:
        raise FirestoreUnavailable(
            t(
                "Firestore is not configured: {error}. Set GOOGLE_CLOUD_PROJECT and give this "
                "app Google credentials (or FIRESTORE_EMULATOR_HOST for a local emulator), "
                "then restart it.",
                error=error,
            )
        ) from None


def config_in_force() -> ConfigInForce:
    """The control plane as stored now (one read); a refused document does not stop a page."""
    store = stores()
    try:
        return ConfigInForce(store.control.read(fresh=True))
    except ConfigInvalid as error:
        return ConfigInForce(store.control_in_force.read(fresh=True), tuple(error.problems))


class ConfigChanges:
    """Counts the saves of `control_plane/config` that a listener sees, so a live page knows
    to redraw when a switch flips (one read per save)."""

    def __init__(self, store: ControlPlaneStore) -> None:
        self.version = 0
        self._lock = threading.Lock()
        self._watch = store.watch(self._bump, self._bump)

    @property
    def active(self) -> bool:
        return self._watch.is_active

    def stop(self) -> None:
        self._watch.unsubscribe()

    def _bump(self, _: object) -> None:
        with self._lock:
            self.version += 1


@dataclass(frozen=True)
class JobLists:
    """One listener per status: the most recently changed jobs of each."""

    by_status: dict[JobStatus, LiveQuery[ClipJob]]

    def version(self) -> tuple[int, ...]:
        return tuple(live.version for live in self.by_status.values())

    @property
    def active(self) -> bool:
        return all(live.active for live in self.by_status.values())

    def stop(self) -> None:
        for live in self.by_status.values():
            live.stop()


def _stop(resource: LiveQuery[ActionItem] | JobLists | ConfigChanges) -> None:
    resource.stop()


def _alive(resource: LiveQuery[ActionItem] | JobLists | ConfigChanges) -> bool:
    """A listener that ended (a lasting error) is started again on the next use."""
    return resource.active


@st.cache_resource(show_spinner=False, on_release=_stop, validate=_alive)
def _pending_items() -> LiveQuery[ActionItem]:
    return _stores().queue.watch_pending().start(FIRST_SNAPSHOT_SECONDS)


@st.cache_resource(show_spinner=False, on_release=_stop, validate=_alive)
def _job_lists() -> JobLists:
    jobs = _stores().jobs
    lists = {status: jobs.watch_status(status, JOBS_PER_STATUS).listen() for status in JobStatus}
    for live in lists.values():
        live.wait_synced(FIRST_SNAPSHOT_SECONDS)
    return JobLists(lists)


@st.cache_resource(show_spinner=False, on_release=_stop, validate=_alive)
def _config_changes() -> ConfigChanges:
    return ConfigChanges(_stores().control)


def pending_items() -> LiveQuery[ActionItem]:
    """The pending `action_queue` items, kept by this process's listener."""
    stores()
    return _pending_items()


def job_lists() -> JobLists:
    """The clip jobs by status, kept by this process's listeners."""
    stores()
    return _job_lists()


def config_changes() -> ConfigChanges:
    stores()
    return _config_changes()


@st.cache_resource(show_spinner=False)
def twitch_client(client_id: str, auth_base: str | None, api_base: str | None) -> HelixClips:
    """One pooled Twitch client per settings (env changes in tests make a new one)."""
    return HelixClips(client_id, auth_base=auth_base, api_base=api_base)


@contextmanager
def firestore_guard(what: str) -> Iterator[None]:
    """Show an outage as what happened and what to do; the page's refresh retries it.
    `what` is a catalog message (`N_`), said in the app's language."""
    from streamlit_app.language import words

    t = words(read=False)
    try:
        yield
    except FirestoreUnavailable as error:
        st.error(
            t("Cannot {what}. {error}", what=t(what), error=error),
            icon=":material/cloud_off:",
        )
    except ConfigInvalid as error:
        problems = markdown_literal(problems_text(error.problems, t))
        st.error(
            t(
                "Cannot {what}: the stored control plane (control_plane/config) is invalid: "
                "{problems}. Save valid values on the Control plane page.",
                what=t(what),
                problems=problems,
            ),
            icon=":material/warning:",
        )
    except (StoredDocumentUnreadable, StoredTokenUnusable) as error:
        st.error(
            t(
                "Cannot {what}. {error}.",
                what=t(what),
                error=markdown_literal(error.phrase.say(t)),
            ),
            icon=":material/report:",
        )
    except (GoogleAPIError, GoogleAuthError) as error:
        logger.warning("firestore call failed", extra={"what": what, "error": str(error)})
        summary = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        st.error(
            t(
                "Cannot {what}: Firestore answered with an error ({kind}: {summary}). Check "
                "the network and the app's Google credentials and permissions; this page "
                "retries by itself.",
                what=t(what),
                kind=type(error).__name__,
                summary=summary,
            ),
            icon=":material/cloud_off:",
        )
