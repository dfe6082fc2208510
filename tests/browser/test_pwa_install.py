"""The app says it can be installed: Chromium's install offer, or the iOS steps until read."""

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import join_as_family, open_app, wait_heading, wait_until

pytestmark = pytest.mark.browser

# Headless Chromium never judges a page installable, so the test makes the browser's offer:
# an event of the same name with prompt() and userChoice, as Chromium's has.
OFFER = """() => {
    const e = new Event('beforeinstallprompt', {cancelable: true});
    window.__prompted = 0;
    e.prompt = async () => { window.__prompted += 1; };
    e.userChoice = Promise.resolve({outcome: 'accepted'});
    window.dispatchEvent(e);
}"""

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def test_install_offer_is_made_from_home(page, live_server):
    join_as_family(page, live_server)
    open_app(page, live_server.url, "home")
    wait_heading(page, "What would you like to do?")
    page.evaluate(OFFER)
    page.get_by_role("button", name="Install the app").click()
    wait_until(page, "window.__prompted === 1")
    page.get_by_text("WithUs is on your home screen.").wait_for()
    assert_no_axe_violations(page)


def test_iphone_users_see_the_add_to_home_screen_steps_until_read(browser, live_server):
    context = browser.new_context(locale="en-GB", user_agent=IPHONE)
    page = context.new_page()
    try:
        join_as_family(page, live_server)
        open_app(page, live_server.url, "home")
        wait_heading(page, "What would you like to do?")
        steps = 'tap the Share button, then "Add to Home Screen"'
        page.get_by_text(steps).wait_for()
        assert_no_axe_violations(page)
        page.reload()
        page.wait_for_selector("html[data-ready]")
        page.get_by_text(steps).wait_for()  # still there until read
        page.get_by_role("button", name="Got it").click()
        # The card goes once "read" is stored: reloading before then would lose the click.
        page.get_by_text(steps).wait_for(state="detached")
        page.reload()
        page.wait_for_selector("html[data-ready]")
        wait_heading(page, "What would you like to do?")
        assert page.get_by_text(steps).count() == 0
    finally:
        context.close()
