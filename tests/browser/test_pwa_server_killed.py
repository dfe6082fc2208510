"""The server dies (SIGKILL) in the middle of the app's push, after committing and before
answering: after a restart, every entry made on the phone is on the server exactly once."""

import pytest

from tests.browser.test_pwa import (
    give_feedback,
    join_as_family,
    rows,
    session,
    sync_and_wait,
    wait_for_worker,
)

pytestmark = pytest.mark.browser
MINE = "FROM sync_records WHERE type = 'feedback' AND json_extract(fields, '$.participant_id.v') = ?"
MY_FEEDBACK = "SELECT json_extract(fields, '$.text.v') " + MINE
MY_FEEDBACK_IDS = "SELECT id " + MINE


def sync_round(page) -> bool:
    """Run one sync round in the page and return whether it succeeded."""
    return page.evaluate("async () => (await import('/app/js/sync.js')).syncNow()")


def outbox_record_ids(page) -> set[str]:
    """The ids of the records with writes in the phone's outbox (IndexedDB), read directly."""
    script = "async () => [...await (await import('/app/js/storage.js')).pendingIds()]"
    return set(page.evaluate(script))


def test_server_killed_during_a_push_loses_nothing(browser, own_server):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        join_as_family(page, own_server)
        wait_for_worker(page)
        me = session(page)
        context.set_offline(True)
        notes = [f"Written offline, number {n}" for n in range(5)]
        for note in notes:
            give_feedback(page, own_server.url, note)

        # The server takes the push and commits it, then dies before the app hears back.
        killed = []

        def commit_then_die(route):
            if killed:
                route.abort()
                return
            route.fetch()  # reaches the server, which merges and commits
            own_server.kill()
            killed.append(route.request.url)
            route.abort("connectionreset")

        context.route("**/api/sync/push", commit_then_die)
        context.set_offline(False)
        # The round the app runs now ends when it has handled the lost answer.
        assert sync_round(page) is False, "the round should fail: no answer came back"
        assert killed, "the app never tried to push"
        assert own_server.process.poll() is not None
        committed = rows(own_server, MY_FEEDBACK_IDS, me["participant_id"])
        assert len(committed) == len(notes), "the server should have committed before it died"
        assert outbox_record_ids(page) == {record_id for (record_id,) in committed}, (
            "every entry stays in the outbox until a 200 says it is stored"
        )
        context.unroute("**/api/sync/push")

        own_server.start()
        sync_and_wait(page)
        stored = rows(own_server, MY_FEEDBACK, me["participant_id"])
        assert sorted(text for (text,) in stored) == sorted(notes)
    finally:
        context.close()
