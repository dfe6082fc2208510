"""The installable app (/app/) in Debian's Chromium: offline, sync, accessibility, keyboard."""

import json
import shutil
import sqlite3
import time
import uuid

import pytest

from server.pwa import PWA_DIR
from tests.browser.conftest import LiveServer, assert_no_axe_violations

pytestmark = pytest.mark.browser

LONG = 30_000  # ms: generous waits for sync rounds on a loaded machine


# --- helpers ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Fail a test whose page threw or logged an error (network failures offline aside)."""
    errors = []
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
    yield
    assert errors == []


SMALL_TARGETS_JS = """() => {
    // Every control's touch target (a radio's or checkbox's is its label row), in CSS px.
    const target = (el) => {
        if (el.type === 'radio') return el.closest('.choice');
        if (el.type === 'checkbox') return el.closest('.check');
        return el;
    };
    const controls = document.querySelectorAll(
        'main a, main button, main input, main select, main textarea, main summary, nav a');
    return [...controls].map(target).filter((el) => el && el.offsetParent !== null)
        .map((el) => [el.outerHTML.slice(0, 60), el.getBoundingClientRect()])
        .filter(([, r]) => r.width < 44 || r.height < 44).map(([html]) => html);
}"""


def assert_large_targets(page) -> None:
    assert page.evaluate(SMALL_TARGETS_JS) == []


def open_app(page, base, route="") -> None:
    page.goto(f"{base}/app/#/{route}")
    page.wait_for_selector("html[data-ready]")


def heading(page) -> str:
    return page.locator("main h1").inner_text()


def wait_heading(page, text: str) -> None:
    page.locator("main h1", has_text=text).wait_for(timeout=LONG)


def wait_until(page, script: str, timeout_ms: int = LONG) -> None:
    """Poll a JS expression (wait_for_function would need eval, which the app's CSP forbids)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        time.sleep(0.05)


def wait_for_worker(page) -> None:
    """Wait until the service worker controls the page (it claims clients on activate)."""
    wait_until(page, "navigator.serviceWorker.controller !== null")


def sync_now(page) -> None:
    """Call syncNow() in the page, as "Sync now" does, through the app's own module instance.

    It returns when the sync is over: one round, or two when a round was already running, since
    the request then gets a round of its own once that one ends, even a failed one (pwa/js/sync.js).
    """
    page.evaluate("async () => { const s = await import('/app/js/sync.js'); await s.syncNow(); }")


def wait_status(page, text: str) -> None:
    """Wait for the status line to say something (it refreshes asynchronously)."""
    page.locator("#status", has_text=text).wait_for(timeout=LONG)


def wait_status_without(page, text: str) -> None:
    wait_until(page, f"!document.getElementById('status').textContent.includes({text!r})")


def wait_all_sent(page, *, rejected: int = 0) -> None:
    """Wait for an empty outbox; by default nothing may have been rejected on the way."""
    page.locator("#status[data-waiting='0']").wait_for(state="attached", timeout=LONG)
    assert page.locator("#status").get_attribute("data-rejected") == str(rejected)


def sync_and_wait(page) -> None:
    """Sync now and wait until everything the phone holds has reached the server, nothing rejected."""
    sync_now(page)
    wait_all_sent(page)


def join_as_family(page, live_server, *, age="13 to 17", role="A young person") -> None:
    open_app(page, live_server.url, f"join/{live_server.join_code}")
    page.get_by_role("button", name="Join", exact=True).click()
    wait_heading(page, "Saying yes")
    page.get_by_role("radio", name=role, exact=True).check()
    page.get_by_role("radio", name=age, exact=True).check()
    page.get_by_role("button", name="Yes, I agree").click()
    wait_heading(page, "What would you like to do?")
    page.get_by_role("link", name="Answer the questions").wait_for(timeout=LONG)
    sync_and_wait(page)


def give_feedback(page, base, note) -> None:
    """Write feedback on the phone and save it (it is sent when a sync round runs)."""
    open_app(page, base, "feedback")
    page.get_by_label("What do you want to tell us?").fill(note)
    page.get_by_role("button", name="Save and send").click()
    wait_heading(page, "My contributions")


def make_claim_code(page, base) -> str:
    """Make a claim code on the phone's Claim screen and return it as shown."""
    open_app(page, base, "claim")
    page.get_by_role("button", name="Make a code").click()
    shown = page.locator(".code")
    shown.wait_for(timeout=LONG)
    return shown.inner_text().removeprefix("Code: ").strip()


