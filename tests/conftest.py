"""Shared fixtures: one Firestore emulator per test session, cleared before every test.

Tests reach it only through FIRESTORE_EMULATOR_HOST and the real google-cloud-firestore
client. Which emulator: see local/firestore_emulator.py (BYTECLIPS_EMULATOR=npm|gcloud).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from google.cloud import firestore

from local.firestore_emulator import FirestoreEmulator
from shared.store.firestore_client import LOCAL_PROJECT

FIRESTORE_FIXTURES = {"db", "new_client", "firestore_emulator"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if FIRESTORE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.firestore)


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


def pytest_report_header() -> str:
    from local.firestore_emulator import choose_kind

    return f"firestore emulator: {choose_kind()}"
