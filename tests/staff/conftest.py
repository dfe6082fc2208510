"""Fixtures for the staff pages: two projects, staff in every role, clients signed in as each."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import type_two_step_code
from tests.factories import checklist_answer


@pytest.fixture(autouse=True)
def _requests_forget_the_signed_in_user(app):
    """Each test request starts with no cached user, as each real request does.

    The test's app context outlives every request, so Flask-Login's cached user in ``g``
    would otherwise leak from one test client to another.
    """
    from flask.testing import FlaskClient

    class FreshClient(FlaskClient):
        def open(self, *args, **kwargs):
            from flask import g

            g.pop("_login_user", None)
            try:
                return super().open(*args, **kwargs)
            finally:
                g.pop("_login_user", None)

    app.test_client_class = FreshClient


@pytest.fixture
def two_projects(app, make_user):
    """Two projects with their own coordinators; a worker on the first; an admin."""
    from server.domain import projects
    from server.extensions import db

    coordinator = make_user("coordinator")
    worker = make_user("worker")
    other = make_user("coordinator")
    admin = make_user("admin")
    project_id = projects.create_project("Short breaks", "Summer plans together.", 4, coordinator, workers=[worker])
    other_project_id = projects.create_project("Transport", "School transport review.", 3, other)
    db.session.commit()
    return {
        "project_id": project_id,
        "other_project_id": other_project_id,
        "coordinator": coordinator,
        "worker": worker,
        "other": other,
        "admin": admin,
    }


class Web:
    """Requests as a given staff member (None: nobody signed in), one client each.

    The test's app context outlives every request, so Flask-Login's cached user
    in ``g`` is cleared around each request.
    """

    def __init__(self, app):
        self.app = app
        self.clients = {}

    def client(self, user):
        key = None if user is None else user.id
        if key not in self.clients:
            client = self.app.test_client()
            if user is not None:
                self._clear()
                response = client.post(
                    "/staff/sign-in",
                    data={"email": user.email, "password": "correct horse battery"},
                )
                assert response.status_code == 302
                self._clear()
                type_two_step_code(client, user, response)
                self._clear()
            self.clients[key] = client
        return self.clients[key]

    @staticmethod
    def _clear():
        from flask import g

        g.pop("_login_user", None)

    def open(self, method, url, user=None, **kwargs):
        client = self.client(user)
        self._clear()
        try:
            response = client.open(url, method=method, **kwargs)
            # Read streamed bodies (CSV) now, inside this request's context, and close them.
            response.get_data()
            response.close()
            return response
        finally:
            self._clear()

    def get(self, url, user=None, **kwargs):
        return self.open("GET", url, user, **kwargs)

    def post(self, url, user=None, **kwargs):
        return self.open("POST", url, user, **kwargs)


@pytest.fixture
def web(app):
    return Web(app)


def add_participant(project_id: str, role: str = "parent_carer", *, consent: bool = True) -> str:
    """Write a participant (and their consent) as the server would after a sync push."""
    from server.domain import projects
    from server.domain.types import consent_id

    pid = str(uuid.uuid4())
    items = [
        (
            "participant",
            pid,
            {
                "project_id": project_id,
                "role": role,
                "age_band": "26_or_over" if role in ("parent_carer", "professional") else "13_to_17",
                "display_name": "Sam Example",
            },
        )
    ]
    if consent:
        items.append(
            (
                "consent",
                consent_id(pid, project_id),
                {
                    "participant_id": pid,
                    "project_id": project_id,
                    "notice_version": "1",
                    "given_by": "self" if role in ("parent_carer", "professional") else "parent_carer",
                    "given_at": "2026-11-01T10:00:00+00:00",
                    "withdrawn_at": None,
                },
            )
        )
    outcomes = projects.write_records(items)
    assert all(o.status == "applied" for o in outcomes), outcomes
    return pid


def statement_ids(project_id: str, limit: int | None = None) -> list[str]:
    """The ids of the project's statements, in checklist order."""
    from server.domain.models import Statement
    from server.extensions import db

    query = select(Statement.id).where(Statement.project_id == project_id).order_by(Statement.order)
    return db.session.execute(query.limit(limit)).scalars().all()


