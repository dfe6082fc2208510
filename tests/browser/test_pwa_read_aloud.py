"""Read aloud: a speaker button reads the statement in the app's language, where a voice exists."""

import pytest

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_pwa import join_as_family, open_app, wait_heading, wait_until
from tests.browser.test_pwa_my_entries import switch_language

pytestmark = pytest.mark.browser

# Headless Chromium here has no speech voices. To see the button work, this stands in for
# the system's voices (English and Urdu) and records what would be spoken.
VOICES = """
(() => {
  const voices = [{lang: 'en-GB', name: 'English', default: true}, {lang: 'ur-PK', name: 'Urdu'}];
  window.__spoken = [];
  speechSynthesis.getVoices = () => voices;
  speechSynthesis.speak = (u) => window.__spoken.push({text: u.text, lang: u.lang});
  speechSynthesis.cancel = () => {};
})();
"""


def test_no_speaker_button_without_a_voice(page, live_server):
    join_as_family(page, live_server)
    open_app(page, live_server.url, "checklist/1")
    wait_heading(page, "Question 1 of")
    page.locator("button.read-aloud[data-voice]").wait_for(state="attached")
    has_voices = page.evaluate("speechSynthesis.getVoices().length > 0")
    assert page.get_by_role("button", name="Read aloud").is_visible() is has_voices


def test_speaker_reads_the_statement_and_easy_read_in_urdu(browser, live_server):
    context = browser.new_context(locale="en-GB")
    context.add_init_script(VOICES)
    page = context.new_page()
    try:
        join_as_family(page, live_server)
        open_app(page, live_server.url, "checklist/1")
        wait_heading(page, "Question 1 of")
        page.get_by_role("button", name="Read aloud").click()
        wait_until(page, "window.__spoken.length === 1")
        assert page.evaluate("window.__spoken") == [
            {"text": "I felt welcome, whoever I am and wherever I come from.", "lang": "en-GB"}
        ]
        switch_language(page, live_server.url, "ur", "ترتیبات")
        open_app(page, live_server.url, "checklist/1")
        # The checklist's own legend: the Settings screen just left has legends of its own.
        page.locator("main legend .statement-text").wait_for()
        page.locator("#easy-read").check()
        button = page.get_by_role("button", name="بلند آواز سے پڑھیں")
        button.click()
        wait_until(page, "window.__spoken.length === 2")
        spoken = page.evaluate("window.__spoken")[-1]
        assert spoken["lang"] == "ur-PK"
        assert spoken["text"] == page.locator("main legend .statement-text").inner_text()
        assert spoken["text"] == "مجھے یہاں خوش آمدید محسوس ہوا۔"
        assert_no_axe_violations(page)
    finally:
        context.close()
