"""Who may open which staff page: every page against every role.

The pages and form posts come from the app's URL map, so a new page is in these tests
the moment it exists; only what a post needs to succeed is written here by hand.
"""

from __future__ import annotations

import re

import pytest

from tests.staff.conftest import fill as _fill
from tests.staff.conftest import state as _state

ROLES = ("anonymous", "worker", "other_coordinator", "coordinator", "admin")

# What each URL argument is in the scene (tests/staff/conftest.py): {p} project,
# {s} statement, {a} action, {r} review, {f} feedback, {pt} participant.
ARGUMENTS = {
    "project_id": ("{p}",),
    "statement_id": ("{s}",),
    "action_id": ("{a}",),
    "review_id": ("{r}",),
    "feedback_id": ("{f}",),
    "participant_id": ("{pt}",),
    "user_id": ("{worker_id}",),
    "stage": ("design",),
    "kind": ("answers", "feedback", "actions"),
}
# Editing a statement retires the one edited, so deactivating takes the second statement.
OTHER_ARGUMENTS = {"staff.deactivate_statement": {"statement_id": ("{s2}",)}}
PROJECT = "/staff/projects/<project_id>"
ADMIN = "/staff/admin/"
# A coordinator of the project gets 200 from every page but these.
COORDINATOR_STATUS = {"staff.feedback_current": 302}  # to the current stage's feedback
# Every form post in a project, with data that would succeed for its coordinator, in an
# order in which each still can (the action is unlinked before it is deleted).
STATEMENT = {"principle": "equality", "text": "I was heard.", "easy_read": "I was heard.", "symbol": "👂", "order": "3"}
PROJECT_POSTS = {
    "staff.set_stage": {"stage": "delivery"},
    "staff.rotate_join_code": {},
    "staff.add_staff": {"email": "{worker_email}"},
    "staff.remove_staff": {},
    "staff.project_details": {"d-organisation": "Short breaks team"},
    "staff.public_page": {"slug": "short-breaks", "intro": "What we changed.", "published": "y"},
    "staff.new_statement": STATEMENT,
    "staff.statement_translations": {"ur_text": "میری بات سنی گئی۔"},
    "staff.edit_statement": STATEMENT,
    "staff.deactivate_statement": {},
    "staff.link": {"action_id": "{a}", "feedback_ids": "{f}"},
    "staff.new_action": {"stage": "design", "heard": "Later buses", "status": "planned"},
    "staff.edit_action_page": {"heard": "Weekend clubs", "done": "Booked"},
    "staff.action_status": {"status": "done", "note": "Done."},
    "staff.action_progress": {"note": "Room booked."},
    "staff.unlink_action_feedback": {},
    "staff.delete_action_page": {},
    "staff.new_review": {"stage": "design", "date": "2026-11-20", "set_out": "Plan"},
    "staff.erase_participant": {"reason": "Asked by phone", "confirm": "y"},
    # Last: a closed project refuses every change above (reopening and archiving still work).
    "staff.close_project": {},
    "staff.archive_project": {},
    "staff.reopen_project": {},
}
ADMIN_POSTS = {
    "admin.invite": {"name": "N", "email": "n@example.org", "role": "worker"},
    "admin.account": {"role": "coordinator"},
    "admin.deactivate": {},
    "admin.reactivate": {},
    "admin.invite_again": {},
}


def _rules(app, method: str, prefix: str) -> dict[str, object]:
    """The app's rules for `method` under `prefix`, by endpoint."""
    return {
        rule.endpoint: rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and rule.rule.startswith(prefix)
    }


def _templates(rule) -> list[str]:
    """The rule as URL templates for `fill`, one for each value of each argument."""
    arguments = {**ARGUMENTS, **OTHER_ARGUMENTS.get(rule.endpoint, {})}
    unknown = set(rule.arguments) - set(arguments)
    assert not unknown, f"{rule.rule}: say in ARGUMENTS what {unknown} is in the scene"
    urls = [rule.rule]
    for name in sorted(rule.arguments):
        pattern = re.compile(rf"<(?:[^<>:]+:)?{name}>")
        urls = [pattern.sub(value, url) for url in urls for value in arguments[name]]
    return urls


def _pages(app, prefix: str) -> list[tuple[str, str]]:
    """(endpoint, URL template) for every GET page under `prefix`."""
    return [
        (endpoint, template)
        for endpoint, rule in sorted(_rules(app, "GET", prefix).items())
        for template in _templates(rule)
    ]


def _posts(app, prefix: str, data: dict[str, dict]) -> list[tuple[str, dict]]:
    """(URL template, form data) for every form post under `prefix`, in `data`'s order."""
    rules = _rules(app, "POST", prefix)
    assert set(rules) == set(data), f"say what a post to {set(rules) ^ set(data)} sends"
    return [(template, data[endpoint]) for endpoint in data for template in _templates(rules[endpoint])]


def test_the_pages_come_from_the_url_map(app):
    """A sanity check on the derivation: the pages a coordinator uses most are found."""
    pages = {template for _, template in _pages(app, PROJECT)}
    assert {
        "/staff/projects/{p}/stages/design/results",
        "/staff/projects/{p}/actions/{a}",
        "/staff/projects/{p}/export/answers.csv",
    } <= pages
    assert len(pages) >= 25
    assert len(_posts(app, PROJECT, PROJECT_POSTS)) == len(PROJECT_POSTS)


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
def test_every_page_for_every_role(app, web, scene, role):
    user = _user(scene, role)
    wrong = []
    for endpoint, template in _pages(app, PROJECT):
        url = _fill(template, scene)
        response = web.get(url, user)
        expected = _expected(role, COORDINATOR_STATUS.get(endpoint, 200))
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
def test_no_form_post_works_for_the_wrong_people(app, web, scene, role):
    user = _user(scene, role)
    before = _state()
    wrong = []
    for template, data in _posts(app, PROJECT, PROJECT_POSTS):
        url = _fill(template, scene)
        response = web.post(url, user, data={k: _fill(v, scene) for k, v in data.items()})
        if response.status_code != _expected(role, 0):
            wrong.append((url, response.status_code))
    assert not wrong
    assert _state() == before


def test_every_form_post_works_for_the_coordinator(app, web, scene):
    """The same posts succeed for the coordinator, so the refusals above mean something."""
    wrong = []
    for template, data in _posts(app, PROJECT, PROJECT_POSTS):
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
@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_are_for_admins_only(app, web, scene, role):
    from server.auth.models import User
    from server.extensions import db

    user = _user(scene, role)
    expected = {"anonymous": 302, "admin": 200}.get(role, 403)
    wrong = [
        (url, r.status_code)
        for url in (_fill(t, scene) for _, t in _pages(app, ADMIN))
        if (r := web.get(url, user)).status_code != expected
    ]
    assert not wrong
    if role == "admin":
        return
    roles_before = db.session.execute(db.select(User.id, User.role, User.active)).all()
    for template, data in _posts(app, ADMIN, ADMIN_POSTS):
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


@pytest.mark.parametrize(
    ("rule", "find"),
    [
        ("/accounts/<int:user_id>", None),  # no project in the address
        ("/projects/<project_id>/actions", lambda project_id, value: value),  # nothing for find to look up
    ],
)
def test_a_project_page_needs_the_project_first_in_its_address(rule, find):
    from server.staff.access import project_page

    with pytest.raises(ValueError, match="starts with <project_id>"):
        project_page(rule, find=find)
