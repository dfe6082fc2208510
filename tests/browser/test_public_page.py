"""The public "You said, we did" page in Chromium: no JavaScript needed, axe 0, fits a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_pages import _project_url

pytestmark = pytest.mark.browser


def _publish(page, live_server, slug, project_url=None):
    page.goto((project_url or _project_url(page, live_server)) + "/public")
    assert_no_axe_violations(page)
    page.get_by_label("Web address of the page").fill(slug)
    page.get_by_label("Show this page to the public").check()
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "The public page is on." in page.get_by_role("status").inner_text()


def test_public_page_without_javascript_on_a_phone(page, browser, live_server):
    _publish(page, live_server, "demo-short-breaks")
    phone = browser.new_context(locale="en-GB", java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        public = phone.new_page()
        response = public.goto(live_server.url + "/p/demo-short-breaks")
        assert response.status == 200
        assert public.get_by_role("heading", level=1).inner_text().startswith("You said, we did")
        assert public.locator("article.action").count() >= 1
        # Nothing scrolls sideways on a 390 px phone.
        assert public.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.close()
    page.goto(live_server.url + "/p/demo-short-breaks")
    assert_no_axe_violations(page)


def test_public_page_and_poster_in_the_projects_languages_pass_axe(page, live_server):
    """With the title translated into Urdu, both say in Urdu what they are, right to left."""
    project_url = _project_url(page, live_server)
    page.goto(project_url + "/details")
    page.locator("#t-ur_title").fill("مختصر وقفے")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    _publish(page, live_server, "demo-languages", project_url)
    page.goto(live_server.url + "/p/demo-languages")
    urdu = page.locator('[lang="ur"]')
    assert "مختصر وقفے" in urdu.first.inner_text()
    assert urdu.first.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert_no_axe_violations(page)
    page.goto(project_url + "/poster")
    assert "مختصر وقفے" in page.locator('.languages [lang="ur"]').inner_text()
    assert_no_axe_violations(page)
