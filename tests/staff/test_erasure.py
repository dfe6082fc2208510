"""Erasure on request from the staff pages: a reason, a confirmation, and nothing left behind."""

from __future__ import annotations

import sqlalchemy as sa

from tests.staff.conftest import add_answer, add_feedback, add_participant, subscribe

SECRET_TEXT = "My son Theo hates the Tuesday bus"


def _everything_stored_as_text() -> str:
    """Every value of every table, as one string: the erased words must appear nowhere."""
    from server.extensions import db

    tables = sa.MetaData()
    tables.reflect(bind=db.session.connection())
    parts = []
    for table in tables.sorted_tables:
        for row in db.session.execute(sa.select(table)).all():
            parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)


def _family(two_projects):
    from server.domain.models import Statement
    from server.extensions import db

    pid = add_participant(two_projects["project_id"], "parent_carer")
    statement_id = db.session.execute(
        sa.select(Statement.id).where(Statement.project_id == two_projects["project_id"]).limit(1)
    ).scalar()
    add_answer(two_projects["project_id"], pid, statement_id, "disagree")
    add_feedback(two_projects["project_id"], pid, SECRET_TEXT)
    sub_id = subscribe(pid, two_projects["project_id"])
    db.session.commit()
    return pid, sub_id


def test_a_coordinator_erases_a_participant_and_nothing_is_left(app, web, two_projects):
    from server.auth.devices import Device
    from server.extensions import db
    from server.push.models import PushSubscription
    from server.staff.models import AuditLog
    from sync.schema import records

    pid, sub_id = _family(two_projects)
    coordinator = two_projects["coordinator"]
    listing = web.get(f"/staff/projects/{two_projects['project_id']}/participants", coordinator)
    assert listing.status_code == 200 and f"<code>{pid[:8]}</code>" in listing.get_data(as_text=True)
    assert SECRET_TEXT in _everything_stored_as_text()

    url = f"/staff/projects/{two_projects['project_id']}/participants/{pid}/erase"
    refused = web.post(url, coordinator, data={"reason": "", "confirm": ""})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'id="reason-error"' in page and 'id="confirm-error"' in page
    assert SECRET_TEXT in _everything_stored_as_text()  # nothing erased yet

    reason = "The family asked by phone on 28 November"
    done = web.post(url, coordinator, data={"reason": reason, "confirm": "y"})
    assert done.status_code == 302
    db.session.expire_all()

    # The same checks as the app's own erasure: only empty tombstones, no projections,
    # the phone revoked, its push subscription gone.
    rows = db.session.execute(sa.select(records.c.fields, records.c.deleted).where(records.c.subject_id == pid)).all()
    assert len(rows) == 4 and all(f == "{}" and d is not None for f, d in rows)
    assert db.session.execute(sa.select(Device.revoked_at).where(Device.participant_id == pid)).scalar() is not None
    assert db.session.get(PushSubscription, sub_id) is None
    stored = _everything_stored_as_text()
    assert SECRET_TEXT not in stored and "Sam Example" not in stored
    # Audited with the reason, and without the person's data.
    entry = db.session.execute(sa.select(AuditLog).where(AuditLog.action == "erase")).scalar_one()
    assert entry.subject_id == pid and entry.user_id == coordinator.id
    assert reason in entry.detail and entry.project_id == two_projects["project_id"]
    # Gone from the list; a second erasure finds nobody.
    assert f"<code>{pid[:8]}</code>" not in web.get(
        f"/staff/projects/{two_projects['project_id']}/participants", coordinator
    ).get_data(as_text=True)
    assert web.post(url, coordinator, data={"reason": reason, "confirm": "y"}).status_code == 404


def test_only_the_projects_coordinators_may_erase(app, web, two_projects):
    from server.domain.models import Participant
    from server.extensions import db

    pid, _ = _family(two_projects)
    url = f"/staff/projects/{two_projects['project_id']}/participants/{pid}/erase"
    data = {"reason": "asked", "confirm": "y"}
    assert web.post(url, two_projects["worker"], data=data).status_code == 403
    assert web.post(url, two_projects["other"], data=data).status_code == 404
    assert web.post(url, None, data=data).status_code == 302
    # A participant of another project, through this project's address: not found.
    stranger = add_participant(two_projects["other_project_id"])
    db.session.commit()
    wrong = f"/staff/projects/{two_projects['project_id']}/participants/{stranger}/erase"
    assert web.post(wrong, two_projects["coordinator"], data=data).status_code == 404
    db.session.expire_all()
    assert db.session.get(Participant, pid) is not None and db.session.get(Participant, stranger) is not None
