"""'Forgot your password?': the same answer for every address, a one-hour link, everything signed out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from server.auth.models import utcnow

NEW_PASSWORD = "harbour kettle sunrise"


def _ask(client, email):
    return client.post("/staff/forgot-password", data={"email": email}, follow_redirects=True)


def test_the_answer_is_the_same_whether_or_not_the_address_exists(app, two_projects, mailbox):
    known = _ask(app.test_client(), two_projects["coordinator"].email)
    unknown = _ask(app.test_client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert "If that address belongs to a staff account" in known.get_data(as_text=True)
    assert len(mailbox.wait_for(two_projects["coordinator"].email)) == 1
    assert [m["To"] for m in mailbox.messages] == [two_projects["coordinator"].email]


def test_a_stopped_account_gets_no_link(app, web, two_projects, mailbox):
    web.post(f"/staff/admin/accounts/{two_projects['worker'].id}/deactivate", two_projects["admin"])
    _ask(app.test_client(), two_projects["worker"].email)
    _ask(app.test_client(), two_projects["coordinator"].email)
    mailbox.wait_for(two_projects["coordinator"].email)
    assert all(two_projects["worker"].email not in m["To"] for m in mailbox.messages)


def test_reset_ends_every_session_and_device_and_the_link_works_once(app, web, two_projects, mailbox, client):
    coordinator = two_projects["coordinator"]
    browser = web.client(coordinator)
    saved = browser.get_cookie("session").value
    token = client.post("/api/devices", json={"email": coordinator.email, "password": "correct horse battery"})
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}

    _ask(app.test_client(), coordinator.email)
    link = mailbox.link(coordinator.email)
    assert "within 1 hour" in mailbox.body(mailbox.messages[-1])
    stranger = app.test_client()
    assert stranger.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302

    web._clear()
    replay = app.test_client()
    replay.set_cookie("session", saved, domain="localhost")
    assert replay.get(f"/staff/projects/{two_projects['project_id']}").status_code == 302
    assert client.get("/api/me", headers=bearer).status_code == 401
    reused = stranger.post(link, data={"password": "another fine passphrase", "confirm": "another fine passphrase"})
    assert reused.status_code == 410 and "already been used" in reused.get_data(as_text=True)
    old = app.test_client().post(
        "/staff/sign-in", data={"email": coordinator.email, "password": "correct horse battery"}
    )
    assert old.status_code == 401
    new = app.test_client().post("/staff/sign-in", data={"email": coordinator.email, "password": NEW_PASSWORD})
    assert new.status_code == 302


def test_a_reset_link_lasts_one_hour(app, two_projects, mailbox):
    _ask(app.test_client(), two_projects["coordinator"].email)
    link = mailbox.link(two_projects["coordinator"].email)
    with time_machine.travel(utcnow() + timedelta(minutes=59), tick=False):
        assert app.test_client().get(link).status_code == 200
    with time_machine.travel(utcnow() + timedelta(minutes=61), tick=False):
        response = app.test_client().get(link)
        assert response.status_code == 410 and "This link has expired" in response.get_data(as_text=True)


def test_a_newer_link_replaces_the_older_one(app, two_projects, mailbox):
    email = two_projects["coordinator"].email
    _ask(app.test_client(), email)
    first = mailbox.link(email)
    _ask(app.test_client(), email)
    second = mailbox.link(email, count=2)
    assert first != second
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200


def test_a_made_up_link_says_so(app):
    response = app.test_client().get("/staff/set-password?token=made-up")
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)


def test_forgot_password_form_errors_sit_by_the_field(app, mailbox):
    response = app.test_client().post("/staff/forgot-password", data={"email": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and "Enter your email address" in page
    assert mailbox.messages == []


@pytest.mark.app_config(MAIL_BACKEND="console")
def test_on_one_machine_the_link_is_printed_instead_of_sent(app, two_projects, capsys):
    _ask(app.test_client(), two_projects["coordinator"].email)
    printed = capsys.readouterr().err
    assert f"e-mail to {two_projects['coordinator'].email}" in printed
    assert "/staff/set-password?token=" in printed


def test_changing_your_password_needs_the_current_one(app, web, two_projects):
    coordinator = two_projects["coordinator"]
    data = {"current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = web.post("/staff/account/password", coordinator, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="current-error"' in page and "That is not your password now" in page
    # Nothing changed: the old password still works, and this session is still signed in.
    assert web.get("/staff/account", coordinator).status_code == 200
    old = app.test_client().post(
        "/staff/sign-in", data={"email": coordinator.email, "password": "correct horse battery"}
    )
    assert old.status_code == 302
