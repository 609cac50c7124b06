"""The browser tests' shared start-up: the app on the emulator (after `db` cleared it) and
Chromium that keeps its last screen in the test's tmp_path to look at after a failure."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from local.firestore_emulator import FirestoreEmulator, free_port
from tests.browser.streamlit_browser import app_env, chromium, streamlit_server


@pytest.fixture
def app_url(
    db: firestore.Client, firestore_emulator: FirestoreEmulator, tmp_path: Path
) -> Iterator[str]:
    env = app_env(firestore_emulator.host)
    with streamlit_server(env, tmp_path / "streamlit.log", port=free_port()) as base:
        yield base


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with chromium() as browser:
        yield browser
        browser.save_screenshot(str(tmp_path / "last-screen.png"))
