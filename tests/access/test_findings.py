"""The seven findings of the security test (issue 11), each as a test, through the HTTP API.

Expected values come from docs/access.md's table, written out by hand here.
"""

import json
import uuid

from tests.access.conftest import consent_id, equality_id, visit


def audit_rows(action):
    from server.extensions import db
    from server.staff.models import AuditLog

    db.session.expire_all()
    rows = db.session.execute(db.select(AuditLog).where(AuditLog.action == action)).scalars().all()
    return [(row.user_id, row.subject_id, json.loads(row.detail)) for row in rows]


def test_1_claim_codes_only_for_families_in_custody_once(client, project, phones):
    coordinator = phones.staff(project["coordinator"])
    family = phones.family()
    # A family who joined on their own phone cannot be claimed by anyone.
    response = client.post("/api/claims", json={"participant_id": family.participant_id}, headers=coordinator.headers)
    assert response.status_code == 403 and response.get_json()["error"]["field"] == "participant_id"

    worker = phones.staff(project["worker"])
    pid, _ = visit(worker, project["id"])
    response = client.post("/api/claims", json={"participant_id": pid}, headers=worker.headers)
    assert response.status_code == 201
    claimed = phones.redeem(response.get_json()["code"])
    assert claimed.participant_id == pid
    # Redeeming ended custody: no second claim, by the worker or the coordinator.
    for phone in (worker, coordinator):
        again = client.post("/api/claims", json={"participant_id": pid}, headers=phone.headers)
        assert again.status_code == 403
    # Both the issue and the redemption are audited (ids only).
    assert [(u, s) for u, s, _ in audit_rows("claim_issued")] == [(project["worker"].id, pid)]
    assert [s for _, s, _ in audit_rows("claim_redeemed")] == [pid]


def test_1_an_unused_staff_code_stops_working_once_the_family_has_a_phone(client, project, phones):
    worker = phones.staff(project["worker"])
    pid, _ = visit(worker, project["id"])
    first = client.post("/api/claims", json={"participant_id": pid}, headers=worker.headers).get_json()["code"]
    phone = phones.redeem(first)
    # The family adds their second phone from the first: the only way to a second device.
    made = client.post("/api/me/another-phone", headers=phone.headers)
    assert made.status_code == 201 and made.get_json()["expires_at"].endswith("Z")
    second = phones.redeem(made.get_json()["code"])
    assert second.participant_id == pid
    # One use.
    assert client.post("/api/claims/redeem", json={"code": made.get_json()["code"]}).status_code == 410
    # Staff devices cannot make this kind of code.
    assert client.post("/api/me/another-phone", headers=worker.headers).status_code == 403


def test_2_equality_answers_never_reach_staff_devices(client, project, phones):
    coordinator = phones.staff(project["coordinator"])
    family = phones.family()
    eid = equality_id(family.participant_id, project["id"])
    # A coordinator cannot plant an equality record on a family with their own phone.
    empty = coordinator.record("equality", eid, participant_id=family.participant_id, project_id=project["id"])
    assert coordinator.statuses([empty]) == [("rejected", "forbidden")]
    filled = family.record(
        "equality",
        eid,
        participant_id=family.participant_id,
        project_id=project["id"],
        gender="Woman",
        ethnicity="Prefer not to say",
    )
    assert family.statuses([filled]) == [("applied", None)]
    coordinator.sync()
    assert eid not in coordinator.held
    # Equality a worker recorded on a visit goes up, and never comes back down.
    worker = phones.staff(project["worker"])
    pid, _ = visit(worker, project["id"])
    visit_eid = equality_id(pid, project["id"])
    mine = worker.record("equality", visit_eid, participant_id=pid, project_id=project["id"], gender="Man")
    assert worker.statuses([mine]) == [("applied", None)]
    for phone in (worker, coordinator):
        phone.sync()
        assert "equality" not in phone.types()
    family.sync()
    assert family.values(eid)["gender"] == "Woman"


def test_3_access_ends_on_the_phone_when_a_family_is_handed_over(client, project, phones):
    worker = phones.staff(project["worker"])
    pid, fid = visit(worker, project["id"])
    worker.sync()
    assert {pid, fid} <= set(worker.held)
    code = client.post("/api/claims", json={"participant_id": pid}, headers=worker.headers).get_json()["code"]
    family = phones.redeem(code)
    family.sync()
    assert {pid, fid} <= set(family.held)
    rename = family.record("participant", pid, project_id=project["id"], display_name="Private name")
    assert family.statuses([rename]) == [("applied", None)]
    worker.sync()
    assert pid not in worker.held and fid not in worker.held
    # ...and the worker's phone can no longer change them.
    edit = worker.record(
        "feedback", fid, participant_id=pid, project_id=project["id"], stage="design", text="Changed", mode="assisted"
    )
    assert worker.statuses([edit]) == [("rejected", "forbidden")]