def first_question_answered(page, base, answer: str) -> bool:
    """Open the checklist's first question: is `answer` the one chosen?"""
    open_app(page, base, "checklist/1")
    wait_heading(page, "Question 1 of")
    return page.get_by_role("radio", name=answer, exact=True).is_checked()


def sign_in_worker(page, live_server) -> None:
    open_app(page, live_server.url, "signin")
    page.get_by_label("Email").fill("worker@demo.withus")
    page.get_by_label("Password").fill(live_server.password)
    page.get_by_role("button", name="Sign in").click()
    wait_heading(page, "Who are you with?")


def start_visit(page) -> str:
    """On a signed-in worker's phone, record someone new; return their participant id."""
    page.get_by_role("radio", name="Someone new").check()
    page.get_by_role("radio", name="A young person", exact=True).check()
    page.get_by_role("radio", name="13 to 17", exact=True).check()
    page.get_by_role("button", name="Start").click()
    wait_heading(page, "Saying yes")
    page.get_by_role("button", name="Yes, I agree").click()
    wait_heading(page, "What would you like to do?")
    return page.evaluate("async () => (await (await import('/app/js/storage.js')).getMeta('visit')).participant_id")


def statement_count(page) -> int:
    open_app(page, page.url.split("/app/")[0], "checklist/1")
    wait_heading(page, "Question 1 of")
    return int(heading(page).rsplit(" ", 1)[1])


def session(page) -> dict:
    return page.evaluate("async () => (await import('/app/js/storage.js')).getMeta('session')")


def rows(live_server, sql: str, *args) -> list:
    with sqlite3.connect(live_server.db_path) as db:
        return db.execute(sql, args).fetchall()


def server_fields(live_server, record_id: str) -> dict | None:
    found = rows(live_server, "SELECT fields, deleted FROM sync_records WHERE id = ?", record_id)
    if not found:
        return None
    return {k: reg["v"] for k, reg in json.loads(found[0][0]).items()}


def answer_id(page, participant_id, project_id, stage, statement_id) -> str:
    return page.evaluate(
        "async (a) => (await import('/app/js/ids.js')).naturalId.checklistAnswer(...a)",
        [participant_id, project_id, stage, statement_id],
    )


def local_values(page, type_: str) -> list[dict]:
    return page.evaluate(
        """async (type) => {
            const s = await import('/app/js/storage.js');
            const r = await import('/app/js/records.js');
            return (await s.getRecords(type)).map(r.values).filter(Boolean);
        }""",
        type_,
    )


# --- the service worker and offline start -----------------------------------------


def test_shell_is_served_with_manifest_and_rendered_service_worker(page, live_server):
    response = page.goto(live_server.url + "/app/manifest.webmanifest")
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["start_url"] == "/app/" and manifest["scope"] == "/app/"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}
    assert any(i["purpose"] == "maskable" for i in manifest["icons"])
    for icon in manifest["icons"]:
        assert page.request.get(live_server.url + icon["src"]).ok
    sw = page.request.get(live_server.url + "/app/sw.js").text()
    assert "__VERSION__" not in sw and "__PRECACHE__" not in sw and "__LATER__" not in sw
    assert '"/app/"' in sw and '"/app/js/app.js?v=' in sw and '"/app/js/i18n/ur.js?v=' in sw


def test_app_starts_offline_after_first_visit(page, context, live_server):
    join_as_family(page, live_server)
    total = statement_count(page)
    wait_for_worker(page)
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    wait_heading(page, f"Question 1 of {total}")
    assert page.get_by_role("radio", name="Agree", exact=True).is_visible()
    legend = page.locator("main legend")
    assert "I felt welcome, whoever I am" in legend.inner_text()
    page.get_by_label("Easy read").check()
    assert "I felt welcome here." in legend.inner_text()
    page.get_by_label("Easy read").uncheck()
    # A cold start at the shell's own URL works offline too.
    open_app(page, live_server.url, "checklist/1")
    wait_heading(page, f"Question 1 of {total}")
    context.set_offline(False)


