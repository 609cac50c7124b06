"""The Queue and Jobs pages learn of changes instead of re-reading (issue 20), in Chromium.

With 20 candidates pending, a new one is on screen within the target; between changes the
page is not redrawn (its "last change" time stands still) while every card's moment age
keeps ticking, and what the operator typed into a card survives other cards arriving. A
long queue comes in pages that say what is hidden; a job's status change shows on Jobs
within 2 s. `bench/app_latency.py` measures the same at 1, 20 and 100 pending, with reads.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from shared.pipeline.approve import approve
from shared.store.action_queue import ActionQueue
from shared.store.clip_jobs import ClipJobStore
from streamlit_app.formatting import percentile
from tests.browser.streamlit_browser import (
    PASSWORD,
    appeared_after,
    browser_missing,
    login,
    open_page,
    page_text,
    type_into,
    wait_for_text,
    wait_until,
    watch_for,
)
from tests.factories import live_fields

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

SAMPLES = 10
QUEUE_P95_LIMIT = 1.5  # the target is 1 s at 20 pending; slack for a shared CI machine
JOBS_LIMIT = 2.0


def submit(db: firestore.Client, title: str, age: float = 3.0) -> str:
    moment = (datetime.now(UTC) - timedelta(seconds=age)).isoformat()
    return ActionQueue(db).submit(live_fields(source_ts=moment, suggested_title=title)).action_id


def last_change(driver: Any) -> str:
    found = re.search(r"last change (\d\d:\d\d:\d\d) UTC", page_text(driver))
    return found[1] if found else ""


def ages(driver: Any) -> list[str]:
    return re.findall(r"Moment: [^\n]* · ([^\n]*ago|just now)", page_text(driver))


def test_the_queue_is_live_without_redrawing_and_pages_a_long_queue(db, app_url, driver):
    for n in range(19):
        submit(db, f"Waiting moment {n}", age=20 + n)
    login(driver, app_url, "Ann", PASSWORD)
    wait_for_text(driver, "19 pending")

    latencies = []
    for n in range(SAMPLES + 1):
        probe = f"Live probe {n}"
        watch_for(driver, probe)
        time.sleep(0.1 + (n * 0.37) % 0.5)
        started = time.time()
        action_id = submit(db, probe)
        seconds = appeared_after(driver, probe, started)
        if n:  # the first one warms the page up
            latencies.append(seconds)
        ActionQueue(db).reject(action_id, by="test")
        wait_until(lambda: "19 pending" in page_text(driver), 10, "the probe to leave")
    p95 = percentile(latencies, 0.95)
    print(f"\n20 pending: p50 {percentile(latencies, 0.5):.2f} s, p95 {p95:.2f} s")
    assert p95 <= QUEUE_P95_LIMIT, latencies

    time.sleep(1.0)
    drawn, before = last_change(driver), ages(driver)
    time.sleep(3.2)
    assert last_change(driver) == drawn, "the page was redrawn although nothing changed"
    assert ages(driver) != before, "the moment ages stood still"

    card = f".st-key-card_{submit(db, 'Typed into', age=5)}"
    wait_for_text(driver, "20 pending")
    type_into(driver, "Title", "My own title", within=card)
    for n in range(6):
        submit(db, f"Arriving moment {n}", age=1 + n)
    wait_for_text(driver, "26 pending")
    wait_for_text(driver, "showing 1 to 20 of 26 items, newest first; 6 more")
    title = driver.find_element("css selector", f'{card} input[aria-label="Title"]')
    assert title.get_attribute("value") == "My own title"
    type_into(driver, "Page", "2")
    wait_for_text(driver, "showing 21 to 26 of 26")
    assert "Waiting moment 0" in page_text(driver)
    assert "Waiting moment 18" not in page_text(driver)


def test_a_job_status_change_shows_on_jobs_within_two_seconds(db, app_url, driver):
    queue, jobs = ActionQueue(db), ClipJobStore(db)
    job_ids = [
        approve(queue, jobs, submit(db, f"Job {n}", 60 + n), by="t").job_id for n in range(5)
    ]
    login(driver, app_url, "Ann", PASSWORD)
    open_page(driver, "Jobs")
    wait_for_text(driver, job_ids[-1])
    latencies = []
    for n, job_id in enumerate(job_ids):
        watch_for(driver, f"LiveProbe{n}")
        time.sleep(0.3 + (n * 0.29) % 0.5)
        now = datetime.now(UTC)
        started = time.time()
        db.collection("clip_jobs").document(job_id).update(
            {
                "status": "ready",
                "clip_url": f"https://clips.twitch.tv/LiveProbe{n}",
                "ready_at": now,
                "updated_at": now,
            }
        )
        latencies.append(appeared_after(driver, f"LiveProbe{n}", started))
    print(f"\njob status -> Jobs page: max {max(latencies):.2f} s")
    assert max(latencies) <= JOBS_LIMIT, latencies
