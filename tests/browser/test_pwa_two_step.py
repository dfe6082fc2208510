"""An admin (two-step sign-in is required for admins) signing in on the app is asked for the code."""

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import open_app

pytestmark = pytest.mark.browser


def test_the_app_asks_for_the_two_step_code_and_says_why(page, live_server):
    open_app(page, live_server.url, "signin")
    code = page.get_by_label("Code from your authenticator app")
    assert code.count() == 0  # nobody is asked before the server needs it
    page.get_by_label("Email").fill("admin@demo.withus")
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    code.wait_for()
    # The demo admin has not set up an authenticator yet: the page says what to do, not "wrong password".
    alert = page.get_by_role("alert")
    assert "two-step" in alert.inner_text()
    assert "did not work" not in alert.inner_text()
    assert page.evaluate("document.activeElement.name") == "code"
    assert_no_axe_violations(page)
