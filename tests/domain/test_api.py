"""Joining with a code, "me", claim codes, export and erasure over HTTP."""

import re
from datetime import timedelta

import pytest

from server.auth.devices import Device
from server.auth.models import utcnow
from server.domain import codes, projects, types
from server.domain.access import visible_clause
from server.domain.models import ChecklistAnswer, ClaimCode, Feedback, JoinCode, Participant
from server.extensions import db
from sync import store
from sync.schema import records
from tests.domain.conftest import bearer, push, rec
from tests.factories import checklist_answer, participant_values

CODE = re.compile(r"\A[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}\Z")


def test_codes_are_short_readable_and_normalised():
    made = {codes.generate() for _ in range(500)}
    assert len(made) == 500
    assert all(CODE.match(c) for c in made)
    assert not set("".join(made)) & set("0O1IL")
    assert codes.normalise(" k7mr x2qh ") == codes.normalise("K7MR-X2QH") == "K7MRX2QH"
    assert codes.hash_code("k7mr-x2qh") == codes.hash_code("K7MR X2QH")


def test_join_with_a_code_typed_any_way(project_and_devices, client):
    code = projects.new_join_code(project_and_devices.project)
    db.session.commit()
    assert CODE.match(code)
    typed = code.lower().replace("-", " ")
    response = client.post("/api/join", json={"code": f"  {typed} "})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == {"token", "device_id", "participant_id", "project_id"}
    assert body["project_id"] == project_and_devices.project and types.is_uuid(body["participant_id"])
    me = client.get("/api/me", headers=bearer(body["token"])).get_json()
    assert me == {
        "kind": "participant",
        "participant_id": body["participant_id"],
        "project_id": project_and_devices.project,
        "projects": [{"id": project_and_devices.project, "title": "Short breaks"}],
    }
    # Two joins are two different people.
    again = client.post("/api/join", json={"code": code}).get_json()
    assert again["participant_id"] != body["participant_id"]


@pytest.mark.parametrize("body", [["K7MR-X2QH"], "K7MR-X2QH", None])
def test_join_body_must_be_a_json_object(project_and_devices, client, body):
    response = client.post("/api/join", json=body)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_json", "message": "Send a JSON object.", "field": None}}


def test_join_errors_name_the_field(project_and_devices, client):
    response = client.post("/api/join", json={})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "code"
    response = client.post("/api/join", json={"code": "ZZZZ-ZZZZ", "name": "Sam"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "name"
    response = client.post("/api/join", json={"code": "ZZZZ-ZZZZ"})
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "code": "unknown_code",
        "field": "code",
        "message": response.get_json()["error"]["message"],
    }


def test_join_codes_expire_and_rotate(project_and_devices, client):
    old = projects.new_join_code(project_and_devices.project)
    new = projects.new_join_code(project_and_devices.project)  # rotation revokes the old one
    db.session.commit()
    assert old != new
    assert client.post("/api/join", json={"code": old}).status_code == 410
    assert client.post("/api/join", json={"code": new}).status_code == 201
    assert codes.active_join_code(project_and_devices.project).code == new
    row = codes.find_join_code(new)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post("/api/join", json={"code": new})
    assert response.status_code == 410 and response.get_json()["error"]["code"] == "code_expired"
    assert codes.active_join_code(project_and_devices.project) is None
    short = projects.new_join_code(project_and_devices.project, days=30)
    db.session.commit()
    expires = db.session.get(JoinCode, short).expires_at
    assert timedelta(days=29, hours=23) < expires - utcnow() <= timedelta(days=30)


def test_join_to_a_closed_project_is_refused(project_and_devices, client):
    code = projects.new_join_code(project_and_devices.project)
    projects.update_project(project_and_devices.project, status="closed")
    db.session.commit()
    assert client.post("/api/join", json={"code": code}).status_code == 410


@pytest.mark.app_config(RATELIMIT_ENABLED=True)
def test_join_is_rate_limited(project_and_devices, client):
    answers = [client.post("/api/join", json={"code": "WXYZ-WXYZ"}).status_code for _ in range(11)]
    assert answers[:10] == [404] * 10
    assert answers[10] == 429


def test_staff_me_lists_their_projects(project_and_devices, client):
    me = client.get("/api/me", headers=bearer(project_and_devices.worker_token)).get_json()
    assert me["kind"] == "staff" and me["user"]["id"] == project_and_devices.worker.id
    assert me["projects"] == [{"id": project_and_devices.project, "title": "Short breaks"}]
    assert client.get("/api/me").status_code == 401


def _worker_records_family(w, stamps):
    family = types.uuid7()
    me = str(w.worker.id)
    rid, values = checklist_answer(family, w.project, w.statements[0], mode="assisted", recorded_by=me)
    push(
        w.worker_device,
        [
            rec("participant", family, participant_values(w.project, role="parent_carer"), stamps()),
            rec("checklist_answer", rid, values, stamps()),
        ],
    )
    return family, rid


def test_claim_flow(project_and_devices, client, stamps):
    w = project_and_devices
    family, rid = _worker_records_family(w, stamps)
    response = client.post("/api/claims", json={"participant_id": family}, headers=bearer(w.worker_token))
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()
    assert CODE.match(claim["code"]) and claim["expires_at"].endswith("Z")
    # Stored only as a hash.
    [row] = db.session.execute(db.select(ClaimCode)).scalars().all()
    assert claim["code"] not in row.code_hash and row.code_hash == codes.hash_code(claim["code"])
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)

    redeemed = client.post("/api/claims/redeem", json={"code": claim["code"].lower()})
    assert redeemed.status_code == 201
    body = redeemed.get_json()
    assert (body["participant_id"], body["project_id"]) == (family, w.project)
    # One use only.
    assert client.post("/api/claims/redeem", json={"code": claim["code"]}).status_code == 410
    # The family's phone now speaks for that participant: it sees and edits the answer.
    device = db.session.get(Device, body["device_id"])
    page = store.pull(db.session.connection(), 0, 1000, visible_clause(device))
    assert rid in {r.id for r in page.records}
    out = push(
        device,
        [
            rec(
                "checklist_answer",
                rid,
                {"value": "disagree", "comment": "Changed my mind"},
                stamps(),
            )
        ],
    )
    assert out[0].status == "applied"
    db.session.expire_all()
    assert db.session.get(ChecklistAnswer, rid).value == "disagree"