# --- offline entries, reload, and exactly-once delivery -----------------------------


def test_offline_answers_and_feedback_survive_reload_and_arrive_once(page, context, live_server):
    join_as_family(page, live_server)
    total = statement_count(page)
    wait_for_worker(page)
    me = session(page)
    context.set_offline(True)

    for n in range(1, total + 1):
        open_app(page, live_server.url, f"checklist/{n}")
        wait_heading(page, f"Question {n} of {total}")
        page.get_by_role("radio", name="Not sure" if n == 1 else "Agree", exact=True).check()
        if n == 1:
            page.get_by_label("Anything to add?").fill("Offline comment")
        page.get_by_role("button", name="Finish" if n == total else "Next").click()
    wait_heading(page, "Thank you!")

    note = f"Offline feedback {uuid.uuid4().hex[:8]}"
    open_app(page, live_server.url, "feedback")
    page.get_by_label("What do you want to tell us?").fill(note)
    page.get_by_role("radio", name="No barriers for anyone").check()
    page.get_by_role("button", name="Save and send").click()
    wait_heading(page, "My contributions")
    assert note in page.locator("main").inner_text()

    page.reload()  # still offline
    page.wait_for_selector("html[data-ready]")
    open_app(page, live_server.url, "checklist/1")
    wait_heading(page, f"Question 1 of {total}")
    assert page.get_by_role("radio", name="Not sure", exact=True).is_checked()
    assert page.get_by_label("Anything to add?").input_value() == "Offline comment"
    open_app(page, live_server.url, "contributions")
    wait_heading(page, "My contributions")
    assert note in page.locator("main").inner_text()
    assert "Not sent yet" in page.locator("main").inner_text()
    wait_status(page, "waiting to send")

    context.set_offline(False)  # the `online` event drains the outbox
    wait_all_sent(page)
    wait_status(page, "All saved")

    def mine(type_):
        return rows(
            live_server,
            "SELECT id, fields FROM sync_records WHERE type = ? AND json_extract(fields, '$.participant_id.v') = ?",
            type_,
            me["participant_id"],
        )

    answers = mine("checklist_answer")
    assert len(answers) == total
    feedback = mine("feedback")
    assert len(feedback) == 1
    assert json.loads(feedback[0][1])["text"]["v"] == note
    changes_before = rows(live_server, "SELECT max(change_no) FROM sync_records")[0][0]

    # Sending again (a reload, another round) changes nothing on the server.
    page.reload()
    page.wait_for_selector("html[data-ready]")
    sync_now(page)
    assert len(mine("checklist_answer")) == total and len(mine("feedback")) == 1
    assert rows(live_server, "SELECT max(change_no) FROM sync_records")[0][0] == changes_before


# --- two devices, one answer ---------------------------------------------------------


def test_two_devices_editing_one_answer_offline_converge(browser, live_server):
    a_ctx, b_ctx = browser.new_context(locale="en-GB"), browser.new_context(locale="en-GB")
    try:
        a, b = a_ctx.new_page(), b_ctx.new_page()
        name = f"Sam {uuid.uuid4().hex[:6]}"
        sign_in_worker(a, live_server)
        a.get_by_role("radio", name="Someone new").check()
        a.get_by_label("Their name or a nickname").fill(name)
        a.get_by_role("radio", name="A parent or carer", exact=True).check()
        a.get_by_role("radio", name="26 or over", exact=True).check()
        a.get_by_role("radio", name="I am helping them answer").check()
        a.get_by_role("button", name="Start").click()
        wait_heading(a, "Saying yes")
        a.get_by_role("button", name="Yes, I agree").click()
        wait_heading(a, "What would you like to do?")
        sync_and_wait(a)

        sign_in_worker(b, live_server)
        b.get_by_role("radio", name=f"{name} (A parent or carer)").check()
        b.get_by_role("button", name="Start").click()
        wait_heading(b, "What would you like to do?")

        a_ctx.set_offline(True)
        b_ctx.set_offline(True)
        for page, value, comment in ((a, "Agree", "Said on phone A"), (b, "Disagree", None)):
            open_app(page, live_server.url, "checklist/1")
            wait_heading(page, "Question 1 of")
            page.get_by_role("radio", name=value, exact=True).check()
            if comment:
                page.get_by_label("Anything to add?").fill(comment)
            page.get_by_role("button", name="Next").click()
            wait_heading(page, "Question 2 of")
        a_ctx.set_offline(False)
        b_ctx.set_offline(False)
        for page in (a, b, a):
            sync_now(page)
        for page in (a, b):
            wait_all_sent(page)

        answers = [local_values(page, "checklist_answer") for page in (a, b)]
        assert answers[0] == answers[1]
        (answer,) = [x for x in answers[0] if x.get("comment") == "Said on phone A"]
        # Per field: B's later value and A's comment both survive, on both phones and the server.
        assert answer["value"] == "disagree"
        assert server_fields(live_server, answer["id"])["value"] == "disagree"
        assert server_fields(live_server, answer["id"])["comment"] == "Said on phone A"
        for page in (a, b):
            assert first_question_answered(page, live_server.url, "Disagree")
    finally:
        a_ctx.close()
        b_ctx.close()


