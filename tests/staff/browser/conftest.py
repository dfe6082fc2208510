"""Browser fixtures for the staff pages: the shared live server and Chromium."""

import pytest

from tests.browser import conftest as shared

# The shared session fixtures: one live server and one Chromium for all browser tests here.
playwright_instance = shared.playwright_instance
browser = shared.browser
live_server = shared.live_server


@pytest.fixture
def page(browser):
    """A page under the real Content-Security-Policy."""
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()