def test_3_access_ends_when_staff_leave_a_project(client, project, phones):
    from server.domain import projects
    from server.extensions import db

    worker = phones.staff(project["worker"])
    pid, fid = visit(worker, project["id"])
    worker.sync()
    assert project["id"] in worker.held
    projects.remove_staff(project["id"], project["worker"])
    db.session.commit()
    worker.sync()
    assert worker.held == {}
    edit = worker.record(
        "feedback", fid, participant_id=pid, project_id=project["id"], stage="design", text="Changed", mode="assisted"
    )
    assert worker.statuses([edit]) == [("rejected", "forbidden")]
    # Back on the project: everything comes back, unchanged records included.
    projects.add_staff(project["id"], [project["worker"]])
    db.session.commit()
    worker.sync()
    assert {project["id"], pid, fid} <= set(worker.held)
    assert [s for _, s, d in audit_rows("assignment_removed")] == [project["id"]]


def test_4_staff_never_change_a_familys_own_entries(client, project, phones, statements):
    worker = phones.staff(project["worker"])
    coordinator = phones.staff(project["coordinator"])
    family = phones.family()
    own = family.feedback("Our own words")
    answer = family.answer(statements[0])
    assert family.statuses([own, answer]) == [("applied", None), ("applied", None)]
    fid, aid = own["id"], answer["id"]
    ids = {"participant_id": family.participant_id, "project_id": project["id"]}
    for phone in (worker, coordinator):
        attempts = [
            phone.record("feedback", fid, **ids, stage="design", text="Changed", mode="assisted"),
            phone.record("checklist_answer", aid, deleted=True, **ids, stage="design", statement_id=statements[0]),
            phone.record("participant", family.participant_id, project_id=project["id"], display_name="Renamed"),
        ]
        assert phone.statuses(attempts) == [("rejected", "forbidden")] * 3
    family.sync()
    assert family.values(fid)["text"] == "Our own words" and aid in family.held
    assert "display_name" not in family.values(family.participant_id)


def test_4_recorded_by_comes_from_the_token(client, project, phones):
    from server.domain.models import Feedback
    from server.extensions import db

    worker = phones.staff(project["worker"])
    coordinator = phones.staff(project["coordinator"])
    pid, fid = visit(worker, project["id"])
    db.session.expire_all()
    assert db.session.get(Feedback, fid).recorded_by == str(project["worker"].id)
    # The coordinator edits without recorded_by, and with someone else's: the record names them.
    for extra in ({}, {"recorded_by": str(project["worker"].id)}):
        edit = coordinator.record(
            "feedback", fid, participant_id=pid, project_id=project["id"], text="Edited", mode="proxy", **extra
        )
        assert coordinator.statuses([edit]) == [("applied", None)]
        db.session.expire_all()
        assert db.session.get(Feedback, fid).recorded_by == str(project["coordinator"].id)
    # A worker changes only what they recorded.
    worker_edit = worker.record("feedback", fid, participant_id=pid, project_id=project["id"], text="Mine?")
    assert worker.statuses([worker_edit]) == [("rejected", "forbidden")]


def _consent(worker, pid, project_id, **more):
    """A worker's record of a family's consent, given (and ``withdrawn_at`` when it is withdrawn)."""
    given = {"notice_version": "1", "given_by": "parent_carer", "given_at": "2026-11-01T10:00:00Z"}
    return worker.record(
        "consent", consent_id(pid, project_id), participant_id=pid, project_id=project_id, **given, **more
    )


def test_5_withdrawn_consent_takes_a_family_off_staff_phones(client, project, phones):
    worker = phones.staff(project["worker"])
    coordinator = phones.staff(project["coordinator"])
    pid, fid = visit(worker, project["id"])
    cid = consent_id(pid, project["id"])
    assert worker.statuses([_consent(worker, pid, project["id"])]) == [("applied", None)]
    for phone in (worker, coordinator):
        phone.sync()
        assert {pid, fid, cid} <= set(phone.held)
    withdrawn = worker.record(
        "consent", cid, participant_id=pid, project_id=project["id"], withdrawn_at="2026-11-02T10:00:00Z"
    )
    assert worker.statuses([withdrawn]) == [("applied", None)]
    for phone in (worker, coordinator):
        phone.sync()
        assert not {pid, fid, cid} & set(phone.held)


