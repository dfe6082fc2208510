"""Fuzz every JSON endpoint from the OpenAPI document (server/api/openapi.py) with schemathesis.

For each operation, on SQLite and PostgreSQL, schemathesis generates requests that fit
the document (positive) and requests that break it (negative); each goes to the app
with a token of a participant, a worker, a coordinator, a bogus one or none. Every
answer must:

- never be a 5xx;
- for a 4xx, be JSON in the one error shape {"error": {"code", "message", "field"}};
- match the document (status code documented, body valid against its schema);
- for a rejected request (4xx, or a push whose every record was rejected), leave the
  stored records untouched: sync_records and sync_counter are compared before and after.
"""

from __future__ import annotations

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from server import create_app


def served_document() -> dict:
    """The document as the app serves it, read at import: its operations parametrize the tests."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


SCHEMA = schemathesis.openapi.from_dict(served_document())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}

# Per operation and mode: ~18 operations x 2 modes x 2 backends stays well under 3 minutes.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
# Operations that revoke the token they are called with get a fresh device each example.
SELF_REVOKING = {"DELETE /api/devices/current", "POST /api/me/erase"}
WHO = ("participant", "participant", "participant", "coordinator", "worker", "bogus", "none")


def stored_state(db) -> tuple:
    """Everything a rejected request must leave alone, as committed."""
    db.session.rollback()
    rows = db.session.execute(
        sa.text(
            "SELECT id, type, fields, deleted, change_no, project_id, subject_id, author_id "
            "FROM sync_records ORDER BY id"
        )
    ).all()
    counter = db.session.execute(sa.text("SELECT id, value FROM sync_counter ORDER BY id")).all()
    db.session.rollback()
    return tuple(map(tuple, rows)), tuple(map(tuple, counter))


def assert_error_shape(response, label: str) -> None:
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        label,
        response.status_code,
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, (label, body)
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message", "field"}, (label, body)
    assert isinstance(error["code"], str) and error["code"], (label, body)
    assert isinstance(error["message"], str) and error["message"], (label, body)
    assert error["field"] is None or isinstance(error["field"], str), (label, body)


def fresh_token(who: str, joined_project) -> str | None:
    import uuid

    from server.auth.devices import PARTICIPANT, STAFF, issue_device
    from server.extensions import db

    if who == "participant":
        _, token = issue_device(
            kind=PARTICIPANT, participant_id=str(uuid.uuid4()), project_id=joined_project["project_id"]
        )
    elif who in ("coordinator", "worker"):
        _, token = issue_device(kind=STAFF, user_id=joined_project[who].id)
    else:
        return {"bogus": "wu_not-a-token", "none": None}[who]
    db.session.commit()
    return token


def own_records(body, phone) -> None:
    """Make generated records the participant's own, so some of them really apply."""
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return
    for record in body["records"]:
        if not isinstance(record, dict) or not isinstance(record.get("fields"), dict):
            continue
        stamp = phone.clock.tick()
        for name, register in record["fields"].items():
            if not isinstance(register, dict):
                continue
            register["t"] = stamp
            if name == "participant_id":
                register["v"] = phone.participant_id
            elif name == "project_id":
                register["v"] = phone.project_id
        if record.get("deleted") is not None:
            record["deleted"] = stamp


def fuzz(joined_project, label: str, mode: GenerationMode) -> list[int]:
    from server.extensions import db

    app = joined_project["app"]
    operation = OPERATIONS[label]
    strategy = operation.as_strategy(generation_mode=mode)
    sent = []

    @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        case = data.draw(strategy, label="case")
        who = data.draw(st.sampled_from(WHO), label="who")
        if label in SELF_REVOKING:
            token = fresh_token(who, joined_project)
        else:
            token = {"bogus": "wu_not-a-token", "none": None}.get(who, joined_project["tokens"].get(who))
        if label == "POST /api/sync/push" and who == "participant" and data.draw(st.booleans()):
            own_records(case.body, joined_project["phone"])
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        before = stored_state(db)
        response = case.call(app=app, headers=headers)
        sent.append(response.status_code)
        status = response.status_code
        assert status < 500, (label, mode, who, status, response.text[:500])
        rejected = 400 <= status < 500
        if rejected:
            assert_error_shape(response, label)
        if label == "POST /api/sync/push" and status == 200:
            results = response.json()["results"]
            rejected = bool(results) and all(r["status"] == "rejected" for r in results)
        if rejected:
            assert stored_state(db) == before, (label, mode, who, status, response.text[:500])
        case.validate_response(
            response,
            checks=[status_code_conformance, response_schema_conformance],
            headers=headers,
        )

    run()
    return sent


@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzz(joined_project, label):
    statuses = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if mode is GenerationMode.NEGATIVE and not _has_inputs(OPERATIONS[label]):
            continue  # nothing to break: no body, no parameters
        statuses += fuzz(joined_project, label, mode)
    # The fuzzing reached the endpoint's own logic, not only the token check.
    assert any(status != 401 for status in statuses), statuses


def _has_inputs(operation) -> bool:
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def test_every_api_route_is_documented(api_app):
    """The document and the app agree on which JSON endpoints exist."""
    routed = set()
    for rule in api_app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add(f"{method} {rule.rule}")
    assert routed == set(OPERATIONS)


def test_openapi_json_served(api_app):
    response = api_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/sync/push" in document["paths"]
    # Record field schemas come from the domain's marshmallow schemas.
    answer = document["components"]["schemas"]["RecordChecklistAnswer"]
    value = answer["properties"]["fields"]["properties"]["value"]["properties"]["v"]
    assert value["enum"] == ["agree", "not_sure", "disagree"]
    # Request bodies and answers come from the schemas declared beside each route.
    join = document["paths"]["/api/join"]["post"]
    assert join["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Code"}
    assert document["components"]["schemas"]["Code"]["required"] == ["code"]
    invalid = document["components"]["responses"][join["responses"]["422"]["$ref"].split("/")[-1]]
    assert invalid["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
