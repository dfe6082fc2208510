"""Smaller things a family or worker meets: the consent line, the claim code's date, the status bar."""

import datetime as dt

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import (
    LONG,
    join_as_family,
    make_claim_code,
    open_app,
    server_fields,
    session,
    sign_in_worker,
    statement_count,
    sync_and_wait,
    sync_now,
    wait_for_worker,
    wait_heading,
)

pytestmark = pytest.mark.browser
PARENT_LINE = "I am their parent or carer, and I agree"


def test_parent_or_carer_line_shows_only_for_children_under_13(page, live_server):
    open_app(page, live_server.url, f"join/{live_server.join_code}")
    page.get_by_role("button", name="Join", exact=True).click()
    wait_heading(page, "Saying yes")
    page.get_by_role("radio", name="A parent or carer", exact=True).check()
    for age, shown in (("26 or over", False), ("Under 13", True), ("18 to 25", False), ("13 to 17", False)):
        page.get_by_role("radio", name=age, exact=True).check()
        assert page.get_by_label(PARENT_LINE).is_visible() is shown, age
    assert_no_axe_violations(page)


def submit_expecting(page, button: str, message: str, focused: str) -> None:
    """Send the form without an answer it needs: the message says which, and the focus goes there."""
    page.get_by_role("button", name=button, exact=True).click()
    page.get_by_role("alert").filter(has_text=message).wait_for()
    assert page.evaluate("document.activeElement.name") == focused


def test_a_family_is_told_to_choose_who_they_are_and_their_age(page, live_server):
    open_app(page, live_server.url, f"join/{live_server.join_code}")
    page.get_by_role("button", name="Join", exact=True).click()
    wait_heading(page, "Saying yes")
    submit_expecting(page, "Yes, I agree", "Please choose who you are.", "role")
    page.get_by_role("radio", name="A parent or carer", exact=True).check()
    submit_expecting(page, "Yes, I agree", "Please choose an age.", "age_band")
    page.get_by_role("radio", name="26 or over", exact=True).check()
    page.get_by_role("button", name="Yes, I agree").click()
    wait_heading(page, "What would you like to do?")


def test_a_worker_is_told_to_choose_the_new_persons_role_and_age(page, live_server):
    sign_in_worker(page, live_server)
    page.get_by_role("radio", name="Someone new").check()
    page.get_by_role("radio", name="13 to 17", exact=True).check()
    submit_expecting(page, "Start", "Please choose who you are.", "role")
    page.get_by_role("radio", name="A young person", exact=True).check()
    page.get_by_role("button", name="Start").click()
    wait_heading(page, "Saying yes")


def start_visit_with_new_person(page, live_server, name="") -> None:
    sign_in_worker(page, live_server)
    page.get_by_role("radio", name="Someone new").check()
    page.get_by_role("radio", name="A young person", exact=True).check()
    page.get_by_role("radio", name="13 to 17", exact=True).check()
    if name:
        page.get_by_label("Their name or a nickname").fill(name)
    page.get_by_role("button", name="Start").click()
    wait_heading(page, "Saying yes")


def test_worker_is_told_whose_consent_they_record(page, live_server):
    start_visit_with_new_person(page, live_server, name="Sam")
    assert "You are recording consent for: Sam (A young person)." in page.locator("main").inner_text()
    assert_no_axe_violations(page)