# --- needs attention -----------------------------------------------------------------


def test_rejected_entry_is_kept_under_needs_attention_and_can_be_fixed(page, live_server):
    join_as_family(page, live_server)
    me = session(page)
    too_long = "x" * 2001  # the form stops this; a broken client might not
    feedback_id = page.evaluate(
        """async ([me, text]) => {
            const s = await import('/app/js/storage.js');
            const ids = await import('/app/js/ids.js');
            const id = ids.uuid7();
            await s.write([{type: 'feedback', id, values: {
                participant_id: me.participant_id, project_id: me.project_id, stage: 'design',
                text, principle: null, mode: 'self', recorded_by: null}}]);
            return id;
        }""",
        [me, too_long],
    )
    sync_now(page)
    link = page.get_by_role("link", name="1 thing needs your attention.")
    link.wait_for(timeout=LONG)
    assert server_fields(live_server, feedback_id) is None
    link.click()
    wait_heading(page, "Needs attention")
    item = page.locator("main li")
    assert "Something you told us" in item.inner_text()
    assert "Why:" in item.inner_text()
    page.get_by_label("Change it").fill("A shorter note")
    page.get_by_role("button", name="Send again").click()
    page.get_by_text("Nothing needs your attention.").wait_for(timeout=LONG)
    wait_all_sent(page)
    assert server_fields(live_server, feedback_id)["text"] == "A shorter note"

    # Throwing away needs a second, explicit press.
    page.evaluate(
        """async (me) => {
            const s = await import('/app/js/storage.js');
            const ids = await import('/app/js/ids.js');
            await s.write([{type: 'checklist_answer', id: ids.uuid7(), values: {
                participant_id: me.participant_id, project_id: me.project_id, stage: 'design',
                statement_id: ids.uuid7(), value: 'maybe', mode: 'self', recorded_by: null}}]);
        }""",
        me,
    )
    sync_now(page)
    page.get_by_role("link", name="1 thing needs your attention.").click()
    wait_heading(page, "Needs attention")
    page.get_by_role("button", name="Throw away").click()
    page.get_by_role("button", name="Yes, throw it away").click()
    page.get_by_text("Nothing needs your attention.").wait_for(timeout=LONG)
    assert page.get_by_role("link", name="needs your attention").count() == 0
    # Its writes are undone on this phone too; nothing is left waiting.
    assert [a for a in local_values(page, "checklist_answer") if a["value"] == "maybe"] == []
    wait_all_sent(page)


