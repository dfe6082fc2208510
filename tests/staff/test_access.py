"""Who may open which staff page: every page against every role."""

from __future__ import annotations

import pytest

from tests.staff.conftest import fill as _fill
from tests.staff.conftest import state as _state

ROLES = ("anonymous", "worker", "other_coordinator", "coordinator", "admin")

# (path template, status for a coordinator of the project); {p} project, {s} statement,
# {a} action, {r} review. Every GET page of the staff area is here.
PROJECT_PAGES = [
    ("/staff/projects/{p}", 200),
    ("/staff/projects/{p}/statements", 200),
    ("/staff/projects/{p}/statements/new", 200),
    ("/staff/projects/{p}/statements/{s}/edit", 200),
    ("/staff/projects/{p}/results", 200),
    ("/staff/projects/{p}/stages/design/results", 200),
    ("/staff/projects/{p}/stages/delivery/report", 200),
    ("/staff/projects/{p}/stages/design/comments", 200),
    ("/staff/projects/{p}/feedback", 302),
    ("/staff/projects/{p}/stages/design/feedback", 200),
    ("/staff/projects/{p}/actions", 200),
    ("/staff/projects/{p}/actions/new", 200),
    ("/staff/projects/{p}/actions/{a}", 200),
    ("/staff/projects/{p}/reviews", 200),
    ("/staff/projects/{p}/reviews/new", 200),
    ("/staff/projects/{p}/reviews/{r}", 200),
    ("/staff/projects/{p}/exports", 200),
    ("/staff/projects/{p}/export/answers.csv", 200),
    ("/staff/projects/{p}/export/feedback.csv", 200),
    ("/staff/projects/{p}/export/actions.csv", 200),
    ("/staff/projects/{p}/export/project.xlsx", 200),
    ("/staff/projects/{p}/participants", 200),
    ("/staff/projects/{p}/participants/{pt}/erase", 200),
]
# Every form post, with data that would succeed for the project's coordinator.
PROJECT_POSTS = [
    ("/staff/projects/{p}/stage", {"stage": "delivery"}),
    ("/staff/projects/{p}/join-code", {}),
    ("/staff/projects/{p}/staff", {"email": "{worker_email}"}),
    ("/staff/projects/{p}/staff/{worker_id}/remove", {}),
    (
        "/staff/projects/{p}/statements/new",
        {
            "principle": "equality",
            "text": "I was heard.",
            "easy_read": "I was heard.",
            "symbol": "👂",
            "order": "3",
        },
    ),
    (
        "/staff/projects/{p}/statements/{s}/edit",
        {
            "principle": "equality",
            "text": "I was heard.",
            "easy_read": "I was heard.",
            "symbol": "👂",
            "order": "3",
        },
    ),
    ("/staff/projects/{p}/statements/{s2}/deactivate", {}),
    (
        "/staff/projects/{p}/stages/design/feedback/link",
        {"action_id": "{a}", "feedback_ids": "{f}"},
    ),
    (
        "/staff/projects/{p}/actions/new",
        {"stage": "design", "heard": "Later buses", "status": "planned"},
    ),
    ("/staff/projects/{p}/actions/{a}/status", {"status": "done", "note": "Done."}),
    (
        "/staff/projects/{p}/reviews/new",
        {"stage": "design", "date": "2026-11-20", "set_out": "Plan"},
    ),
    ("/staff/projects/{p}/participants/{pt}/erase", {"reason": "Asked by phone", "confirm": "y"}),
    # Last: a closed project refuses every change above (reopening and archiving still work).
    ("/staff/projects/{p}/close", {}),
    ("/staff/projects/{p}/archive", {}),
    ("/staff/projects/{p}/reopen", {}),
]


def _user(scene, role):
    return {
        "anonymous": None,
        "worker": scene["worker"],
        "other_coordinator": scene["other"],
        "coordinator": scene["coordinator"],
        "admin": scene["admin"],
    }[role]


def _expected(role: str, ok: int) -> int:
    return {"anonymous": 302, "worker": 403, "other_coordinator": 404}.get(role, ok)


@pytest.mark.parametrize("role", ROLES)
def test_every_page_for_every_role(web, scene, role):
    user = _user(scene, role)
    wrong = []
    for template, ok in PROJECT_PAGES:
        url = _fill(template, scene)
        response = web.get(url, user)
        expected = _expected(role, ok)
        if response.status_code != expected:
            wrong.append((url, response.status_code, expected))
        elif role == "anonymous" and "/staff/sign-in" not in response.headers["Location"]:
            wrong.append((url, response.headers["Location"], "sign-in"))
    assert not wrong