def test_5_withdrawn_consent_takes_the_familys_feedback_out_of_actions_on_staff_phones(client, project, phones):
    # Found by the access state machine: the action came again, but uncut.
    from server.domain import projects
    from server.extensions import db

    worker = phones.staff(project["worker"])
    coordinator = phones.staff(project["coordinator"])
    pid, fid = visit(worker, project["id"])
    _, other = visit(worker, project["id"])  # another family met on a visit: still in view
    action = str(uuid.uuid4())
    linked = sorted([fid, other])
    values = {"project_id": project["id"], "stage": "design", "status": "planned", "feedback_ids": linked}
    projects.write_record("action", action, values)
    db.session.commit()
    for phone in (worker, coordinator):
        phone.sync()
        assert phone.values(action)["feedback_ids"] == linked
    withdrawn = _consent(worker, pid, project["id"], withdrawn_at="2026-11-02T10:00:00Z")
    assert worker.statuses([withdrawn]) == [("applied", None)]
    for phone in (worker, coordinator):
        phone.sync()
        assert fid not in phone.held
        assert phone.values(action)["feedback_ids"] == [other]


def test_6_staff_pulls_of_personal_records_are_audited(client, project, phones):
    worker = phones.staff(project["worker"])
    pid, fid = visit(worker, project["id"])
    worker.sync()
    rows = audit_rows("device_pull")
    assert len(rows) == 1
    user_id, _, detail = rows[0]
    assert user_id == project["worker"].id
    assert detail["records"] == 2 and detail["participants"] == 1
    assert detail["by_type"] == {"participant": 1, "feedback": 1}
    assert "Sam" not in json.dumps(detail)
    # A pull that carries nobody's records writes no row.
    worker.sync()
    assert len(audit_rows("device_pull")) == 1


def test_7_an_action_shows_a_family_only_their_own_feedback_ids(client, project, phones):
    from server.domain import projects
    from server.extensions import db

    one, two = phones.family(), phones.family()
    f1, f2 = one.feedback("Evenings"), two.feedback("Weekends")
    assert one.statuses([f1]) == [("applied", None)] and two.statuses([f2]) == [("applied", None)]
    action = str(uuid.uuid4())
    projects.write_record(
        "action",
        action,
        {"project_id": project["id"], "stage": "design", "status": "planned", "feedback_ids": [f1["id"], f2["id"]]},
    )
    db.session.commit()
    one.sync()
    two.sync()
    assert one.values(action)["feedback_ids"] == [f1["id"]]
    assert two.values(action)["feedback_ids"] == [f2["id"]]
    # Unlinked from family two's feedback: the action leaves their phone.
    projects.write_record("action", action, {"feedback_ids": [f1["id"]]})
    db.session.commit()
    two.sync()
    assert action not in two.held


def test_revoked_phone_is_told_so(client, project, phones):
    family = phones.family()
    assert client.delete("/api/devices/current", headers=family.headers).status_code == 204
    response = family.sync()
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "device_revoked"


def test_a_purged_tombstone_stays_dead(client, project, phones):
    from server.domain.models import Feedback
    from server.extensions import db
    from sync import store
    from sync.hlc import Clock

    family = phones.family()
    feedback = family.feedback("Gone soon")
    assert family.statuses([feedback]) == [("applied", None)]
    gone = family.record("feedback", feedback["id"], deleted=True)
    assert family.statuses([gone]) == [("applied", None)]
    horizon = Clock("00000000000000ff", now_ms=lambda: 99_999_999_999_99).tick()
    assert store.purge_tombstones(db.session.connection(), horizon) == 1
    db.session.commit()
    # A stale phone resends the live record with its old stamps.
    assert family.statuses([feedback]) == [("unchanged", None)]
    db.session.expire_all()
    assert db.session.get(Feedback, feedback["id"]) is None


def test_a_closed_project_leaves_every_phone_and_takes_no_new_entries(client, project, phones):
    """Retention: closing a project sends removals to its phones; reopening brings it back."""
    from server.extensions import db
    from server.staff import retention

    family = phones.family()
    note = family.feedback("The bus times were better")
    assert family.statuses([note]) == [("applied", None)]
    worker = phones.staff(project["worker"])
    pid, fid = visit(worker, project["id"])
    family.sync()
    worker.sync()
    assert {project["id"], note["id"]} <= set(family.held)
    assert {project["id"], pid, fid} <= set(worker.held)

    retention.close_project(project["id"], project["coordinator"])
    db.session.commit()
    family.sync()
    worker.sync()
    assert family.held == {}
    assert worker.held == {}
    late = family.feedback("One more thing")
    assert family.statuses([late]) == [("rejected", "forbidden")]

    retention.reopen_project(project["id"], project["coordinator"])
    db.session.commit()
    family.sync()
    assert {project["id"], note["id"]} <= set(family.held)
