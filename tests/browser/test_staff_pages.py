"""The coordinator pages in Chromium: axe finds nothing, the strict CSP blocks nothing."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_no_axe_violations

pytestmark = pytest.mark.browser
PROJECT_PAGES = (
    "",
    "/statements",
    "/results",
    "/feedback",
    "/actions",
    "/actions/new",
    "/reviews",
    "/reviews/new",
    "/exports",
    "/stages/design/report",
    "/stages/design/comments",
    "/join-code",
    "/poster",
    "/public",
    "/evidence",
)
# Pages of the demo's first action (found from the actions list).
ACTION_PAGES = ("", "/edit", "/delete")


def _project_url(page, live_server) -> str:
    _sign_in(page, live_server)
    page.goto(live_server.url + "/staff/")
    page.get_by_role("link", name=re.compile("Short breaks")).first.click()
    page.wait_for_load_state()
    return page.url


def _sign_in(page, live_server):
    page.goto(live_server.url + "/staff/sign-in")
    page.get_by_label("Email address").fill("coordinator@demo.withus")
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_coordinator_pages_pass_axe_under_the_strict_csp(page, live_server):
    blocked = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    project_url = _project_url(page, live_server)
    page.goto(live_server.url + "/staff/")
    assert_no_axe_violations(page)
    for path in PROJECT_PAGES:
        response = page.goto(project_url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert page.get_by_role("heading", level=1).count() == 1, path
        assert_no_axe_violations(page)
    page.goto(project_url + "/actions")
    action_url = page.locator("main th a[href*='/actions/']").first.get_attribute("href")
    for path in ACTION_PAGES:
        response = page.goto(live_server.url + action_url + path)
        assert response.status == 200, path
        assert_no_axe_violations(page)
    assert blocked == []


def test_form_errors_are_announced_and_linked(page, live_server):
    page.goto(_project_url(page, live_server) + "/actions/new")
    page.get_by_label("Status").select_option("not_possible")
    page.get_by_role("button", name="Record the action").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "Enter what you heard." in alert.inner_text()
    assert "Enter the reason it is not possible." in alert.inner_text()
    alert.get_by_role("link", name=re.compile("You said")).click()
    assert page.evaluate("document.activeElement.id") == "heard"
    assert page.get_by_label(re.compile("You said")).get_attribute("aria-invalid") == "true"
    assert_no_axe_violations(page)
