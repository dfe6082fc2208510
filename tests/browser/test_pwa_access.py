"""Access on the phone itself: a handed-over family leaves the worker's phone; a revoked phone is emptied."""

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import (
    LONG,
    give_feedback,
    make_claim_code,
    open_app,
    rows,
    session,
    sign_in_worker,
    start_visit,
    sync_and_wait,
    sync_now,
    wait_heading,
    wait_until,
)

SYNC_STATE = """async () => {
  const s = await import('/app/js/sync.js');
  const storage = await import('/app/js/storage.js');
  const session = await storage.getMeta('session');
  return { ...s.state, hash: location.hash, session: Boolean(session), notice: await storage.getMeta('notice'),
           outbox: (await storage.outboxStats()).count, online: navigator.onLine };
}"""
LOCAL_IDS = "async (t) => (await (await import('/app/js/storage.js')).getRecords(t)).map((r) => r.id)"
CONSENT_OWNERS = (
    "async () => (await (await import('/app/js/storage.js')).getRecords('consent'))"
    ".map((r) => r.fields.participant_id && r.fields.participant_id.v)"
)


def local_ids(page, rtype: str) -> list[str]:
    return page.evaluate(LOCAL_IDS, rtype)


def test_a_worker_phone_that_handed_a_family_over_no_longer_shows_them(browser, live_server):
    worker_ctx, family_ctx = browser.new_context(locale="en-GB"), browser.new_context(locale="en-GB")
    try:
        worker, family = worker_ctx.new_page(), family_ctx.new_page()
        sign_in_worker(worker, live_server)
        pid = start_visit(worker)
        sync_and_wait(worker)
        assert pid in local_ids(worker, "participant") and local_ids(worker, "consent")

        code = make_claim_code(worker, live_server.url)

        open_app(family, live_server.url, "join")
        family.get_by_label("Code from the worker").fill(code)
        family.get_by_role("button", name="Use this code").click()
        wait_heading(family, "What would you like to do?")

        # The worker's next sync takes the family off their phone.
        sync_now(worker)
        wait_until(worker, f"(async () => !(await ({LOCAL_IDS})('participant')).includes({pid!r}))()")
        # Other families this worker recorded in earlier tests stay (still in custody); this one's consent goes.
        wait_until(worker, f"(async () => !(await ({CONSENT_OWNERS})()).includes({pid!r}))()")
        open_app(worker, live_server.url, "visit")
        wait_heading(worker, "Who are you with?")
        assert_no_axe_violations(worker)

        # The family's own phone now has "Add another phone" in Settings.
        open_app(family, live_server.url, "settings")
        family.get_by_role("button", name="Make a code").click()
        family.locator("#another-phone .code").wait_for(timeout=LONG)
        assert "Use it before" in family.locator("#another-phone").inner_text()
        assert_no_axe_violations(family)
    finally:
        worker_ctx.close()
        family_ctx.close()


def test_a_revoked_phone_is_emptied_and_says_why(page, live_server):
    sign_in_worker(page, live_server)
    start_visit(page)
    sync_and_wait(page)
    token = session(page)["token"]
    gone = page.request.delete(live_server.url + "/api/devices/current", headers={"Authorization": f"Bearer {token}"})
    assert gone.status == 204

    # Offline, so the app's own sync at start cannot meet the revocation before the entry is typed.
    page.context.set_offline(True)
    give_feedback(page, live_server.url, "Written after the token was revoked")
    page.context.set_offline(False)
    # Asked for while the offline round may still be failing, this sync gets a round of its own.
    sync_now(page)
    try:
        page.get_by_role("heading", name="This phone was signed out").wait_for(timeout=LONG)
    except PlaywrightTimeout as err:
        # It timed out once in a full run (and never alone): say where the app's sync stood.
        raise AssertionError(f"not signed out; the app's sync: {page.evaluate(SYNC_STATE)}") from err
    wait_heading(page, "Welcome to WithUs")
    assert local_ids(page, "participant") == [] and local_ids(page, "feedback") == []
    assert page.evaluate("async () => (await import('/app/js/storage.js')).outboxStats()")["count"] == 0
    assert_no_axe_violations(page)
    texts = rows(live_server, "SELECT fields FROM sync_records WHERE type = 'feedback'")
    assert not any("Written after the token was revoked" in f for (f,) in texts)