# --- accessibility -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "labels"),
    [
        (
            "en-GB",
            {
                "dir": "ltr",
                "join": "Join",
                "agree": "Yes, I agree",
                "young": "A young person",
                "age": "13 to 17",
                "first": "Question 1 of",
            },
        ),
        (
            "ur-PK",
            {
                "dir": "rtl",
                "join": "شامل ہوں",
                "agree": "ہاں، میں راضی ہوں",
                "young": "نوجوان",
                "age": "13 سے 17",
                "first": "سوال 1 از",
            },
        ),
    ],
)
def test_every_family_screen_passes_axe(browser, live_server, locale, labels):
    context = browser.new_context(locale=locale)
    try:
        page = context.new_page()
        base = live_server.url
        for route in ("welcome", "join", "signin", "settings"):
            open_app(page, base, route)
            assert page.evaluate("document.documentElement.dir") == labels["dir"]
            assert_no_axe_violations(page)
            assert_large_targets(page)
        open_app(page, base, f"join/{live_server.join_code}")
        page.get_by_role("button", name=labels["join"], exact=True).click()
        page.get_by_role("radio", name=labels["young"], exact=True).wait_for(timeout=LONG)
        assert_no_axe_violations(page)  # about you + consent
        assert_large_targets(page)
        page.get_by_role("radio", name=labels["young"], exact=True).check()
        page.get_by_role("radio", name=labels["age"], exact=True).check()
        page.get_by_role("button", name=labels["agree"]).click()
        page.locator("main .menu").wait_for(timeout=LONG)
        assert_no_axe_violations(page)  # home
        assert_large_targets(page)
        open_app(page, base, "checklist/1")
        wait_heading(page, labels["first"])
        page.locator("input[name=value]").first.check()
        assert_no_axe_violations(page)
        assert_large_targets(page)
        for route in (
            "checklist/done",
            "ladder",
            "feedback",
            "contributions",
            "attention",
            "settings",
            "mydata",
            "equality",
        ):
            open_app(page, base, route)
            assert_no_axe_violations(page)
            assert_large_targets(page)
        open_app(page, base, "feedback")
        page.locator("textarea").fill("Accessible feedback")
        page.locator("button[type=submit]").click()
        page.locator("ul.contributions").wait_for(timeout=LONG)
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_worker_screens_pass_axe(page, live_server):
    sign_in_worker(page, live_server)
    assert_no_axe_violations(page)  # visit
    page.get_by_role("radio", name="Someone new").check()
    page.get_by_role("radio", name="A child", exact=True).check()
    page.get_by_role("radio", name="Under 13", exact=True).check()
    page.get_by_role("radio", name="A parent or carer answers for a child").check()
    page.get_by_role("button", name="Start").click()
    wait_heading(page, "Saying yes")
    assert page.get_by_label("I am their parent or carer, and I agree").is_visible()
    assert_no_axe_violations(page)
    page.get_by_role("button", name="Yes, I agree").click()
    assert page.get_by_role("alert").inner_text() == "Please tick the box if you are their parent or carer."
    page.get_by_label("I am their parent or carer, and I agree").check()
    page.get_by_role("button", name="Yes, I agree").click()
    wait_heading(page, "What would you like to do?")
    assert "With help" not in page.locator("main").inner_text()
    assert "A parent or carer for a child" in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    open_app(page, live_server.url, "claim")
    assert_no_axe_violations(page)


# --- keyboard only -----------------------------------------------------------------


def tab_to(page, predicate: str, limit: int = 20) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {predicate}; }})()"):
            return
    raise AssertionError(f"Tab never reached {predicate}")


def test_checklist_can_be_completed_by_keyboard_alone(page, live_server):
    join_as_family(page, live_server)
    total = statement_count(page)
    for n in range(1, total + 1):
        wait_heading(page, f"Question {n} of {total}")
        # Focus moved to the heading on navigation.
        assert page.evaluate("document.activeElement.tagName") == "H1"
        tab_to(page, "el.name === 'value'")
        page.keyboard.press("Space")
        page.keyboard.press("ArrowDown")  # from Agree to Not sure
        assert page.evaluate("document.activeElement.value") == "not_sure"
        tab_to(page, "el.tagName === 'TEXTAREA'")
        page.keyboard.type(f"Comment {n}")
        tab_to(page, "el.type === 'submit'")
        page.keyboard.press("Enter")
    wait_heading(page, "Thank you!")
    assert f"You answered {total} of {total}" in page.locator("main").inner_text()
    me = session(page)["participant_id"]
    answers = [a for a in local_values(page, "checklist_answer") if a["participant_id"] == me]
    assert len(answers) == total
    assert {a["value"] for a in answers} == {"not_sure"}
    assert {a["comment"] for a in answers} == {f"Comment {n}" for n in range(1, total + 1)}


# --- clocks and tokens ---------------------------------------------------------------


