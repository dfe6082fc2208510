"""Closing a project makes it read-only; purge-retention erases its people after the retention time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from server.auth.models import utcnow
from tests.staff.conftest import add_feedback, add_participant


def _close(web, two_projects):
    return web.post(f"/staff/projects/{two_projects['project_id']}/close", two_projects["coordinator"])


def test_a_closed_project_is_read_only_for_every_form(app, web, two_projects):
    from server.domain.models import Project
    from server.extensions import db
    from tests.staff.conftest import state

    assert _close(web, two_projects).status_code == 302
    db.session.expire_all()
    assert db.session.get(Project, two_projects["project_id"]).status == "closed"
    before = state()
    p = two_projects["project_id"]
    for url, data in [
        (f"/staff/projects/{p}/stage", {"stage": "delivery"}),
        (f"/staff/projects/{p}/join-code", {}),
        (f"/staff/projects/{p}/actions/new", {"stage": "design", "heard": "x", "status": "planned"}),
    ]:
        response = web.post(url, two_projects["coordinator"], data=data)
        assert response.status_code == 409, url
        assert "is closed" in response.get_data(as_text=True)
    assert state() == before
    # Reading still works.
    assert web.get(f"/staff/projects/{p}/export/feedback.csv", two_projects["coordinator"]).status_code == 200
    # Strangers learn nothing new: still 404.
    assert web.post(f"/staff/projects/{p}/stage", two_projects["other"], data={"stage": "review"}).status_code == 404
    # Opening it again lets changes through.
    assert web.post(f"/staff/projects/{p}/reopen", two_projects["coordinator"]).status_code == 302
    delivery = {"stage": "delivery"}
    assert web.post(f"/staff/projects/{p}/stage", two_projects["coordinator"], data=delivery).status_code == 302


def _purge(app):
    return app.test_cli_runner().invoke(args=["purge-retention"])


def test_purge_erases_a_closed_projects_people_after_the_retention_time(app, web, two_projects):
    from server.domain.models import Feedback, Participant, Project
    from server.extensions import db

    closed = add_participant(two_projects["project_id"])
    add_feedback(two_projects["project_id"], closed, "Closed project feedback")
    open_one = add_participant(two_projects["other_project_id"])
    db.session.commit()
    closed_on = utcnow()
    _close(web, two_projects)
    archive = f"/staff/projects/{two_projects['project_id']}/archive"
    assert web.post(archive, two_projects["coordinator"]).status_code == 302
    assert "Short breaks" not in web.get("/staff/", two_projects["coordinator"]).get_data(as_text=True)

    page = web.get("/staff/admin/retention", two_projects["admin"]).get_data(as_text=True)
    assert "Short breaks" in page and "Kept until then" in page and "Transport" not in page

    with time_machine.travel(closed_on + timedelta(days=729), tick=False):
        result = _purge(app)
        assert result.exit_code == 0
        assert "Nothing to erase" in result.output
    db.session.expire_all()
    assert db.session.get(Participant, closed) is not None

    with time_machine.travel(closed_on + timedelta(days=730, minutes=1), tick=False):
        result = _purge(app)
    assert result.exit_code == 0, result.output
    # Their participant record, consent and feedback.
    assert f"Erased 1 participant (3 entries) of project {two_projects['project_id']}" in result.output
    db.session.expire_all()
    assert db.session.get(Participant, closed) is None
    assert db.session.execute(sa.select(Feedback).where(Feedback.participant_id == closed)).first() is None
    assert db.session.get(Participant, open_one) is not None  # an open project keeps its people
    page = web.get("/staff/admin/retention", two_projects["admin"]).get_data(as_text=True)
    assert "Erased on" in page
    # Run again: nothing more to do; a purged project cannot be reopened.
    assert "Nothing to erase" in _purge(app).output
    web.post(f"/staff/projects/{two_projects['project_id']}/reopen", two_projects["coordinator"])
    db.session.expire_all()
    assert db.session.get(Project, two_projects["project_id"]).status == "closed"


@pytest.mark.app_config(RETENTION_DAYS=30)
def test_the_retention_time_is_a_setting(app, web, two_projects):
    from server.domain.models import Participant
    from server.extensions import db

    pid = add_participant(two_projects["project_id"])
    db.session.commit()
    closed_on = utcnow()
    _close(web, two_projects)
    page = web.get("/staff/admin/retention", two_projects["admin"]).get_data(as_text=True)
    assert (closed_on + timedelta(days=30)).strftime("%-d %B %Y") in page
    with time_machine.travel(closed_on + timedelta(days=30, minutes=1), tick=False):
        assert "Erased 1 participant (" in _purge(app).output
    db.session.expire_all()
    assert db.session.get(Participant, pid) is None


def test_families_cannot_join_a_closed_project(app, web, two_projects, client):
    from server.domain import codes
    from server.extensions import db

    code = codes.new_join_code(two_projects["project_id"])
    db.session.commit()
    _close(web, two_projects)
    response = client.post("/api/join", json={"code": code})
    assert response.status_code == 410
    assert "closed" in response.get_json()["error"]["message"]
