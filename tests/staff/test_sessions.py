"""Staff sessions end when the server says so: sign-out, a new password, a working day idle."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from server.auth.models import utcnow


def _export_url(world):
    return f"/staff/projects/{world['project_id']}/export/feedback.csv"


def _replay(app, cookie: str):
    """A new browser holding only a copied session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie, domain="localhost")
    return client


def test_a_cookie_saved_before_sign_out_no_longer_downloads_the_export(app, web, world):
    client = web.client(world["coordinator"])
    saved = client.get_cookie("session").value
    assert web.get(_export_url(world), world["coordinator"]).status_code == 200

    assert web.post("/staff/sign-out", world["coordinator"]).status_code == 302

    web._clear()
    response = _replay(app, saved).get(_export_url(world))
    assert response.status_code == 302
    assert "/staff/sign-in" in response.headers["Location"]


def test_signing_out_ends_the_other_browsers_too(app, web, world):
    from tests.staff.conftest import Web

    laptop = web
    phone = Web(app)
    phone.client(world["coordinator"])
    assert phone.get(_export_url(world), world["coordinator"]).status_code == 200

    laptop.post("/staff/sign-out", world["coordinator"])

    assert phone.get(_export_url(world), world["coordinator"]).status_code == 302


def test_a_session_ends_after_a_working_day_without_use(app, web, world):
    web.client(world["coordinator"])
    start = utcnow()
    with time_machine.travel(start + timedelta(hours=7), tick=False):
        # Still within the day: and using the page renews the session.
        assert web.get(_export_url(world), world["coordinator"]).status_code == 200
    with time_machine.travel(start + timedelta(hours=14), tick=False):
        assert web.get(_export_url(world), world["coordinator"]).status_code == 200
    with time_machine.travel(start + timedelta(hours=22, minutes=30), tick=False):
        response = web.get(_export_url(world), world["coordinator"])
        assert response.status_code == 302
        assert "/staff/sign-in" in response.headers["Location"]


def test_changing_the_password_ends_every_session_and_device(app, web, world, client):
    from server.extensions import db

    other_browser = web.client(world["coordinator"])
    saved = other_browser.get_cookie("session").value
    token = client.post(
        "/api/devices", json={"email": world["coordinator"].email, "password": "correct horse battery"}
    ).get_json()["token"]
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code != 401

    response = web.post(
        "/staff/account/password",
        world["coordinator"],
        data={
            "current": "correct horse battery",
            "password": "a new long passphrase",
            "confirm": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()

    web._clear()
    assert _replay(app, saved).get(_export_url(world)).status_code == 302
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    fresh = app.test_client()
    ok = fresh.post("/staff/sign-in", data={"email": world["coordinator"].email, "password": "a new long passphrase"})
    assert ok.status_code == 302
