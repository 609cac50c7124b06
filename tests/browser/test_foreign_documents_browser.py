"""One bad document never takes a page down, in a real browser (issue 19).

Documents of every collection are written as another tool would leave them: exactly the
SPEC's fields, one field of the wrong type, a queue item of another kind. Every page of
`streamlit run streamlit_app/app.py` then renders: each unreadable document is a flagged row
saying which it is, why and what to do, no page shows a Streamlit exception box, a traceback
or its search buttons, the SPEC-minimal candidate is approved from its card and the item of
another kind is archived from its flagged row.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.store.action_queue import ActionQueue, ActionStatus
from tests import spec_documents as spec
from tests.browser.streamlit_browser import (
    PASSWORD,
    browser_missing,
    click_button,
    login,
    open_page,
    page_text,
    wait_for_text,
    wait_until,
)

pytestmark = pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))

PAGES = ("Queue", "Jobs", "Manual clip", "Control plane", "Health", "Connect Twitch")
INTERNALS = ("Traceback", "ValidationError", "site-packages", "Ask Google", "Ask ChatGPT")
FLAGS = {
    "Queue": [
        f"action_queue/{spec.WRONG_ITEM} is unreadable: payload.score",
        f"action_queue/{spec.KIND_ITEM} is unreadable: kind is 'poll'",
        spec.MINIMAL_TITLE,
    ],
    "Jobs": [f"clip_jobs/{spec.WRONG_JOB} is unreadable: attempts", spec.MINIMAL_JOB_TITLE],
    "Manual clip": ["control_plane/config) has settings this app cannot read"],
    "Control plane": ["Twitch clip API on: must be true or false"],
    "Health": ["observability/clips_auth is unreadable: last_validated_at"],
    "Connect Twitch": [f"user {spec.WRONG_TOKEN_USER} is unreadable: scopes", "specstreamer"],
}


def exception_boxes(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'))


def test_every_page_renders_and_flags_foreign_documents(db, app_url, driver):
    spec.write_foreign(db)
    login(driver, app_url, "Ann", PASSWORD)
    for page in PAGES:
        open_page(driver, page)
        for flag in FLAGS[page]:
            wait_for_text(driver, flag)
        text = page_text(driver)
        assert not [word for word in INTERNALS if word in text], page
        assert exception_boxes(driver) == 0, page
        assert "spec-access-token-123456" not in text

    open_page(driver, "Queue")
    click_button(driver, "Reject (archive)", within=f".st-key-card_{spec.KIND_ITEM}")
    wait_for_text(driver, f"Archived item {spec.KIND_ITEM} as rejected")
    wait_until(
        lambda: f"{spec.KIND_ITEM} is unreadable" not in page_text(driver), 10, "row to leave"
    )
    click_button(driver, "Approve", within=f".st-key-card_{spec.MINIMAL_ITEM}")
    wait_for_text(driver, f"Approved. Job job_{spec.MINIMAL_ITEM} is queued")
    queue = ActionQueue(db)
    assert queue.require(spec.MINIMAL_ITEM).status is ActionStatus.APPROVED
    assert db.document(f"action_queue/{spec.KIND_ITEM}").get().get("status") == "rejected"
    assert exception_boxes(driver) == 0
