"""Hostile inputs the fuzzer rarely reaches: each must be a 4xx (or a rejected record), never a 5xx,
on SQLite and PostgreSQL alike, and leave nothing stored."""

from __future__ import annotations

import uuid

import pytest

DEEP = "[" * 100_000 + "]" * 100_000


def assert_client_error(response, where):
    assert 400 <= response.status_code < 500, (where, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, body


def _snapshot(db):
    import sqlalchemy as sa

    db.session.rollback()
    rows = db.session.execute(sa.text("SELECT id, fields, change_no FROM sync_records")).all()
    db.session.rollback()
    return sorted(map(tuple, rows))


@pytest.mark.parametrize("cursor", ["9223372036854775808", "99999999999999999999"])
def test_pull_cursor_beyond_64_bits_is_400(joined_project, cursor):
    phone = joined_project["phone"]
    response = joined_project["client"].get(f"/api/sync/pull?cursor={cursor}", headers=phone.headers)
    assert_client_error(response, cursor)
    assert response.get_json()["error"]["field"] == "cursor"


@pytest.mark.parametrize(
    "method,path,who",
    [
        ("POST", "/api/sync/push", "participant"),
        ("POST", "/api/join", None),
        ("POST", "/api/claims/redeem", None),
        ("POST", "/api/devices", None),
        ("POST", "/api/claims", "coordinator"),
        ("POST", "/api/push/subscriptions", "participant"),
        ("DELETE", "/api/push/subscriptions", "participant"),
        ("PUT", "/api/push/quiet-hours", "participant"),
    ],
)
def test_deeply_nested_json_is_400(joined_project, method, path, who):
    """json.loads raises RecursionError, not ValueError: the API must still answer 400, never 500."""
    from server.extensions import db

    headers = {"Authorization": f"Bearer {joined_project['tokens'][who]}"} if who else {}
    before = _snapshot(db)
    body = '{"schema": 1, "records": ' + DEEP + "}" if path.endswith("push") else DEEP
    response = joined_project["client"].open(
        path, method=method, data=body, content_type="application/json", headers=headers
    )
    assert_client_error(response, path)
    assert _snapshot(db) == before


def test_nul_in_a_record_value_is_rejected_on_every_backend(joined_project):
    """PostgreSQL text cannot hold NUL: the record must be rejected, not a 500 (and SQLite alike)."""
    from server.extensions import db

    phone = joined_project["phone"]
    before = _snapshot(db)
    response = phone.push([phone.feedback("before\u0000after")])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    result = response.get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid", result
    assert _snapshot(db) == before
    # The rest of a batch still applies (a poison record never blocks the queue).
    fine = phone.feedback("fine")
    response = phone.push([phone.feedback("x\u0000"), fine])
    assert [r["status"] for r in response.get_json()["results"]] == ["rejected", "applied"]


@pytest.mark.parametrize(
    "method,path,who,body",
    [
        ("POST", "/api/join", None, {"code": "KIND\u0000RIVER"}),
        ("POST", "/api/claims/redeem", None, {"code": "AB\u0000CD"}),
        ("POST", "/api/devices", None, {"email": "a\u0000@example.org", "password": "x"}),
        ("DELETE", "/api/push/subscriptions", "participant", {"endpoint": "https://a\u0000b"}),
    ],
)
def test_nul_in_a_request_field_is_4xx(joined_project, method, path, who, body):
    headers = {"Authorization": f"Bearer {joined_project['tokens'][who]}"} if who else {}
    response = joined_project["client"].open(path, method=method, json=body, headers=headers)
    if method == "DELETE" and response.status_code == 204:
        return  # forgetting an unknown subscription is a success by design
    assert_client_error(response, path)


def test_resent_batch_is_unchanged_and_cursor_does_not_move(joined_project):
    """The in-process twin of the lost-answer fault test: resending changes nothing at all."""
    from server.extensions import db

    phone = joined_project["phone"]
    batch = [phone.feedback(f"resend {n}") for n in range(5)]
    batch.append(
        phone.record(
            "feedback",
            str(uuid.uuid4()),
            participant_id=str(uuid.uuid4()),
            project_id=phone.project_id,
            stage="design",
            text="not mine",
            mode="self",
        )
    )
    first = phone.push(batch).get_json()
    assert [r["status"] for r in first["results"]] == ["applied"] * 5 + ["rejected"]
    before = _snapshot(db)
    again = phone.push(batch).get_json()
    assert [r["status"] for r in again["results"]] == ["unchanged"] * 5 + ["rejected"]
    assert _snapshot(db) == before
