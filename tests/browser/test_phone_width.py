"""Every coordinator page fits a 390 px phone: nothing scrolls sideways."""

from __future__ import annotations

import pytest

from tests.browser.test_staff_pages import ACTION_PAGES, PROJECT_PAGES, _project_url

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_every_staff_page_fits_a_phone(browser, live_server):
    context = browser.new_context(locale="en-GB", viewport=PHONE)
    try:
        page = context.new_page()
        project_url = _project_url(page, live_server)
        page.goto(project_url + "/actions")
        action_url = live_server.url + page.locator("main th a[href*='/actions/']").first.get_attribute("href")
        too_wide = {}
        urls = [live_server.url + "/staff/"] + [project_url + p for p in PROJECT_PAGES]
        for url in urls + [action_url + p for p in ACTION_PAGES]:
            page.goto(url)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[url.removeprefix(project_url)] = width
        assert too_wide == {}
    finally:
        context.close()
