"""Typed text is kept as a draft: leaving the screen or reloading loses nothing; saving clears it."""

import time

import pytest

from tests.browser.test_pwa import (
    join_as_family,
    local_values,
    open_app,
    wait_heading,
)

pytestmark = pytest.mark.browser

DRAFTS_JS = (
    "async () => { const s = await import('/app/js/storage.js');"
    " const db = await s.open();"
    " return await new Promise((ok) => { const r = db.transaction('meta').objectStore('meta').getAllKeys();"
    " r.onsuccess = () => ok(r.result.filter((k) => String(k).startsWith('draft:'))); }); }"
)


def wait_draft_stored(page, count: int = 1) -> None:
    """Poll the drafts kept in IndexedDB (typing stores them after a short pause)."""
    deadline = time.monotonic() + 10
    while len(page.evaluate(DRAFTS_JS)) < count:
        assert time.monotonic() < deadline, "the draft was never stored"
        time.sleep(0.05)


def test_feedback_draft_survives_leaving_the_screen_and_a_reload(page, live_server):
    join_as_family(page, live_server)
    typed = "Half a thought about the waiting room"
    open_app(page, live_server.url, "feedback")
    box = page.get_by_label("What do you want to tell us?")
    box.fill(typed)
    wait_draft_stored(page)
    page.get_by_role("link", name="Home").click()
    wait_heading(page, "What would you like to do?")
    open_app(page, live_server.url, "feedback")
    assert page.get_by_label("What do you want to tell us?").input_value() == typed
    assert "We kept what you typed last time." in page.locator("main").inner_text()

    page.reload()
    page.wait_for_selector("html[data-ready]")
    assert page.get_by_label("What do you want to tell us?").input_value() == typed

    page.get_by_role("button", name="Save and send").click()
    wait_heading(page, "My contributions")
    assert [f["text"] for f in local_values(page, "feedback")] == [typed]
    assert page.evaluate(DRAFTS_JS) == []
    open_app(page, live_server.url, "feedback")
    assert page.get_by_label("What do you want to tell us?").input_value() == ""


def test_checklist_comment_draft_survives_a_reload_until_the_answer_is_saved(page, live_server):
    join_as_family(page, live_server)
    open_app(page, live_server.url, "checklist/1")
    wait_heading(page, "Question 1 of")
    page.get_by_label("Anything to add?").fill("اردو and English mixed")
    wait_draft_stored(page)
    assert page.get_by_label("Anything to add?").get_attribute("dir") == "auto"
    page.reload()
    page.wait_for_selector("html[data-ready]")
    wait_heading(page, "Question 1 of")
    assert page.get_by_label("Anything to add?").input_value() == "اردو and English mixed"
    page.get_by_role("radio", name="Agree", exact=True).check()
    page.get_by_role("button", name="Next").click()
    wait_heading(page, "Question 2 of")
    answers = local_values(page, "checklist_answer")
    assert [(a["value"], a.get("comment")) for a in answers] == [("agree", "اردو and English mixed")]
    assert page.evaluate(DRAFTS_JS) == []
