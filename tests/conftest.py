"""Shared fixtures: one Firestore emulator per test session, cleared before every test.

Tests reach it only through FIRESTORE_EMULATOR_HOST and the real google-cloud-firestore
client. Which emulator: see local/firestore_emulator.py (BYTECLIPS_EMULATOR=npm|gcloud).

The end-to-end clip stack (`sim`, `functions`, `relay`) is here too, so every e2e module runs
the same one; a module tunes it by overriding `clip_visible_after` or `sim_clock`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from google.cloud import firestore

from local.clip_harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    Functions,
    function_env,
    running_functions,
)
from local.firestore_emulator import FirestoreEmulator
from local.helix_simulator import HelixSimulator
from local.helix_simulator.state import Clock
from local.trigger_relay import TriggerRelay
from shared.store import documents
from shared.store.firestore_client import LOCAL_PROJECT

FIRESTORE_FIXTURES = {"db", "new_client", "firestore_emulator"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if FIRESTORE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.firestore)


@pytest.fixture(autouse=True)
def _fresh_unreadable_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable document is reported once per process; each test is a process's start."""
    monkeypatch.setattr(documents, "_reported", set())


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    emulator = FirestoreEmulator(project=LOCAL_PROJECT).start()
    previous = {k: os.environ.get(k) for k in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")}
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    os.environ["GOOGLE_CLOUD_PROJECT"] = LOCAL_PROJECT
    try:
        yield emulator
    finally:
        emulator.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def new_client(firestore_emulator: FirestoreEmulator) -> Callable[[], firestore.Client]:
    """A factory of independent clients, as separate processes would have."""
    return lambda: firestore.Client(project=LOCAL_PROJECT)


@pytest.fixture
def db(
    firestore_emulator: FirestoreEmulator, new_client: Callable[[], firestore.Client]
) -> firestore.Client:
    firestore_emulator.clear()
    return new_client()


@pytest.fixture(scope="module")
def clip_visible_after() -> float:
    """Seconds a created clip stays invisible to Get Clips; a module overrides it."""
    return 0.3


@pytest.fixture(scope="module")
def sim_clock() -> Clock:
    """The simulator's clock; a module that moves time overrides it."""
    return time.time


@pytest.fixture(scope="module")
def sim(clip_visible_after: float, sim_clock: Clock) -> Iterator[HelixSimulator]:
    with HelixSimulator(clock=sim_clock) as simulator:
        simulator.add_app(CLIENT_ID, CLIENT_SECRET)
        simulator.clip_visible_after = clip_visible_after
        yield simulator


@pytest.fixture(scope="module")
def functions(sim: HelixSimulator, firestore_emulator: FirestoreEmulator) -> Iterator[Functions]:
    """The clip functions in their own functions-framework processes, against `sim`."""
    env = function_env(sim, firestore_emulator.host, BYTECLIPS_MAX_INLINE_WAIT_SECONDS="5")
    with running_functions(env) as running:
        yield running


@pytest.fixture
def relay(db: firestore.Client, functions: Functions) -> Iterator[TriggerRelay]:
    """Delivers job writes to the worker as Eventarc would."""
    with TriggerRelay(db, functions.worker.url, skip_existing=True) as running:
        yield running


def pytest_report_header() -> str:
    from local.firestore_emulator import choose_kind

    return f"firestore emulator: {choose_kind()}"
