"""Drive the real app in headless Chromium: `streamlit run` as a subprocess, selenium on top.

Shared by the browser test and the screenshot script (python -m tests.browser.screenshots).
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from local.app_host import StreamlitServer
from shared.store.firestore_client import LOCAL_PROJECT

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
PASSWORD = "browser-test-password"
T = TypeVar("T")


def browser_missing() -> str | None:
    """Why a browser test cannot run here, or None when it can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(Path(path).name)):
            return (
                f"{path} is not installed: apt-get install -y chromium chromium-driver "
                "(CI installs them)"
            )
    if importlib.util.find_spec("selenium") is None:
        return "the selenium package is not installed (pip install selenium)"
    return None


def app_env(emulator_host: str, password: str = PASSWORD, **extra: str) -> dict[str, str]:
    """What `streamlit run` needs to reach the emulator and let an operator log in."""
    return {
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        "GOOGLE_CLOUD_PROJECT": LOCAL_PROJECT,
        "DASHBOARD_PASSWORD": password,
        **extra,
    }


@contextmanager
def streamlit_server(
    env: Mapping[str, str], log_path: Path, port: int | None = None
) -> Iterator[str]:
    """`streamlit run streamlit_app/app.py` on a loopback port; yields its base URL."""
    server = StreamlitServer(env=env, port=port or 0).start()
    try:
        yield server.url
    finally:
        log_path.write_text(server.log_tail(10**7))
        server.stop()


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium with its own throw-away profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="byteclips-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_until(check: Callable[[], T | None], timeout: float, what: str, poll: float = 0.05) -> T:
    """Poll `check` until it returns something truthy. Fragments re-render every second, so
    an element found a moment ago may be gone: a stale element just means 'try again'."""
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        StaleElementReferenceException,
    )

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (StaleElementReferenceException, ElementClickInterceptedException):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.3g} s waiting for {what}")
        time.sleep(poll)


_WATCH_JS = """
window.__want = arguments[0];
window.__seen = window.__seen || {};
if (!window.__observer) {
  const check = () => {
    const text = document.body ? document.body.textContent : "";
    for (const probe of (window.__want || [])) {
      if (!(probe in window.__seen) && text.includes(probe)) window.__seen[probe] = Date.now();
    }
  };
  window.__observer = new MutationObserver(check);
  window.__observer.observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def watch_for(driver: Any, *probes: str) -> None:
    """Note, in the page itself, when each of `probes` first appears: a MutationObserver
    times it to the render, where polling the page from here would lag and load the CPU."""
    driver.execute_script(_WATCH_JS, list(probes))


def appeared_after(driver: Any, probe: str, started: float, timeout: float = 15) -> float:
    """Seconds from `started` (time.time(), the browser's clock too) until `probe` showed."""
    stamp = wait_until(
        lambda: driver.execute_script("return (window.__seen || {})[arguments[0]]", probe),
        timeout,
        repr(probe),
    )
    return float(stamp) / 1000.0 - started


def page_text(driver: Any) -> str:
    return str(driver.execute_script("return document.body ? document.body.innerText : ''"))


def wait_for_text(driver: Any, text: str, timeout: float = 20) -> None:
    wait_until(lambda: text in page_text(driver), timeout, repr(text))


def by_css(driver: Any, selector: str, timeout: float = 20) -> Any:
    from selenium.webdriver.common.by import By

    return wait_until(
        lambda: next(iter(driver.find_elements(By.CSS_SELECTOR, selector)), None),
        timeout,
        selector,
    )


def click_button(driver: Any, label: str, within: str = "", timeout: float = 20) -> None:
    """Click the first visible button whose text is `label` (inside `within`, a CSS scope)."""
    from selenium.webdriver.common.by import By

    def find_and_click() -> bool:
        scope = driver.find_elements(By.CSS_SELECTOR, within) if within else [driver]
        for root in scope:
            for button in root.find_elements(By.TAG_NAME, "button"):
                if button.text.strip() == label and button.is_displayed() and button.is_enabled():
                    button.click()
                    return True
        return False

    wait_until(find_and_click, timeout, f"button {label!r}")


def type_into(driver: Any, label: str, text: str, within: str = "") -> None:
    """Type into the input labelled `label` (inside `within`), then leave it (Tab)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def fill() -> bool:
        selector = f'{within} [aria-label="{label}"]'.strip()
        for field in driver.find_elements(By.CSS_SELECTOR, selector):
            field.send_keys(Keys.CONTROL, "a")
            field.send_keys(Keys.DELETE)
            field.send_keys(text)
            field.send_keys(Keys.TAB)
            return True
        return False

    wait_until(fill, 20, f"field {label!r}")


def choose_option(driver: Any, label: str) -> None:
    """Click a radio option or segmented-control button by its visible text."""
    from selenium.webdriver.common.by import By

    def click() -> bool:
        for option in driver.find_elements(By.CSS_SELECTOR, "label, button"):
            if option.text.strip() == label and option.is_displayed():
                option.click()
                return True
        return False

    wait_until(click, 20, f"option {label!r}")


def login(driver: Any, base: str, name: str, password: str) -> None:
    driver.get(base + "/")
    fill_login(driver, name, password)


def fill_login(driver: Any, name: str, password: str) -> None:
    """Log in on the page as it is (keeps the URL's query, e.g. Twitch's redirect)."""
    type_into(driver, "Your name", name)
    type_into(driver, "Password", password)
    click_button(driver, "Log in")
    wait_for_text(driver, f"Logged in as {name}")


def open_page(driver: Any, title: str, timeout: float = 30) -> None:
    """Click a page in the sidebar navigation, again if its heading has not come within a few
    seconds: a click that lands while the app is still finishing a rerun can be dropped."""
    from selenium.webdriver.common.by import By

    def click() -> bool:
        for anchor in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]'):
            if anchor.text.strip().splitlines()[-1:] == [title]:
                anchor.click()
                return True
        return False

    def shown() -> bool:
        return title in [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h1")]

    deadline = time.monotonic() + timeout
    while True:
        wait_until(click, max(deadline - time.monotonic(), 1), f"navigation link {title!r}")
        try:
            wait_until(shown, min(6, max(deadline - time.monotonic(), 1)), f"page {title!r}")
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def full_screenshot(driver: Any, path: Path, width: int = 1400, max_height: int = 3000) -> None:
    """The whole page (up to `max_height`): Streamlit scrolls inside its main section."""
    height = driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]');"
        "return Math.max(m ? m.scrollHeight : 0, document.body.scrollHeight);"
    )
    driver.set_window_size(width, min(max(int(height) + 40, 800), max_height))
    time.sleep(0.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
