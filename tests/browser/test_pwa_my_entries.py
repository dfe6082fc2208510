"""See, change and take back what you gave: check my answers, edit and delete feedback."""

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import (
    give_feedback,
    join_as_family,
    local_values,
    open_app,
    rows,
    server_fields,
    statement_count,
    sync_and_wait,
    wait_heading,
    wait_until,
)

pytestmark = pytest.mark.browser


def switch_language(page, base, code: str, heading: str) -> None:
    open_app(page, base, "settings")
    page.locator("select").first.select_option(code)
    wait_heading(page, heading)


def test_check_my_answers_reaches_a_skipped_question(page, live_server):
    join_as_family(page, live_server)
    total = statement_count(page)
    page.get_by_role("radio", name="Agree", exact=True).check()
    open_app(page, live_server.url, "checklist/done")
    wait_heading(page, "Thank you!")
    assert f"You answered 1 of {total} questions." in page.locator("main").inner_text()
    items = page.locator("ol.answer-list li")
    assert items.count() == total
    assert items.nth(0).inner_text().endswith("Agree")
    assert all(items.nth(i).inner_text().endswith("Not answered") for i in range(1, total))
    assert_no_axe_violations(page)
    items.nth(2).get_by_role("link").click()
    wait_heading(page, f"Question 3 of {total}")
    switch_language(page, live_server.url, "ur", "ترتیبات")
    open_app(page, live_server.url, "checklist/done")
    page.locator("ol.answer-list").wait_for()
    assert_no_axe_violations(page)


def test_feedback_is_edited_and_deleted_on_the_phone_and_the_server(page, live_server):
    join_as_family(page, live_server)
    give_feedback(page, live_server.url, "The room was too loud")
    sync_and_wait(page)
    (fid,) = [f["id"] for f in local_values(page, "feedback")]
    assert server_fields(live_server, fid)["text"] == "The room was too loud"

    page.get_by_role("link", name="Change it").last.click()
    wait_heading(page, "Change what you said")
    assert_no_axe_violations(page)
    page.get_by_label("What do you want to tell us?").fill("The room was too loud for my son")
    page.get_by_role("button", name="Save the change").click()
    wait_heading(page, "My contributions")
    page.locator("main", has_text="The room was too loud for my son").wait_for()
    sync_and_wait(page)
    assert server_fields(live_server, fid)["text"] == "The room was too loud for my son"
    assert len(local_values(page, "feedback")) == 1

    assert_no_axe_violations(page)
    page.get_by_role("button", name="Delete it").click()
    page.get_by_role("button", name="Yes, delete it").click()
    # The screen redraws in place (same heading): wait for the feedback to leave it.
    wait_until(page, "!document.querySelector('main').innerText.includes('too loud')")
    sync_and_wait(page)
    ((deleted,),) = rows(live_server, "SELECT deleted FROM sync_records WHERE id = ?", fid)
    assert deleted is not None
    assert server_fields(live_server, fid) == {}
    assert local_values(page, "feedback") == []


def test_contributions_list_answers_ladder_and_feedback(page, live_server):
    join_as_family(page, live_server)
    statement_count(page)
    page.get_by_role("radio", name="Disagree", exact=True).check()
    open_app(page, live_server.url, "ladder")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Save").click()
    open_app(page, live_server.url, "contributions")
    wait_heading(page, "My contributions")
    text = page.locator("main").inner_text()
    assert "Your answers" in text and "Disagree" in text
    assert "How did taking part feel?" in text
    assert "What you told us" in text
    assert_no_axe_violations(page)
    switch_language(page, live_server.url, "ur", "ترتیبات")
    open_app(page, live_server.url, "contributions")
    page.locator("ol.answer-list").wait_for()
    assert_no_axe_violations(page)
