"""The browser tests' shared start-up: the app on the emulator (after `db` cleared it) and
Chromium that keeps its last screen in the test's tmp_path to look at after a failure. A failed
test's report also carries what the page showed and the app's log, for CI, where tmp_path is
out of reach."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from local.app_host import StreamlitServer
from local.firestore_emulator import FirestoreEmulator, free_port
from tests.browser.streamlit_browser import app_env, chromium, page_text

LOG_TAIL = 6000


@pytest.fixture
def app_url(
    db: firestore.Client,
    firestore_emulator: FirestoreEmulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    server = StreamlitServer(env=app_env(firestore_emulator.host), port=free_port()).start()
    request.node.stash[APP_SERVER] = server
    try:
        yield server.url
    finally:
        (tmp_path / "streamlit.log").write_text(server.log_tail(10**7))
        server.stop()


APP_SERVER = pytest.StashKey[StreamlitServer]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.when == "call" and report.failed:
        driver = getattr(item, "funcargs", {}).get("driver")
        if driver is not None:
            try:
                report.sections.append(("page text at failure", page_text(driver)[-LOG_TAIL:]))
            except Exception as error:  # the browser itself may be what failed
                report.sections.append(("page text at failure", f"unreadable: {error!r}"))
        server = item.stash.get(APP_SERVER, None)
        if server is not None:
            report.sections.append(("app log at failure", server.log_tail(LOG_TAIL)))
    return report


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with chromium() as browser:
        yield browser
        browser.save_screenshot(str(tmp_path / "last-screen.png"))
