"""Invite -> set password -> two-step sign-in, in Chromium, with real e-mail; axe on every new page."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.browser.conftest import LiveServer, assert_no_axe_violations
from tests.conftest import Mailbox, smtp_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as box:
        yield box


def _choose_password(page, password: str) -> None:
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Type the new password again").fill(password)
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_load_state()


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory, smtp):
    """WithUs with its e-mail going to the loopback SMTP server."""
    server = LiveServer(
        tmp_path_factory.mktemp("live-admin"),
        extra_env={"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_BACKEND": "smtp"},
    )
    server.prepare()
    server.start()
    yield server
    server.stop()


def _fresh_code(secret: str, used: set) -> str:
    """The app's current code, waiting (polled against a deadline) for a new one if it was used."""
    deadline = time.monotonic() + 40
    while True:
        code = pyotp.TOTP(secret).now()
        if code not in used or time.monotonic() > deadline:
            used.add(code)
            return code
        time.sleep(0.5)


def _set_up_two_step(page, used) -> list[str]:
    assert page.get_by_role("heading", name="Set up two-step sign-in").is_visible()
    assert page.locator("figure.qr svg").count() == 1
    assert_no_axe_violations(page)
    secret = page.locator("code.join-code").inner_text().strip()
    page.get_by_label("Code").fill(_fresh_code(secret, used))
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Two-step sign-in is on").is_visible()
    assert_no_axe_violations(page)
    return secret


def _sign_in(page, url, email, password):
    page.goto(url + "/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_invite_set_password_and_two_step_sign_in(browser, mail_server, smtp):
    url, used = mail_server.url, set()
    admin = browser.new_context(locale="en-GB").new_page()
    _sign_in(admin, url, "admin@demo.withus", mail_server.password)
    _set_up_two_step(admin, used)
    admin.get_by_role("link", name="I have saved my codes").click()

    for path in ("/staff/admin/accounts", "/staff/admin/audit", "/staff/admin/retention", "/staff/account"):
        assert admin.goto(url + path).status == 200, path
        assert_no_axe_violations(admin)

    admin.goto(url + "/staff/admin/accounts/invite")
    admin.get_by_role("button", name="Send the invitation").click()  # empty: errors by the fields
    admin.wait_for_load_state()
    assert "Enter the person's name." in admin.get_by_role("alert").inner_text()
    assert_no_axe_violations(admin)
    admin.get_by_label("Name").fill("Asha Admin")
    admin.get_by_label("Email address").fill("asha@example.org")
    admin.get_by_label("Role").select_option("admin")
    admin.get_by_role("button", name="Send the invitation").click()
    admin.wait_for_load_state()
    assert "We have sent Asha Admin an invitation" in admin.get_by_role("status").inner_text()

    link = re.search(r"http://\S+", Mailbox.body(smtp.wait_for("asha@example.org")[-1])).group(0)
    invitee = browser.new_context(locale="en-GB").new_page()
    invitee.goto(link)
    assert invitee.get_by_role("heading", name="Welcome to WithUs, Asha Admin").is_visible()
    assert_no_axe_violations(invitee)
    _choose_password(invitee, "too short")
    assert "Use at least 12 characters" in invitee.get_by_role("alert").inner_text()
    assert_no_axe_violations(invitee)
    _choose_password(invitee, "copper lantern winter")
    assert "Your password is set" in invitee.get_by_role("status").inner_text()

    # An admin must set up two steps on first sign-in, then gives a code every time.
    _sign_in(invitee, url, "asha@example.org", "copper lantern winter")
    secret = _set_up_two_step(invitee, used)
    invitee.get_by_role("link", name="I have saved my codes").click()
    invitee.wait_for_load_state()
    invitee.get_by_role("button", name=re.compile("Sign out")).click()
    invitee.wait_for_load_state()
    _sign_in(invitee, url, "asha@example.org", "copper lantern winter")
    assert invitee.get_by_role("heading", name="Enter your code").is_visible()
    assert_no_axe_violations(invitee)
    invitee.get_by_label("Code").fill(_fresh_code(secret, used))
    invitee.get_by_role("button", name="Sign in").click()
    invitee.wait_for_load_state()
    assert invitee.get_by_role("link", name="Staff accounts").is_visible()

    # The used link now says so plainly.
    invitee.goto(link)
    assert "This link has already been used" in invitee.locator("main").inner_text()
    assert_no_axe_violations(invitee)


def test_forgot_password_and_erasure_pages_pass_axe(browser, mail_server, smtp):
    url = mail_server.url
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(url + "/staff/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)
    page.get_by_label("Email address").fill("coordinator@demo.withus")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_load_state()
    assert "If that address belongs to a staff account" in page.get_by_role("status").inner_text()
    assert smtp.wait_for("coordinator@demo.withus")

    _sign_in(page, url, "coordinator@demo.withus", mail_server.password)
    page.get_by_role("link", name=re.compile("Short breaks")).first.click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)  # the project page, with its closing section
    page.get_by_role("link", name="Participants").click()
    page.wait_for_load_state()
    assert_no_axe_violations(page)
    page.get_by_role("link", name=re.compile("^Erase")).first.click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Erase for good").click()
    page.wait_for_load_state()
    assert "Tick the box to confirm" in page.get_by_role("alert").inner_text()
    assert_no_axe_violations(page)