def test_phone_clock_hours_ahead_is_corrected_and_entries_still_arrive(page, live_server):
    real_now = time.time()
    page.clock.set_system_time(real_now + 3 * 3600)  # the phone's clock runs 3 hours fast
    join_as_family(page, live_server)  # consent and participant went through a clock_ahead round
    give_feedback(page, live_server.url, "Sent from a fast clock")
    sync_and_wait(page)
    me = session(page)
    (stored,) = rows(
        live_server,
        "SELECT fields FROM sync_records WHERE type = 'feedback' AND json_extract(fields, '$.participant_id.v') = ?",
        me["participant_id"],
    )
    stamp = json.loads(stored[0])["text"]["t"]
    # Re-stamped from the server's clock, not the phone's.
    assert abs(int(stamp[:13]) / 1000 - real_now) < 300


# --- status, language, updates ---------------------------------------------------------


def test_entries_unsent_for_over_a_day_are_flagged(page, context, live_server):
    join_as_family(page, live_server)
    context.set_offline(True)
    page.clock.set_system_time(time.time() - 25 * 3600)
    give_feedback(page, live_server.url, "Written on a visit without signal")
    wait_status(page, "1 entry waiting to send.")
    assert "more than a day" not in page.locator("#status").inner_text()
    page.clock.set_system_time(time.time())
    page.evaluate("async () => (await import('/app/js/app.js')).refreshStatus()")
    wait_status(page, "more than a day")
    context.set_offline(False)
    sync_and_wait(page)
    wait_status_without(page, "more than a day")


def test_language_follows_settings_and_survives_a_reload(page, live_server):
    open_app(page, live_server.url, "settings")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_label("Language").select_option("ur")
    wait_heading(page, "ترتیبات")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [
        "ur",
        "rtl",
    ]
    assert page.get_by_role("navigation").get_by_role("link", name="شروع").is_visible()
    page.reload()
    page.wait_for_selector("html[data-ready]")
    wait_heading(page, "ترتیبات")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    page.get_by_label("زبان", exact=True).select_option("en")
    wait_heading(page, "Settings")
    assert page.evaluate("document.documentElement.dir") == "ltr"


def test_a_new_service_worker_offers_an_update_and_drops_the_old_cache(browser, live_server, tmp_path):
    app_copy = tmp_path / "pwa"
    shutil.copytree(PWA_DIR, app_copy, ignore=shutil.ignore_patterns("*.py"))
    server = LiveServer(tmp_path / "server", extra_env={"WITHUS_PWA_DIR": str(app_copy)})
    server.workdir.mkdir()
    server.prepare()
    server.start()
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        open_app(page, server.url, "welcome")
        wait_for_worker(page)
        shells = "caches.keys().then((k) => k.filter((n) => n.startsWith('withus-shell-')))"
        old = page.evaluate(shells)
        assert len(old) == 1

        wait_until(
            page,
            "navigator.serviceWorker.getRegistration('/app/').then((r) => !!r.active && !r.installing && !r.waiting)",
        )
        css = app_copy / "css" / "app.css"
        css.write_text(css.read_text() + "\n.a-newer-build { color: inherit; }\n")
        page.evaluate("async () => (await navigator.serviceWorker.getRegistration('/app/')).update()")
        update = page.get_by_role("button", name="Update now")
        update.wait_for(timeout=LONG)
        assert "A new version of the app is ready." in page.locator("#update").inner_text()
        with page.expect_navigation():
            update.click()
        page.wait_for_selector("html[data-ready]")
        wait_until(page, f"{shells}.then((k) => k.length === 1 && k[0] !== {old[0]!r})")
        assert page.locator("#update").is_hidden()
    finally:
        context.close()
        server.stop()


# --- closing the loop ------------------------------------------------------------------


