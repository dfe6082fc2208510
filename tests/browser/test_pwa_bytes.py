"""Bytes: a language's strings load only when chosen; the shell arrives compressed."""

import pytest

from tests.browser.test_pwa import LONG, join_as_family, open_app, wait_for_worker, wait_heading, wait_until

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


def cached_later(files: list[str]) -> str:
    """A JS expression: whether each of files (under /app/js/) is in the on-demand cache."""
    return (
        "caches.open('withus-later').then((c) => c.keys()).then((k) => "
        f"{files!r}.map((f) => k.some((r) => new URL(r.url).pathname === '/app/js/' + f)))"
    )


def test_screens_loaded_on_demand_still_open_offline_after_the_first_visit(page, context, live_server):
    """Settings and My data are not in the install cache, yet an offline family who never
    opened them can: the app keeps them once it has started. Urdu is not fetched ahead."""
    join_as_family(page, live_server)
    wait_for_worker(page)
    assert "/app/js/screens/settings.js" not in page.evaluate(LOADED)  # not needed to start
    screens = cached_later(["screens/settings.js", "screens/mydata.js"])
    wait_until(page, f"{screens}.then((f) => f.every(Boolean))")
    assert page.evaluate(cached_later(["i18n/ur.js"])) == [False]
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    page.get_by_role("link", name="Settings").click()
    wait_heading(page, "Settings")
    # Urdu never chosen online: the choice is kept, the app says when it will show.
    page.get_by_label("Language").select_option("ur")
    page.get_by_text("This language is not on this phone yet.").wait_for(timeout=LONG)
    wait_heading(page, "Settings")
    page.goto(f"{live_server.url}/app/#/mydata")
    page.wait_for_selector("html[data-ready]")
    wait_heading(page, "My data")
    context.set_offline(False)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    page.goto(f"{live_server.url}/app/#/settings")
    wait_heading(page, "ترتیبات")


def test_a_language_chosen_once_online_works_offline_after(page, context, live_server):
    join_as_family(page, live_server)
    wait_for_worker(page)
    open_app(page, live_server.url, "settings")
    page.get_by_label("Language").select_option("ur")
    wait_heading(page, "ترتیبات")
    wait_until(page, f"{cached_later(['i18n/ur.js'])}.then((f) => f[0])")
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    wait_heading(page, "ترتیبات")
    context.set_offline(False)


def test_a_screen_not_yet_on_the_phone_says_so_offline(browser, live_server):
    """Before its file ever came (here: no service worker at all), an offline family opening
    Settings is told to connect once, not shown a broken screen."""
    context = browser.new_context(locale="en-GB", service_workers="block")
    try:
        page = context.new_page()
        join_as_family(page, live_server)
        context.set_offline(True)
        page.get_by_role("link", name="Settings").click()
        wait_heading(page, "This page is not on this phone yet.")
        assert "Connect to the internet once" in page.locator("main").inner_text()
        context.set_offline(False)
        page.get_by_role("link", name="Settings").click()
        wait_heading(page, "Settings")
    finally:
        context.close()
