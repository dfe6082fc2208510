"""The optional "About me" equality questions and withdrawing consent, in the installable app."""

import json
import uuid

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import (  # no_script_errors: autouse, fails a test on page errors
    LONG,
    assert_large_targets,
    join_as_family,
    no_script_errors,  # noqa: F401
    open_app,
    rows,
    session,
    sync_and_wait,
    wait_heading,
)

pytestmark = pytest.mark.browser

NS = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")


def choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_role("radio", name=answer, exact=True).check()


def server_values(live_server, record_type: str, participant_id: str) -> list[tuple[str, dict]]:
    found = rows(
        live_server,
        "SELECT id, fields FROM sync_records WHERE type = ? AND json_extract(fields, '$.participant_id.v') = ?",
        record_type,
        participant_id,
    )
    return [(rid, {k: reg["v"] for k, reg in json.loads(f).items()}) for rid, f in found]


def test_equality_answers_reach_the_server_as_one_record(page, live_server):
    join_as_family(page, live_server)
    page.get_by_role("link", name="About me (optional)").click()
    wait_heading(page, "About me (optional)")
    main = page.locator("main").inner_text()
    assert "optional" in main and "groups of 5 people or more" in main and "separate" in main
    choose(page, "How would you describe yourself?", "A girl or woman")
    choose(page, "What is your ethnic group?", "I would rather not say")
    choose(page, "Do you have a disability or a long-term health condition?", "No")
    choose(page, "What was the first language you learned?", "Urdu")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved. Thank you").wait_for(timeout=LONG)
    sync_and_wait(page)

    me = session(page)
    stored = server_values(live_server, "equality", me["participant_id"])
    expected_id = str(uuid.uuid5(NS, f"equality:{me['participant_id']}:{me['project_id']}"))
    assert stored == [
        (
            expected_id,
            {
                "participant_id": me["participant_id"],
                "project_id": me["project_id"],
                "gender": "woman",
                "ethnicity": "prefer_not_to_say",
                "disability": "no",
                "first_language": "urdu",
            },
        )
    ]
    (projected,) = rows(
        live_server,
        "SELECT gender, ethnicity, disability, first_language FROM equality_answers WHERE id = ?",
        expected_id,
    )
    assert projected == ("woman", "prefer_not_to_say", "no", "urdu")

    # Reached from Settings too, with the answers kept; a change sends only what changed.
    open_app(page, live_server.url, "settings")
    page.get_by_role("link", name="Answer or change them").click()
    wait_heading(page, "About me (optional)")
    assert (
        page.get_by_role("group", name="What was the first language you learned?")
        .get_by_role("radio", name="Urdu", exact=True)
        .is_checked()
    )
    choose(page, "Do you have a disability or a long-term health condition?", "I would rather not say")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("status").filter(has_text="Saved. Thank you").wait_for(timeout=LONG)
    sync_and_wait(page)
    ((rid, values),) = server_values(live_server, "equality", me["participant_id"])
    assert rid == expected_id
    assert values["disability"] == "prefer_not_to_say" and values["first_language"] == "urdu"


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("en", {"dir": "ltr", "title": "About me (optional)", "settings": "Settings"}),
        ("ur", {"dir": "rtl", "title": "میرے بارے میں (اختیاری)", "settings": "ترتیبات"}),
    ],
)
def test_equality_and_withdraw_screens_pass_axe(page, live_server, lang, labels):
    join_as_family(page, live_server)
    open_app(page, live_server.url, "settings")
    page.get_by_label("Language").select_option(lang)
    wait_heading(page, labels["settings"])
    assert page.evaluate("document.documentElement.dir") == labels["dir"]
    assert_no_axe_violations(page)  # with the "About me" and "Stop taking part" cards
    assert_large_targets(page)
    page.locator("#withdraw button").click()  # the confirm step
    page.locator("#withdraw .btn.danger").wait_for(timeout=LONG)
    assert_no_axe_violations(page)
    assert_large_targets(page)
    open_app(page, live_server.url, "equality")
    wait_heading(page, labels["title"])
    assert page.evaluate("document.documentElement.dir") == labels["dir"]
    assert_no_axe_violations(page)
    assert_large_targets(page)
    page.locator("input[name=gender]").last.check()
    assert_no_axe_violations(page)


def test_withdrawing_consent_reaches_the_server(page, live_server):
    join_as_family(page, live_server)
    me = session(page)
    open_app(page, live_server.url, "settings")
    page.get_by_role("button", name="Withdraw my consent").click()
    # A clear second step, saying what it means; nothing is written before it.
    confirm = page.get_by_role("button", name="Yes, withdraw my consent")
    assert page.evaluate("document.activeElement.textContent") == "Yes, withdraw my consent"
    main = page.locator("main").inner_text()
    assert "stop being used in results" in main and "erase your data" in main
    page.get_by_role("button", name="Cancel").click()
    assert confirm.count() == 0
    page.get_by_role("button", name="Withdraw my consent").click()
    confirm.click()
    page.get_by_text("You withdrew your consent on").wait_for(timeout=LONG)
    assert "erase your data" in page.locator("main").inner_text()
    sync_and_wait(page)

    ((_, values),) = server_values(live_server, "consent", me["participant_id"])
    assert values["withdrawn_at"] is not None and values["given_at"] is not None
    (projected,) = rows(live_server, "SELECT withdrawn_at FROM consents WHERE participant_id = ?", me["participant_id"])
    assert projected[0] is not None
    # Without consent the questions are not offered: home asks for a yes again.
    open_app(page, live_server.url, "home")
    wait_heading(page, "Saying yes")