def test_claims_are_for_staff_in_the_project_and_expire(project_and_devices, client, stamps):
    w = project_and_devices
    family, _ = _worker_records_family(w, stamps)
    assert client.post("/api/claims", json={"participant_id": family}, headers=bearer(w.other_token)).status_code == 404
    joined = client.post("/api/join", json={"code": projects.new_join_code(w.project)})
    db.session.commit()
    assert (
        client.post(
            "/api/claims",
            json={"participant_id": family},
            headers=bearer(joined.get_json()["token"]),
        ).status_code
        == 403
    )
    response = client.post("/api/claims", json={"participant_id": "nope"}, headers=bearer(w.worker_token))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "participant_id"
    # The coordinator of the project may hand over anyone in it.
    code = client.post("/api/claims", json={"participant_id": family}, headers=bearer(w.coordinator_token)).get_json()[
        "code"
    ]
    row = db.session.get(ClaimCode, codes.hash_code(code))
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.post("/api/claims/redeem", json={"code": code}).status_code == 410
    assert client.post("/api/claims/redeem", json={"code": "ABCD-EFGH"}).status_code == 404


def _participant_with_data(w, client, stamps):
    code = projects.new_join_code(w.project)
    db.session.commit()
    body = client.post("/api/join", json={"code": code}).get_json()
    device = db.session.get(Device, body["device_id"])
    pid = body["participant_id"]
    rid, values = checklist_answer(pid, w.project, w.statements[0], comment="Great")
    fid = types.uuid7()
    push(
        device,
        [
            rec("participant", pid, participant_values(w.project, display_name="Sam"), stamps()),
            rec("checklist_answer", rid, values, stamps()),
            rec(
                "feedback",
                fid,
                {
                    "participant_id": pid,
                    "project_id": w.project,
                    "stage": "design",
                    "text": "Evening sessions please",
                    "mode": "self",
                },
                stamps(),
            ),
            rec(
                "equality",
                types.equality_id(pid, w.project),
                {"participant_id": pid, "project_id": w.project, "gender": "prefer_not_to_say"},
                stamps(),
            ),
        ],
    )
    return body, pid, rid, fid


