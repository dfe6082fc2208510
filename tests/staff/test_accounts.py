"""Staff accounts: invitations by real e-mail, roles and projects, stopping an account."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from server.auth.models import User, utcnow

GOOD_PASSWORD = "lantern meadow quietly"


def _user(email):
    from server.extensions import db

    db.session.expire_all()
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _invite(web, two_projects, email="new.worker@example.org", role="worker"):
    return web.post(
        "/staff/admin/accounts/invite",
        two_projects["admin"],
        data={"name": "Nia New", "email": email, "role": role, "projects": [two_projects["project_id"]]},
    )


def test_invite_set_password_then_sign_in(app, web, two_projects, mailbox):
    assert _invite(web, two_projects).status_code == 302
    [message] = mailbox.wait_for("new.worker@example.org")
    assert message["Subject"] == "You are invited to WithUs"
    assert "72 hours" in mailbox.body(message)
    link = mailbox.link("new.worker@example.org")

    client = app.test_client()
    assert "Welcome to WithUs, Nia New" in client.get(link).get_data(as_text=True)
    response = client.post(link, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert response.status_code == 302

    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)

    signed_in = client.post("/staff/sign-in", data={"email": "new.worker@example.org", "password": GOOD_PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/staff/")
    page = client.get("/staff/").get_data(as_text=True)
    assert "Short breaks" in page and "Transport" not in page  # the project the invitation gave


# (password, what the page must say): hand-written from the rule (12+ characters, not common).
BAD_PASSWORDS = [
    ("short pass", "Use at least 12 characters"),
    ("qwerty123456", "one of the most common"),
    ("QWERTY123456", "one of the most common"),
    ("x" * 201, "at most 200"),
]


def test_a_bad_password_is_refused_by_the_field_and_nothing_saved(app, web, two_projects, mailbox):
    _invite(web, two_projects)
    link = mailbox.link("new.worker@example.org")
    client = app.test_client()
    for password, says in BAD_PASSWORDS:
        response = client.post(link, data={"password": password, "confirm": password})
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert says in page and 'id="password-error"' in page
        assert _user("new.worker@example.org").password_hash == ""
    mismatch = client.post(link, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD + "!"})
    assert "The two passwords are not the same" in mismatch.get_data(as_text=True)
    # Refusals do not spend the link.
    assert client.post(link, data={"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD}).status_code == 302


def test_an_invitation_expires_after_72_hours(app, web, two_projects, mailbox):
    _invite(web, two_projects)
    link = mailbox.link("new.worker@example.org")
    with time_machine.travel(utcnow() + timedelta(hours=71), tick=False):
        assert app.test_client().get(link).status_code == 200
    with time_machine.travel(utcnow() + timedelta(hours=72, minutes=1), tick=False):
        response = app.test_client().get(link)
        assert response.status_code == 410
        assert "This link has expired" in response.get_data(as_text=True)


def test_inviting_an_existing_address_says_so_and_adds_nobody(app, web, two_projects, mailbox):
    from server.extensions import db

    before = db.session.execute(select(func.count()).select_from(User)).scalar()
    response = _invite(web, two_projects, email=two_projects["worker"].email.upper())
    assert response.status_code == 400
    assert "already an account with that email" in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(User)).scalar() == before
    assert mailbox.messages == []


def test_stopping_an_account_ends_its_live_session_and_device(app, web, two_projects, client):
    worker = two_projects["worker"]
    browser = web.client(worker)
    assert web.get("/staff/", worker).status_code == 200
    token = client.post("/api/devices", json={"email": worker.email, "password": "correct horse battery"}).get_json()[
        "token"
    ]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=bearer).status_code == 200

    assert web.post(f"/staff/admin/accounts/{worker.id}/deactivate", two_projects["admin"]).status_code == 302

    assert web.get("/staff/", worker).status_code == 302
    assert client.get("/api/me", headers=bearer).status_code == 401
    assert (
        browser.post("/staff/sign-in", data={"email": worker.email, "password": "correct horse battery"}).status_code
        == 401
    )

    assert web.post(f"/staff/admin/accounts/{worker.id}/reactivate", two_projects["admin"]).status_code == 302
    fresh = app.test_client()
    assert (
        fresh.post("/staff/sign-in", data={"email": worker.email, "password": "correct horse battery"}).status_code
        == 302
    )
    # The old device token stays revoked: the app signs in again.
    assert client.get("/api/me", headers=bearer).status_code == 401


def test_role_and_projects_change_and_are_audited(app, web, two_projects):
    from server.extensions import db
    from server.staff.models import AuditLog

    worker = two_projects["worker"]
    response = web.post(
        f"/staff/admin/accounts/{worker.id}",
        two_projects["admin"],
        data={"role": "coordinator", "projects": [two_projects["other_project_id"]]},
    )
    assert response.status_code == 302
    assert _user(worker.email).role == "coordinator"
    actions = db.session.execute(
        select(AuditLog.action, AuditLog.project_id).where(AuditLog.subject_id == str(worker.id))
    ).all()
    assert set(actions) == {
        ("role_change", None),
        ("assign", two_projects["other_project_id"]),
        ("unassign", two_projects["project_id"]),
    }
    bad = web.post(
        f"/staff/admin/accounts/{worker.id}", two_projects["admin"], data={"role": "owner", "projects": ["nope"]}
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert "Choose a role from the list" in page and "Choose projects from the list" in page
    assert _user(worker.email).role == "coordinator"


def test_a_coordinator_adds_workers_to_their_own_projects_only(app, web, two_projects, make_user):
    new_worker = make_user("worker")
    coordinator = make_user("coordinator")
    own = f"/staff/projects/{two_projects['project_id']}/staff"
    refused = web.post(own, two_projects["coordinator"], data={"email": coordinator.email})
    assert refused.status_code == 400
    assert "add outreach workers only" in refused.get_data(as_text=True)
    assert web.post(own, two_projects["coordinator"], data={"email": new_worker.email}).status_code == 302
    others = f"/staff/projects/{two_projects['other_project_id']}/staff"
    assert web.post(others, two_projects["coordinator"], data={"email": new_worker.email}).status_code == 404
    assert web.post(own, two_projects["admin"], data={"email": coordinator.email}).status_code == 302
