"""Words from chat stay words, in a real browser (issue 16).

A trap HTTP server listens on loopback. Markdown images, links and raw HTML pointing at it are
put where chat, the LLM and Twitch put text: candidate titles and excerpts, a job's title,
error detail and approver, the token check's error, a connected account's login, the author
of the last control-plane change, and the operator's own name. Then every page is opened: the
trap must receive no request and no link on any page may point at it, while the text itself
is on screen as written.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from google.cloud import firestore

from shared.domain.clips_auth import ClipsAuthHealth
from shared.domain.twitch_models import TokenGrant
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from shared.store.clips_auth import ClipsAuthStore
from shared.store.control_plane import ControlPlaneStore
from shared.store.twitch_tokens import TwitchTokenStore
from tests.browser.streamlit_browser import (
    PASSWORD,
    browser_missing,
    login,
    open_page,
    page_text,
    wait_for_text,
)
from tests.deploy_fakes import serving
from tests.factories import live_fields

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

SETTLE_SECONDS = 1.5  # long enough for an <img> to be fetched, were one rendered
PAGES = ("Queue", "Jobs", "Manual clip", "Control plane", "Health", "Connect Twitch")


@dataclass
class Trap:
    """A loopback HTTP server that records every request it gets."""

    port: int = 0
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def image(self) -> str:
        return f"![t]({self.base}/pixel.png)"

    def link(self) -> str:
        return f"[Reconnect Twitch]({self.base}/login)"

    def html(self) -> str:
        return f"<img src={self.base}/x>"

    def all(self) -> str:
        return f"{self.image()} {self.link()} {self.html()}"


@pytest.fixture
def trap() -> Iterator[Trap]:
    record = Trap()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    with serving(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as server:
        record.port = server.server_address[1]
        yield record


@dataclass(frozen=True)
class Planted:
    action_id: str
    job_id: str


def plant(db: firestore.Client, trap: Trap) -> Planted:
    """Hostile text everywhere text from outside lands, the way each source writes it."""
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    now = datetime.now(UTC)
    fields = live_fields(
        source_ts=now.isoformat(), suggested_title=trap.image(), context_excerpt=trap.all()
    )
    action_id = queue.submit(fields).action_id
    queue.submit(
        live_fields(
            source_ts=now.isoformat(),
            source="vision",
            suggested_title=trap.link(),
            context_excerpt=trap.html(),
        )
    )
    to_fail = queue.submit(live_fields(source_ts=now.isoformat(), suggested_title="Fails"))
    job = approve(queue, jobs, to_fail.action_id, by=trap.html())
    db.collection("clip_jobs").document(job.job_id).update(
        {
            "status": "failed",
            "error_code": "clip_forbidden",
            "error_detail": trap.all(),
            "requested_title": trap.image(),
        }
    )
    to_poll = queue.submit(live_fields(source_ts=now.isoformat(), suggested_title="Polls"))
    polling = approve(queue, jobs, to_poll.action_id, by="Ben")
    db.collection("clip_jobs").document(polling.job_id).update(
        {"status": "polling", "error_detail": trap.link()}
    )
    ClipsAuthStore(db).write_clips_auth(
        ClipsAuthHealth(
            clips_token_valid=False,
            clips_scope_ok=True,
            clips_pipeline_enabled=True,
            scopes=[trap.image()],
            login=trap.link(),
            user_id="777",
            last_validated_at=now,
            last_error=trap.all(),
        )
    )
    grant = TokenGrant(
        access_token="a-token", refresh_token="r-token", expires_in=3600, scopes=CONNECT_SCOPES
    )
    TwitchTokenStore(db).save_grant(grant, user_id="777", login=trap.link(), client_id="cid")
    ControlPlaneStore(db).write({"max_manual_retries": 4}, by=trap.link())
    return Planted(action_id, job.job_id)


def links_and_images_to(driver: Any, trap: Trap) -> list[str]:
    """Every href or src on the page that points at the trap."""
    found = driver.execute_script(
        "return Array.from(document.querySelectorAll('[href], [src]'))"
        ".map(e => e.getAttribute('href') || e.getAttribute('src'));"
    )
    return [url for url in found if url and f":{trap.port}" in url]


def test_hostile_text_is_shown_as_text_on_every_page(db, app_url, driver, trap):
    planted = plant(db, trap)
    operator = trap.html()
    login(driver, app_url, operator, PASSWORD)

    seen: dict[str, str] = {}
    for title in PAGES:
        open_page(driver, title)
        if title == "Queue":
            wait_for_text(driver, planted.action_id)
        elif title == "Jobs":
            wait_for_text(driver, planted.job_id)
        elif title == "Health":
            wait_for_text(driver, "Last error")
        elif title == "Connect Twitch":
            wait_for_text(driver, "Connected accounts")
        time.sleep(SETTLE_SECONDS)
        seen[title] = page_text(driver)
        pointing = links_and_images_to(driver, trap)
        assert (pointing, trap.hits) == ([], []), f"{title}: links/images, requests to the trap"

    # The words are there, as written (or as cleaned when they were a title).
    assert trap.link() in seen["Queue"] and trap.html() in seen["Queue"]
    assert "pixel[.]png" in seen["Queue"]
    assert trap.all() in seen["Jobs"] and trap.image() in seen["Jobs"]
    assert f"by {operator}" in seen["Jobs"]
    assert trap.all() in seen["Health"]
    assert trap.link() in seen["Connect Twitch"]
    assert f"Logged in as {operator}" in seen["Control plane"]
    assert f"Last changed by {trap.link()}" in seen["Control plane"]
    assert trap.hits == []
