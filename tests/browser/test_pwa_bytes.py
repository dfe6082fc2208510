"""Bytes: a language's strings load only when chosen; the shell arrives compressed."""

import pytest

from tests.browser.test_pwa import open_app, wait_heading

pytestmark = pytest.mark.browser

LOADED = "performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)"


def test_urdu_strings_load_only_when_urdu_is_chosen(page, live_server):
    open_app(page, live_server.url, "settings")
    wait_heading(page, "Settings")
    loaded = page.evaluate(LOADED)
    assert "/app/js/i18n/en.js" in loaded
    assert "/app/js/i18n/ur.js" not in loaded
    page.get_by_label("Language").select_option("ur")
    wait_heading(page, "ترتیبات")
    assert "/app/js/i18n/ur.js" in page.evaluate(LOADED)


def test_the_shell_arrives_compressed_in_chromium(page, live_server):
    response = page.goto(live_server.url + "/app/")
    assert response.headers.get("content-encoding") in ("br", "gzip")
    script = page.request.get(live_server.url + "/app/js/app.js")
    assert script.headers.get("content-encoding") in ("br", "gzip")
