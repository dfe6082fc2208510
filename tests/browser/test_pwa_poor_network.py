"""Sync on a poor network: a push that hangs, a server that is down, and what the status line says."""

import time

import pytest

from tests.browser.test_pwa import (
    LONG,
    give_feedback,
    join_as_family,
    open_app,
    rows,
    session,
    wait_all_sent,
    wait_for_worker,
    wait_heading,
    wait_status,
    wait_until,
)
from tests.browser.test_pwa_server_killed import MY_FEEDBACK

pytestmark = pytest.mark.browser


@pytest.fixture
def family(browser, own_server):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    join_as_family(page, own_server)
    wait_for_worker(page)
    yield context, page
    context.close()


def wait_rows(page, server, sql, args, count, timeout_s) -> list:
    """Poll the server's database; waiting through the page lets Playwright run route handlers."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = rows(server, sql, *args)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(200)


def test_a_push_that_hangs_times_out_and_the_entries_still_arrive(family, own_server):
    context, page = family
    me = session(page)
    stalled = []

    def stall_first_push(route):
        # A proxy that takes the request and never answers, keeping the connection open.
        if not stalled:
            stalled.append(route)
            return
        route.continue_()

    context.route("**/api/sync/push", stall_first_push)
    notes = [f"Sent through a stalling proxy, number {n}" for n in range(3)]
    for note in notes:
        give_feedback(page, own_server.url, note)
    # No reload, no manual sync: the hung request must time out and the app try again itself.
    stored = wait_rows(page, own_server, MY_FEEDBACK, [me["participant_id"]], len(notes), timeout_s=90)
    assert stalled, "the proxy never saw a push"
    assert sorted(text for (text,) in stored) == sorted(notes)
    wait_all_sent(page)


def test_a_down_server_is_not_called_offline_and_entries_are_counted_once(family, own_server):
    context, page = family
    me = session(page)
    own_server.kill()
    open_app(page, own_server.url, "checklist/1")
    wait_heading(page, "Question 1 of")
    page.get_by_role("radio", name="Agree", exact=True).check()
    wait_status(page, "waiting to send")
    page.get_by_role("radio", name="Disagree", exact=True).check()
    give_feedback(page, own_server.url, "The server was down when I wrote this")
    give_feedback(page, own_server.url, "And this one too")
    # Two writes to one answer plus two feedbacks: three entries, not four writes.
    wait_status(page, "3 entries waiting to send.")
    wait_status(page, "We cannot reach the server right now.")
    assert "You are offline" not in page.locator("#status").inner_text()

    context.set_offline(True)
    wait_status(page, "You are offline.")
    context.set_offline(False)
    wait_status(page, "We cannot reach the server right now.")

    # Back up after several failed rounds: the retry comes by itself, within seconds not minutes.
    own_server.start()
    stored = wait_rows(page, own_server, MY_FEEDBACK, [me["participant_id"]], 2, timeout_s=45)
    assert len(stored) == 2
    wait_all_sent(page)
    assert "cannot reach" not in page.locator("#status").inner_text()


def test_many_writes_against_a_down_server_do_not_push_the_retry_minutes_away(family, own_server):
    context, page = family
    me = session(page)
    own_server.kill()
    notes = [f"Written while the server was down, number {n}" for n in range(8)]
    for note in notes:
        give_feedback(page, own_server.url, note)
    wait_status(page, "8 entries waiting to send.")
    own_server.start()
    # The old backoff grew per failed write: eight writes put the next try 4 to 5 minutes away.
    stored = wait_rows(page, own_server, MY_FEEDBACK, [me["participant_id"]], len(notes), timeout_s=45)
    assert sorted(text for (text,) in stored) == sorted(notes)


def test_retry_delay_grows_per_round_from_a_quick_first_probe(page, own_server):
    open_app(page, own_server.url, "welcome")
    # Expected gaps (ms) with no jitter (random() = 1): 2 s, doubling, at most 5 minutes.
    expected = [2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000]
    got = page.evaluate(
        "async () => { const s = await import('/app/js/sync.js');"
        " return [...Array(10).keys()].map((n) => s.retryDelay(n, () => 1)); }"
    )
    assert got == expected
    lowest = page.evaluate("async () => (await import('/app/js/sync.js')).retryDelay(0, () => 0)")
    assert lowest == 1000


def test_background_sync_fails_while_the_server_is_down_so_the_browser_retries(family, own_server):
    context, page = family
    me = session(page)
    page.evaluate(
        """() => { window.__synced = [];
           navigator.serviceWorker.addEventListener('message', (e) => {
             if (e.data && e.data.type === 'synced') window.__synced.push(e.data.ok); }); }"""
    )
    own_server.kill()
    give_feedback(page, own_server.url, "Sent by the service worker")
    register = (
        "async () => { const r = await navigator.serviceWorker.getRegistration('/app/');"
        " await r.sync.register('withus-outbox'); }"
    )
    page.evaluate(register)
    wait_until(page, "window.__synced.includes(false)", LONG)
    # The failed event stays registered: the browser will fire it again later. A sync that
    # counted as success (the old behaviour) is dropped once fired.
    tags = page.evaluate("async () => (await (await navigator.serviceWorker.getRegistration('/app/')).sync.getTags())")
    assert tags == ["withus-outbox"]
    own_server.start()
    stored = wait_rows(page, own_server, MY_FEEDBACK, [me["participant_id"]], 1, timeout_s=45)
    assert stored == [("Sent by the service worker",)]


def test_sync_or_fail_rejects_when_the_round_fails(family, own_server):
    _, page = family
    attempt = (
        "async () => { const s = await import('/app/js/sync.js');"
        " try { await s.syncOrFail(); return 'ok'; } catch (e) { return 'failed'; } }"
    )
    own_server.kill()
    assert page.evaluate(attempt) == "failed"
    own_server.start()
    assert page.evaluate(attempt) == "ok"
