"""Staff sessions end when the server says so: sign-out, a new password, a working day idle."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from server.auth.models import utcnow


def _export_url(two_projects):
    return f"/staff/projects/{two_projects['project_id']}/export/feedback.csv"


def _replay(app, cookie: str):
    """A new browser holding only a copied session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie, domain="localhost")
    return client


def test_a_cookie_saved_before_sign_out_no_longer_downloads_the_export(app, web, two_projects):
    client = web.client(two_projects["coordinator"])
    saved = client.get_cookie("session").value
    assert web.get(_export_url(two_projects), two_projects["coordinator"]).status_code == 200

    assert web.post("/staff/sign-out", two_projects["coordinator"]).status_code == 302

    web._clear()
    response = _replay(app, saved).get(_export_url(two_projects))
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_signing_out_ends_the_other_browsers_too(app, web, two_projects):
    from tests.staff.conftest import Web

    laptop = web
    phone = Web(app)
    phone.client(two_projects["coordinator"])
    assert phone.get(_export_url(two_projects), two_projects["coordinator"]).status_code == 200

    laptop.post("/staff/sign-out", two_projects["coordinator"])

    assert phone.get(_export_url(two_projects), two_projects["coordinator"]).status_code == 302


def test_a_session_ends_after_a_working_day_without_use(app, web, two_projects):
    web.client(two_projects["coordinator"])
    start = utcnow()
    with time_machine.travel(start + timedelta(hours=7), tick=False):
        # Still within the day: and using the page renews the session.
        assert web.get(_export_url(two_projects), two_projects["coordinator"]).status_code == 200
    with time_machine.travel(start + timedelta(hours=14), tick=False):
        assert web.get(_export_url(two_projects), two_projects["coordinator"]).status_code == 200
    with time_machine.travel(start + timedelta(hours=22, minutes=30), tick=False):
        response = web.get(_export_url(two_projects), two_projects["coordinator"])
        assert response.status_code == 302
        assert "/staff/sign-in" in response.headers["Location"]


def test_changing_the_password_ends_every_session_and_device(app, web, two_projects, client):
    from server.extensions import db

    other_browser = web.client(two_projects["coordinator"])
    saved = other_browser.get_cookie("session").value
    token = client.post(
        "/api/devices", json={"email": two_projects["coordinator"].email, "password": "correct horse battery"}
    ).get_json()["token"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code != 401

    response = web.post(
        "/staff/account/password",
        two_projects["coordinator"],
        data={
            "current": "correct horse battery",
            "password": "a new long passphrase",
            "confirm": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()

    web._clear()
    assert _replay(app, saved).get(_export_url(two_projects)).status_code == 302
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    fresh = app.test_client()
    email = two_projects["coordinator"].email
    ok = fresh.post("/staff/sign-in", data={"email": email, "password": "a new long passphrase"})
    assert ok.status_code == 302