def coordinator_acts_on(live_server, monkeypatch, tmp_path, project_id, feedback_id) -> None:
    """The coordinator's real write path (server.staff.writes), on the live server's database."""
    from flask_login import login_user

    from server import create_app
    from server.auth.models import User
    from server.extensions import db
    from server.staff import writes

    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{live_server.db_path}")
    monkeypatch.setenv("WITHUS_ENV", "development")
    app = create_app({"SECRET_KEY": "test"})
    with app.test_request_context():
        coordinator = db.session.execute(db.select(User).where(User.email == "coordinator@demo.withus")).scalar_one()
        login_user(coordinator)
        action_id = writes.create_action(
            project_id, "design", "The form was too long", "We cut it to one page", "planned", None
        )
        writes.link_feedback(project_id, action_id, [feedback_id])
        writes.change_status(project_id, action_id, "done", "New form in use", None)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_contributions_show_linked_actions_after_a_pull(page, live_server, monkeypatch, tmp_path):
    join_as_family(page, live_server)
    give_feedback(page, live_server.url, "The form is far too long")
    assert "Nobody has answered this yet." in page.locator("main").inner_text()
    sync_and_wait(page)
    me = session(page)
    (feedback,) = local_values(page, "feedback")
    coordinator_acts_on(live_server, monkeypatch, tmp_path, me["project_id"], feedback["id"])

    sync_now(page)  # the action arrives with the pull
    open_app(page, live_server.url, f"contributions/{feedback['id']}")  # where a push tap lands
    wait_heading(page, "My contributions")
    text = page.locator("main").inner_text()
    assert "The form is far too long" in text
    assert "What we did: We cut it to one page" in text
    assert "Status: Done" in text
    page.get_by_text("What happened when").click()
    timeline = page.locator("ol.timeline li")
    assert timeline.count() == 2
    assert "Done – New form in use" in timeline.nth(1).inner_text()
    assert_no_axe_violations(page)


def test_worker_hands_over_to_the_familys_own_phone_with_a_claim_code(browser, live_server):
    worker_ctx, family_ctx = (
        browser.new_context(locale="en-GB"),
        browser.new_context(locale="en-GB"),
    )
    try:
        worker, family = worker_ctx.new_page(), family_ctx.new_page()
        sign_in_worker(worker, live_server)
        start_visit(worker)
        open_app(worker, live_server.url, "checklist/1")
        wait_heading(worker, "Question 1 of")
        worker.get_by_role("radio", name="Disagree", exact=True).check()
        worker.get_by_role("button", name="Next").click()
        wait_heading(worker, "Question 2 of")

        code = make_claim_code(worker, live_server.url)
        assert code
        assert_no_axe_violations(worker)

        open_app(family, live_server.url, "join")
        family.get_by_label("Code from the worker").fill(code)
        family.get_by_role("button", name="Use this code").click()
        # The consent the worker recorded came with the pull: straight to the menu.
        wait_heading(family, "What would you like to do?")
        assert first_question_answered(family, live_server.url, "Disagree")
    finally:
        worker_ctx.close()
        family_ctx.close()


def test_expired_cursor_resyncs_from_zero_and_keeps_the_outbox(page, context, live_server, monkeypatch, tmp_path):
    join_as_family(page, live_server)
    give_feedback(page, live_server.url, "Please open on Saturdays")
    sync_and_wait(page)
    me = session(page)
    (feedback,) = local_values(page, "feedback")
    pulls = []
    # Watched from before the purge: the service worker may pull at any moment (the action's
    # notification, a Background Sync), and a pull already on its way when the network goes
    # off can still meet the purge. The context sees the service worker's fetches too.
    context.on(
        "response",
        lambda r: (
            pulls.append((r.status, r.url.split("cursor=")[1].split("&")[0])) if "/api/sync/pull" in r.url else None
        ),
    )
    coordinator_acts_on(live_server, monkeypatch, tmp_path, me["project_id"], feedback["id"])
    context.set_offline(True)
    # Tombstones were purged past this phone's cursor (as after 180 days away).
    with sqlite3.connect(live_server.db_path) as db:
        db.execute("UPDATE sync_counter SET value = value + 1, purged_through = value + 1")
    give_feedback(page, live_server.url, "Written before the resync")
    context.set_offline(False)
    sync_and_wait(page)
    # The old cursor is refused; the next pull that is not refused starts again from 0.
    expired = [i for i, (status, _) in enumerate(pulls) if status == 410]
    assert expired, pulls
    assert [p for p in pulls[expired[0] :] if p[0] != 410][0] == (200, "0"), pulls
    head = rows(live_server, "SELECT value FROM sync_counter")[0][0]
    assert page.evaluate("async () => (await import('/app/js/storage.js')).getMeta('cursor')") == head
    texts = {f["text"] for f in local_values(page, "feedback")}
    assert texts == {"Please open on Saturdays", "Written before the resync"}
    open_app(page, live_server.url, f"contributions/{feedback['id']}")
    wait_heading(page, "My contributions")
    assert "What we did: We cut it to one page" in page.locator("main").inner_text()
