"""The public and staff pages in a real browser: readable, accessible, usable by keyboard."""

import pytest

from tests.browser.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser


def test_home_page_passes_axe(page, live_server):
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Done with people, not to people"
    assert_no_axe_violations(page)


def test_staff_sign_in_by_keyboard_alone(page, live_server):
    page.goto(live_server.url + "/staff/sign-in")
    assert_no_axe_violations(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.get_by_label("Email address").focus()
    page.keyboard.type("coordinator@demo.withus")
    page.keyboard.press("Tab")
    page.keyboard.type(live_server.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Sign out (Chloe Coordinator)" in page.content()
    assert page.url.endswith("/staff/")
    assert_no_axe_violations(page)


def test_wrong_password_message_is_announced_and_accessible(page, live_server):
    page.goto(live_server.url + "/staff/sign-in")
    page.get_by_label("Email address").fill("coordinator@demo.withus")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    assert "do not match an account" in alert.inner_text()
    assert_no_axe_violations(page)
