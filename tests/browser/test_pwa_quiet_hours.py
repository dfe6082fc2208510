"""Quiet hours are the family's: set in Settings, off or a window, stored on the server."""

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import join_as_family, open_app, rows, session, wait_heading
from tests.browser.test_pwa_my_entries import switch_language

pytestmark = pytest.mark.browser
STORED = 'SELECT start, "end", timezone FROM push_quiet_hours WHERE participant_id = ?'


def test_family_sets_and_turns_off_quiet_hours_in_settings(browser, live_server):
    context = browser.new_context(locale="en-GB", timezone_id="Asia/Karachi")
    page = context.new_page()
    try:
        join_as_family(page, live_server)
        me = session(page)
        open_app(page, live_server.url, "settings")
        box = page.locator("#quiet-hours")
        box.wait_for()
        assert box.get_by_role("radio", name="Yes, at these times").is_checked()
        assert box.get_by_label("From").input_value() == "21:00"
        assert "Asia/Karachi" in box.inner_text()
        assert_no_axe_violations(page)
        box.get_by_label("From").fill("22:30")
        box.get_by_label("Until").fill("07:15")
        box.get_by_role("button", name="Save").click()
        page.locator("#quiet-hours [role=status]", has_text="Saved").wait_for()
        assert rows(live_server, STORED, me["participant_id"]) == [("22:30", "07:15", "Asia/Karachi")]

        box.get_by_role("radio", name="No, send messages at any time").check()
        assert not box.get_by_label("From").is_visible()
        box.get_by_role("button", name="Save").click()
        page.locator("#quiet-hours [role=status]", has_text="Saved").wait_for()
        ((start, end, _),) = rows(live_server, STORED, me["participant_id"])
        assert start == end  # off
        open_app(page, live_server.url, "settings")
        wait_heading(page, "Settings")
        assert page.locator("#quiet-hours").get_by_role("radio", name="No, send messages at any time").is_checked()
        switch_language(page, live_server.url, "ur", "ترتیبات")
        page.locator("#quiet-hours").wait_for()
        assert_no_axe_violations(page)
    finally:
        context.close()
