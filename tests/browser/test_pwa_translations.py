"""The family's language: staff enter translations; the app shows them, or English with a note."""

import re

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import join_as_family, open_app, sync_now, wait_heading
from tests.browser.test_pwa_my_entries import switch_language
from tests.browser.test_staff_pages import _project_url

pytestmark = pytest.mark.browser

URDU_STATEMENT = "مجھے یہاں بہت اچھا لگا اور سب نے خوش آمدید کہا۔"
URDU_EASY = "مجھے اچھا لگا۔"
URDU_TITLE = "مختصر وقفے: ہماری رائے"


def translate_first_two_statements(page, project_url) -> None:
    page.goto(project_url + "/statements")
    page.get_by_role("link", name=re.compile("Translate")).nth(0).click()
    wait_staff_heading(page, "Translate a statement")
    # The default checklist ships in Urdu: the shipped words are there to change.
    assert page.get_by_label("Statement in Urdu (اردو)").input_value().startswith("میں جو بھی ہوں")
    assert_no_axe_violations(page)
    page.get_by_label("Statement in Urdu (اردو)").fill(URDU_STATEMENT)
    page.get_by_label("Easy-read version in Urdu (اردو)").fill(URDU_EASY)
    page.get_by_role("button", name="Save the translations").click()
    page.get_by_text("Translations saved.").wait_for()
    # The second statement's translation is taken away: the app must fall back to English.
    page.get_by_role("link", name=re.compile("Translate")).nth(1).click()
    page.get_by_label("Statement in Urdu (اردو)").fill("")
    page.get_by_label("Easy-read version in Urdu (اردو)").fill("")
    page.get_by_role("button", name="Save the translations").click()
    page.get_by_text("Translations saved.").wait_for()


def wait_staff_heading(page, text) -> None:
    page.get_by_role("heading", level=1, name=text).wait_for()


def fill_project_details(page, project_url) -> None:
    page.goto(project_url)
    page.get_by_role("link", name="Consent details and languages").click()
    wait_staff_heading(page, "Consent details and languages")
    assert_no_axe_violations(page)
    page.get_by_label("Organisation").fill("Trafford Parent Forum")
    page.get_by_label("Contact").fill("0161 000 0000")
    page.get_by_label("Privacy notice link").fill("not a web address")
    page.get_by_label("Title in Urdu (اردو)").fill(URDU_TITLE)
    page.get_by_role("button", name="Save").click()
    # Bad input: the form comes back with the error by the field, and nothing is saved.
    assert "Enter a full web address" in page.get_by_role("alert").first.inner_text()
    assert page.get_by_label("Privacy notice link").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Organisation").input_value() == "Trafford Parent Forum"
    assert_no_axe_violations(page)
    page.get_by_label("Privacy notice link").fill("https://example.org/privacy")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved. Phones get the change").wait_for()


def test_urdu_statements_and_title_come_from_the_staff_pages(browser, own_server):
    staff = browser.new_context(locale="en-GB")
    family = browser.new_context(locale="en-GB")
    try:
        staff_page = staff.new_page()
        project_url = _project_url(staff_page, own_server)
        translate_first_two_statements(staff_page, project_url)
        fill_project_details(staff_page, project_url)

        page = family.new_page()
        open_app(page, own_server.url, f"join/{own_server.join_code}")
        page.get_by_role("button", name="Join", exact=True).click()
        wait_heading(page, "Saying yes")
        text = page.locator("main").inner_text()
        assert "Who is asking: Trafford Parent Forum." in text
        assert "Contact: 0161 000 0000" in text
        privacy = page.get_by_role("link", name=re.compile("privacy notice"))
        assert privacy.get_attribute("href") == "https://example.org/privacy"
        join_as_family_after_consent(page)

        switch_language(page, own_server.url, "ur", "ترتیبات")
        open_app(page, own_server.url, "home")
        assert URDU_TITLE in page.locator("main").inner_text()
        open_app(page, own_server.url, "checklist/1")
        legend = page.locator("main legend")
        legend.wait_for()
        assert URDU_STATEMENT in legend.inner_text()
        assert not page.locator(".fallback-note").is_visible()
        page.locator("#easy-read").check()
        assert URDU_EASY in legend.inner_text()
        page.locator("#easy-read").uncheck()
        assert_no_axe_violations(page)

        open_app(page, own_server.url, "checklist/2")
        page.locator("main legend", has_text="People like me").wait_for()
        assert page.locator("main legend .statement-text").get_attribute("lang") == "en"
        assert page.locator(".fallback-note").is_visible()
        assert_no_axe_violations(page)
    finally:
        staff.close()
        family.close()


def join_as_family_after_consent(page) -> None:
    page.get_by_role("radio", name="A young person", exact=True).check()
    page.get_by_role("radio", name="13 to 17", exact=True).check()
    page.get_by_role("button", name="Yes, I agree").click()
    wait_heading(page, "What would you like to do?")
    sync_now(page)


def test_typed_text_keeps_its_own_direction(page, live_server):
    join_as_family(page, live_server)
    switch_language(page, live_server.url, "ur", "ترتیبات")
    open_app(page, live_server.url, "feedback")
    box = page.locator("main textarea")
    box.fill("English typed in Urdu mode")
    assert box.get_attribute("dir") == "auto"
    assert page.evaluate("getComputedStyle(document.querySelector('main textarea')).direction") == "ltr"