def test_claim_code_shows_the_expiry_date_and_stays_on_one_line_at_320px(browser, live_server):
    context = browser.new_context(locale="en-GB", viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        start_visit_with_new_person(page, live_server)
        page.get_by_role("button", name="Yes, I agree").click()
        wait_heading(page, "What would you like to do?")
        make_claim_code(page, live_server.url)
        code = page.locator(".code")
        text = page.locator(".claim-result").inner_text()
        # Claim codes last 7 days: the line names that day in British style, e.g. "7 December 2026".
        in_a_week = dt.datetime.now() + dt.timedelta(days=7)
        day = f"{in_a_week.day} {in_a_week:%B} {in_a_week.year}"
        assert day in text, text
        box = code.bounding_box()
        line_height = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.code')).lineHeight)")
        assert box["height"] < 1.5 * line_height, "the code wrapped onto a second line"
        assert box["x"] + box["width"] <= 320
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_status_bar_stays_in_view_on_one_line_while_answering(browser, live_server):
    context = browser.new_context(locale="en-GB", viewport={"width": 320, "height": 480})
    page = context.new_page()
    try:
        join_as_family(page, live_server)
        open_app(page, live_server.url, "checklist/1")
        wait_heading(page, "Question 1 of")
        page.mouse.wheel(0, 2000)
        status = page.locator("footer.bottom")
        box = status.bounding_box()
        assert box["y"] + box["height"] <= 480 + 0.5 and box["y"] >= 0, box
        line_height = page.evaluate("parseFloat(getComputedStyle(document.getElementById('status')).lineHeight)")
        assert page.locator("#status").bounding_box()["height"] < 1.5 * line_height
    finally:
        context.close()


def test_heading_focus_ring_shows_for_keyboard_users_only(page, live_server):
    join_as_family(page, live_server)
    page.get_by_role("link", name="Answer the questions").click()
    wait_heading(page, "Question 1 of")
    ring = "getComputedStyle(document.querySelector('main h1')).outlineStyle"
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert page.evaluate(ring) == "none"
    page.keyboard.press("Tab")
    page.evaluate("document.querySelector('main h1').focus()")
    assert page.evaluate(ring) == "dashed"


def test_ladder_offers_the_next_step_after_saving(page, live_server):
    join_as_family(page, live_server)
    open_app(page, live_server.url, "ladder")
    wait_heading(page, "How did taking part feel?")
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Tell us something").click()
    wait_heading(page, "Tell us something")


def test_a_workers_phone_is_not_told_it_cannot_get_messages(page, live_server):
    sign_in_worker(page, live_server)
    open_app(page, live_server.url, "settings")
    wait_heading(page, "Settings")
    text = page.locator("main").inner_text()
    assert "cannot get messages" not in text
    assert "Turn on messages" not in text
    assert_no_axe_violations(page)


def turn_on_messages_with(page, context, live_server, subscribe_js: str) -> None:
    """Tap "Turn on messages" with the browser's push subscription replaced by subscribe_js."""
    context.grant_permissions(["notifications"], origin=live_server.url)
    page.add_init_script(f"PushManager.prototype.subscribe = {subscribe_js};")
    join_as_family(page, live_server)
    wait_for_worker(page)
    open_app(page, live_server.url, "settings")
    wait_heading(page, "Settings")
    page.get_by_role("button", name="Turn on messages").click()


def test_turning_on_messages_shows_progress_then_says_the_service_did_not_answer(page, context, live_server):
    turn_on_messages_with(page, context, live_server, "() => new Promise(() => {})")
    card = page.locator(".card", has=page.get_by_role("heading", name="Messages"))
    card.get_by_text("Turning on messages…").wait_for(timeout=LONG)
    assert page.get_by_role("button", name="Turn on messages").is_disabled()
    card.get_by_text("message service did not answer").wait_for(timeout=LONG)
    assert page.get_by_role("button", name="Turn on messages").is_enabled()
    assert "internet" not in card.inner_text()


def test_a_browser_refusing_push_is_named_not_blamed_on_the_internet(page, context, live_server):
    turn_on_messages_with(
        page,
        context,
        live_server,
        "() => Promise.reject(new DOMException('Registration failed - push service error', 'AbortError'))",
    )
    card = page.locator(".card", has=page.get_by_role("heading", name="Messages"))
    card.get_by_text("This browser would not turn on messages").wait_for(timeout=LONG)
    assert "You need the internet" not in card.inner_text()


def test_a_rejected_answer_is_fixed_by_choosing_the_value_again(page, live_server):
    join_as_family(page, live_server)
    me = session(page)
    total = statement_count(page)
    assert total >= 1
    open_app(page, live_server.url, "checklist/1")
    statement_id = page.evaluate(
        """async (me) => {
            const m = await import('/app/js/model.js');
            return (await m.statements(me.project_id))[0].id;
        }""",
        me,
    )
    # A broken client stored a value the server refuses ("maybe").
    answer = page.evaluate(
        """async ([me, sid]) => {
            const s = await import('/app/js/storage.js');
            const ids = await import('/app/js/ids.js');
            const id = await ids.naturalId.checklistAnswer(me.participant_id, me.project_id, 'design', sid);
            await s.write([{type: 'checklist_answer', id, values: {
                participant_id: me.participant_id, project_id: me.project_id, stage: 'design',
                statement_id: sid, value: 'maybe', mode: 'self', recorded_by: null}}]);
            return id;
        }""",
        [me, statement_id],
    )
    sync_now(page)
    page.get_by_role("link", name="1 thing needs your attention.").click()
    wait_heading(page, "Needs attention")
    assert_no_axe_violations(page)
    page.get_by_role("radio", name="Agree", exact=True).check()
    page.get_by_role("button", name="Send again").click()
    page.get_by_text("Nothing needs your attention.").wait_for(timeout=LONG)
    sync_and_wait(page)
    assert server_fields(live_server, answer)["value"] == "agree"