@pytest.mark.parametrize("role", ROLES)
def test_projects_list_and_create_page(web, scene, role):
    user = _user(scene, role)
    index = web.get("/staff/", user)
    create = web.get("/staff/projects/new", user)
    if role == "anonymous":
        assert index.status_code == create.status_code == 302
        return
    assert index.status_code == 200
    page = index.get_data(as_text=True)
    if role in ("coordinator", "admin", "worker"):
        assert "Short breaks" in page
    if role == "other_coordinator":
        assert "Short breaks" not in page and "Transport" in page
    if role == "admin":
        assert "Transport" in page
    if role == "worker":
        # A plain list: no links into results or personal data.
        assert f"/staff/projects/{scene['project_id']}" not in page
        assert create.status_code == 403
    else:
        assert create.status_code == 200


@pytest.mark.parametrize("role", ("anonymous", "worker", "other_coordinator"))
def test_no_form_post_works_for_the_wrong_people(web, scene, role):
    user = _user(scene, role)
    before = _state()
    wrong = []
    for template, data in PROJECT_POSTS:
        url = _fill(template, scene)
        response = web.post(url, user, data={k: _fill(v, scene) for k, v in data.items()})
        if response.status_code != _expected(role, 0):
            wrong.append((url, response.status_code))
    assert not wrong
    assert _state() == before


def test_every_form_post_works_for_the_coordinator(web, scene):
    """The same posts succeed for the coordinator, so the refusals above mean something."""
    wrong = []
    for template, data in PROJECT_POSTS:
        url = _fill(template, scene)
        response = web.post(url, scene["coordinator"], data={k: _fill(v, scene) for k, v in data.items()})
        if response.status_code != 302:
            wrong.append((url, response.status_code, response.get_data(as_text=True)[:200]))
    assert not wrong


def test_admin_sees_any_project_without_being_on_it(web, scene):
    response = web.get(f"/staff/projects/{scene['other_project_id']}/stages/design/results", scene["admin"])
    assert response.status_code == 200


def test_inactive_coordinator_is_signed_out(web, scene):
    from server.extensions import db

    client = web.client(scene["coordinator"])
    scene["coordinator"].active = False
    db.session.commit()
    web._clear()
    response = client.get(f"/staff/projects/{scene['project_id']}")
    assert response.status_code == 302


# Admins' pages: every other role is refused, strangers are sent to sign in.
ADMIN_PAGES = [
    "/staff/admin/accounts",
    "/staff/admin/accounts/invite",
    "/staff/admin/accounts/{worker_id}",
    "/staff/admin/audit",
    "/staff/admin/audit.csv",
    "/staff/admin/retention",
]
ADMIN_POSTS = [
    ("/staff/admin/accounts/invite", {"name": "N", "email": "n@example.org", "role": "worker"}),
    ("/staff/admin/accounts/{worker_id}", {"role": "coordinator"}),
    ("/staff/admin/accounts/{worker_id}/deactivate", {}),
    ("/staff/admin/accounts/{worker_id}/reactivate", {}),
    ("/staff/admin/accounts/{worker_id}/invite-again", {}),
]


@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_are_for_admins_only(web, scene, role):
    from server.auth.models import User
    from server.extensions import db

    user = _user(scene, role)
    expected = {"anonymous": 302, "admin": 200}.get(role, 403)
    wrong = [
        (url, r.status_code)
        for url in (_fill(t, scene) for t in ADMIN_PAGES)
        if (r := web.get(url, user)).status_code != expected
    ]
    assert not wrong
    if role == "admin":
        return
    roles_before = db.session.execute(db.select(User.id, User.role, User.active)).all()
    for template, data in ADMIN_POSTS:
        response = web.post(_fill(template, scene), user, data=data)
        if response.status_code != expected:
            wrong.append((template, response.status_code))
    assert not wrong
    db.session.expire_all()
    assert db.session.execute(db.select(User.id, User.role, User.active)).all() == roles_before


@pytest.mark.parametrize("role", ROLES)
def test_own_account_pages_for_every_signed_in_role(web, scene, role):
    user = _user(scene, role)
    assert web.get("/staff/account", user).status_code == (302 if role == "anonymous" else 200)
    setup = web.get("/staff/account/two-step", user)
    # Admins already use two steps (they must): the set-up page sends them back to their account.
    assert setup.status_code == {"anonymous": 302, "admin": 302}.get(role, 200)
    if role == "admin":
        assert setup.headers["Location"].endswith("/staff/account")
