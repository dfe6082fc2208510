"""Their data is theirs: download it from Settings, and erase it, even offline."""

import json

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import (
    LONG,
    give_feedback,
    join_as_family,
    local_values,
    open_app,
    rows,
    session,
    sync_and_wait,
    wait_heading,
    wait_until,
)
from tests.browser.test_pwa_my_entries import switch_language

pytestmark = pytest.mark.browser

LOCAL_STORES_JS = """async () => {
    const s = await import('/app/js/storage.js');
    const db = await s.open();
    const all = (name, keys) => new Promise((ok) => {
        const store = db.transaction(name).objectStore(name);
        const r = keys ? store.getAllKeys() : store.getAll();
        r.onsuccess = () => ok(r.result);
    });
    return {records: await all('records'), outbox: await all('outbox'),
            rejected: await all('rejected'), meta: await all('meta', true)};
}"""


def test_download_my_data_as_a_page_and_the_servers_json(page, live_server):
    join_as_family(page, live_server)
    give_feedback(page, live_server.url, "Please keep the lift working")
    sync_and_wait(page)
    open_app(page, live_server.url, "settings")
    page.get_by_role("link", name="Download my data").click()
    wait_heading(page, "My data")
    text = page.locator("main").inner_text()
    assert "Please keep the lift working" in text
    assert "A young person" in text and "13 to 17" in text
    assert_no_axe_violations(page)
    with page.expect_download(timeout=LONG) as info:
        page.get_by_role("button", name="Download the file (JSON)").click()
    data = json.loads(open(info.value.path()).read())
    assert data["participant_id"] == session(page)["participant_id"]
    texts = [r["fields"].get("text") for r in data["records"] if r["type"] == "feedback"]
    assert texts == ["Please keep the lift working"]
    switch_language(page, live_server.url, "ur", "ترتیبات")
    open_app(page, live_server.url, "mydata")
    page.locator("main h1").wait_for()
    assert_no_axe_violations(page)


def test_erase_offline_empties_the_phone_and_reaches_the_server_once_online(page, context, live_server):
    join_as_family(page, live_server)
    give_feedback(page, live_server.url, "Something I want erased")
    sync_and_wait(page)
    me = session(page)
    live = "SELECT id FROM sync_records WHERE subject_id = ? AND deleted IS NULL"
    assert rows(live_server, live, me["participant_id"])

    context.set_offline(True)
    give_feedback(page, live_server.url, "Written offline, never sent")
    open_app(page, live_server.url, "settings")
    page.get_by_role("button", name="Erase my data").click()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Yes, erase everything").click()
    wait_heading(page, "Welcome")
    held = page.evaluate(LOCAL_STORES_JS)
    assert held["records"] == [] and held["outbox"] == [] and held["rejected"] == []
    assert sorted(held["meta"]) == ["pendingErase"]
    assert local_values(page, "feedback") == []
    assert rows(live_server, live, me["participant_id"]), "nothing can reach the server offline"

    context.set_offline(False)
    wait_until(page, "(async () => !(await (await import('/app/js/erase.js')).hasPendingErase()))()")
    assert rows(live_server, live, me["participant_id"]) == []
    assert page.evaluate(LOCAL_STORES_JS)["meta"] == []