def add_feedback(project_id: str, participant_id: str, text: str, stage: str = "design") -> str:
    from server.domain import projects

    fid = str(uuid.uuid4())
    projects.write_record(
        "feedback",
        fid,
        {
            "participant_id": participant_id,
            "project_id": project_id,
            "stage": stage,
            "text": text,
            "principle": None,
            "mode": "self",
            "recorded_by": None,
        },
    )
    return fid


def add_answer(project_id, participant_id, statement_id, value, stage="design", **extra):
    """Write a checklist answer as the server would after a sync push."""
    from server.domain import projects

    rid, values = checklist_answer(
        participant_id, project_id, statement_id, value=value, stage=stage, recorded_by=None, **extra
    )
    projects.write_record("checklist_answer", rid, values)


def subscribe(participant_id: str, project_id: str) -> int:
    """Give a participant a phone with a push subscription; return the subscription id."""
    from server.auth.devices import PARTICIPANT, issue_device
    from server.extensions import db
    from server.push.models import PushSubscription

    device, _ = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project_id)
    db.session.flush()
    sub = PushSubscription(
        device_id=device.id,
        endpoint=f"https://push.example.org/{uuid.uuid4()}",
        p256dh="BPub",
        auth="auth",
        notify="all",
    )
    db.session.add(sub)
    db.session.flush()
    return sub.id


def long_ago(days: float) -> datetime:
    from server.auth.models import utcnow

    return utcnow() - timedelta(days=days)


@pytest.fixture
def scene(app, two_projects):
    """Both projects plus a statement, feedback, an action, a review and a join code to point
    pages at."""
    from server.domain import codes, projects
    from server.extensions import db

    pid = two_projects["project_id"]
    statement_id, second_id = statement_ids(pid, limit=2)
    child = add_participant(pid, "child")
    feedback_id = add_feedback(pid, child, "More Saturday clubs")
    action_id, review_id = str(uuid.uuid4()), str(uuid.uuid4())
    projects.write_record(
        "action",
        action_id,
        {
            "project_id": pid,
            "stage": "design",
            "heard": "Saturdays",
            "done": "",
            "status": "planned",
            "reason": None,
            "feedback_ids": [],
            "timeline": [],
        },
    )
    projects.write_record(
        "review",
        review_id,
        {
            "project_id": pid,
            "stage": "design",
            "date": "2026-11-01",
            "set_out": "Plan",
            "roles": {},
            "snapshot": {},
        },
    )
    codes.new_join_code(pid)  # the poster shows it
    db.session.commit()
    return {
        **two_projects,
        "s": statement_id,
        "s2": second_id,
        "f": feedback_id,
        "pt": child,
        "a": action_id,
        "r": review_id,
    }


def fill(template: str, scene) -> str:
    return template.format(
        p=scene["project_id"],
        s=scene["s"],
        s2=scene["s2"],
        a=scene["a"],
        r=scene["r"],
        f=scene["f"],
        worker_id=scene["worker"].id,
        other_email=scene["other"].email,
        worker_email=scene["worker"].email,
        pt=scene["pt"],
    )


def state():
    """Everything a staff page could change."""
    from server.domain.models import JoinCode, ProjectStaff
    from server.extensions import db
    from server.push.models import Notification
    from sync.schema import records

    return (
        db.session.execute(select(func.count(), func.max(records.c.change_no))).one(),
        db.session.execute(select(func.count()).select_from(ProjectStaff)).scalar(),
        db.session.execute(
            select(func.count(), func.max(JoinCode.created_at)).where(JoinCode.revoked_at.is_(None))
        ).one(),
        db.session.execute(select(func.count()).select_from(Notification)).scalar(),
    )
