"""End to end over HTTP: join, push through /api/sync/push with DomainHooks, pull in scope."""

from server.domain import projects, types
from server.extensions import db
from tests.domain.conftest import bearer
from tests.factories import checklist_answer, participant_values, wire


def test_join_push_and_pull(project_and_devices, client, stamps):
    w = project_and_devices
    code = projects.new_join_code(w.project)
    db.session.commit()
    joined = client.post("/api/join", json={"code": code}).get_json()
    token, pid = joined["token"], joined["participant_id"]
    rid, values = checklist_answer(pid, w.project, w.statements[0])
    stranger_id, stranger = checklist_answer(types.uuid7(), w.project, w.statements[0])
    body = {
        "schema": 1,
        "records": [
            wire("participant", pid, participant_values(w.project), stamps()),
            wire("checklist_answer", rid, {**values, "value": "maybe"}, stamps()),
            wire("checklist_answer", rid, values, stamps()),
            wire("checklist_answer", stranger_id, stranger, stamps()),
            wire("project", w.project, {"title": "Hijacked"}, stamps()),
        ],
    }
    response = client.post("/api/sync/push", json=body, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == [
        "applied",
        "rejected",
        "applied",
        "rejected",
        "rejected",
    ]
    assert results[1]["error"]["code"] == "invalid" and results[1]["error"]["field"] == "value"
    assert results[3]["error"]["code"] == "forbidden"
    assert results[4]["error"]["code"] == "forbidden"
    # Resending changes nothing.
    again = client.post(
        "/api/sync/push", json={"schema": 1, "records": [body["records"][0]]}, headers=bearer(token)
    ).get_json()
    assert again["results"][0]["status"] == "unchanged"

    pulled = client.get("/api/sync/pull?cursor=0", headers=bearer(token)).get_json()
    kinds = {}
    for record in pulled["records"]:
        kinds.setdefault(record["type"], set()).add(record["id"])
    assert kinds["project"] == {w.project}
    assert kinds["statement"] == set(w.statements)
    assert kinds["participant"] == {pid} and kinds["checklist_answer"] == {rid}