def test_export_has_everything_about_the_participant(project_and_devices, client, stamps):
    w = project_and_devices
    body, pid, rid, fid = _participant_with_data(w, client, stamps)
    response = client.get("/api/me/export", headers=bearer(body["token"]))
    assert response.status_code == 200
    data = response.get_json()
    assert data["participant_id"] == pid and data["project"]["id"] == w.project
    by_type = {r["type"]: r for r in data["records"]}
    assert set(by_type) == {"participant", "checklist_answer", "feedback", "equality"}
    assert by_type["participant"]["fields"]["display_name"] == "Sam"
    assert by_type["checklist_answer"]["fields"]["comment"] == "Great"
    assert client.get("/api/me/export", headers=bearer(w.worker_token)).status_code == 403


def test_erasure_leaves_only_tombstones(project_and_devices, client, stamps):
    w = project_and_devices
    body, pid, rid, fid = _participant_with_data(w, client, stamps)
    from server.push.models import PushSubscription, QuietHours

    db.session.add(
        PushSubscription(
            device_id=body["device_id"],
            endpoint="https://push.example/x",
            p256dh="key",
            auth="auth",
        )
    )
    db.session.add(QuietHours(participant_id=pid))
    db.session.commit()
    coordinator_cursor = store.head(db.session.connection())
    response = client.post("/api/me/erase", headers=bearer(body["token"]))
    assert response.status_code == 200 and response.get_json() == {"erased": 4}
    # The device is revoked.
    assert client.get("/api/me", headers=bearer(body["token"])).status_code == 401
    db.session.expire_all()
    rows = db.session.execute(
        db.select(records.c.id, records.c.fields, records.c.deleted).where(records.c.subject_id == pid)
    ).all()
    assert len(rows) == 4 and all(f == "{}" and d is not None for _, f, d in rows)
    for model in (Participant, ChecklistAnswer, Feedback):
        assert (
            db.session.execute(
                db.select(model).filter_by(
                    id=pid if model is Participant else (rid if model is ChecklistAnswer else fid)
                )
            ).first()
            is None
        )
    assert db.session.execute(db.select(PushSubscription)).first() is None
    assert db.session.get(QuietHours, pid) is None
    # A coordinator pulling from before the erasure gets nothing of them: the family had their
    # own phone, so their records were never the coordinator's to see (docs/access.md).
    page = store.pull(db.session.connection(), coordinator_cursor, 1000, visible_clause(w.coordinator_device))
    assert page.records == []
    # Nothing a later push sends can bring the data back.
    out = push(w.coordinator_device, [rec("participant", pid, participant_values(w.project), stamps())])
    assert out[0].status in ("unchanged", "rejected")
    assert db.session.get(Participant, pid) is None


def test_pull_scopes(project_and_devices, client, stamps):
    w = project_and_devices
    body, pid, rid, fid = _participant_with_data(w, client, stamps)
    family, family_answer = _worker_records_family(w, stamps)
    aid = types.uuid7()
    projects.write_record(
        "action",
        aid,
        {
            "project_id": w.project,
            "stage": "design",
            "status": "planned",
            "heard": "Evenings",
            "feedback_ids": [fid],
        },
        w.coordinator,
    )
    other_action = types.uuid7()
    projects.write_record(
        "action",
        other_action,
        {"project_id": w.project, "stage": "design", "status": "planned", "feedback_ids": []},
        w.coordinator,
    )
    db.session.commit()

    def visible(actor):
        page = store.pull(db.session.connection(), 0, 1000, visible_clause(actor))
        return {(r.type, r.id) for r in page.records}

    mine = visible(db.session.get(Device, body["device_id"]))
    assert {t for t, _ in mine} == {
        "project",
        "statement",
        "participant",
        "checklist_answer",
        "feedback",
        "equality",
        "action",
    }
    assert ("action", aid) in mine and ("action", other_action) not in mine
    assert ("participant", family) not in mine
    assert all(i != w.other_project for _, i in mine)

    worker = visible(w.worker_device)
    assert ("participant", family) in worker and ("checklist_answer", family_answer) in worker
    # Workers see their projects' actions (docs/access.md); never a family with their own phone.
    assert ("participant", pid) not in worker and ("action", aid) in worker
    assert ("project", w.project) in worker and ("project", w.other_project) not in worker

    coordinator = visible(w.coordinator_device)
    assert {("participant", family), ("action", aid)} <= coordinator
    # The family with their own phone is out of custody: none of theirs reaches staff devices.
    assert not {("participant", pid), ("feedback", fid)} & coordinator
    assert not any(t == "equality" for t, _ in coordinator)
    assert ("project", w.other_project) not in coordinator
    assert visible(w.other_device) & {("participant", pid), ("participant", family)} == set()
