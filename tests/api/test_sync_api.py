"""The sync API end to end: push, pull, and every whole-request error of the protocol."""

import json
import uuid

import pytest

from sync.cursor import Cursor
from sync.hlc import format as format_hlc
from tests.api.conftest import wall_now_ms


def test_push_then_pull_round_trip(family_phone, statements):
    answer = family_phone.answer(statements[0], "agree", comment="Felt heard")
    response = family_phone.push([answer])
    assert response.status_code == 200
    body = response.get_json()
    assert body["results"] == [{"id": answer["id"], "status": "applied"}]
    assert body["server_hlc"] > answer["fields"]["value"]["t"]

    pulled, _ = family_phone.pull_all()
    assert pulled[answer["id"]]["fields"]["value"]["v"] == "agree"
    assert pulled[answer["id"]]["fields"]["comment"]["v"] == "Felt heard"


def test_resending_a_batch_changes_nothing(family_phone, statements):
    batch = [family_phone.answer(s, "agree") for s in statements[:3]]
    first = family_phone.push(batch).get_json()
    _, cursor = family_phone.pull_all()
    again = family_phone.push(batch).get_json()
    assert {r["status"] for r in first["results"]} == {"applied"}
    assert {r["status"] for r in again["results"]} == {"unchanged"}
    records, new_cursor = family_phone.pull_all(cursor)
    # Nothing new for the phone (in the parallel feed the cursor may still move on).
    assert records == {} and Cursor.parse(str(new_cursor)) >= Cursor.parse(str(cursor))


def test_a_phone_is_not_sent_back_what_it_just_pushed(family_phone, statements):
    _, cursor = family_phone.pull_all()
    answer = family_phone.answer(statements[0], "agree")
    note = family_phone.feedback("The new times suit us")
    assert [r["status"] for r in family_phone.push([answer, note]).get_json()["results"]] == ["applied"] * 2
    records, cursor = family_phone.pull_all(cursor)
    assert answer["id"] not in records and note["id"] not in records

    # Its edit of a record it holds at the stored version: the merged state is its copy.
    changed = family_phone.answer(statements[0], "disagree")
    assert family_phone.push([changed]).get_json()["results"][0]["status"] == "applied"
    records, _ = family_phone.pull_all(cursor)
    assert answer["id"] not in records


def test_edits_of_different_fields_on_two_phones_both_survive(family_phone, statements, client):
    from tests.api.conftest import Phone

    other = Phone(client, family_phone.token, family_phone.participant_id, family_phone.project_id)
    first = family_phone.answer(statements[0], "agree")
    family_phone.push([first])
    value_edit = family_phone.record("checklist_answer", first["id"], value="disagree")
    comment_edit = other.record("checklist_answer", first["id"], comment="The venue was hard to reach")
    other.push([comment_edit])
    family_phone.push([value_edit])
    merged = family_phone.pull_all()[0][first["id"]]["fields"]
    assert merged["value"]["v"] == "disagree"
    assert merged["comment"]["v"] == "The venue was hard to reach"


def test_invalid_record_is_rejected_and_the_rest_apply(family_phone, statements):
    good = family_phone.answer(statements[0], "agree")
    bad = family_phone.answer(statements[1], "maybe")
    also_good = family_phone.feedback("The new form was easier")
    results = family_phone.push([good, bad, also_good]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid"
    assert results[1]["error"]["field"] == "value"
    assert results[1]["error"]["message"]


def test_malformed_record_shape_is_rejected_not_the_batch(family_phone):
    good = family_phone.feedback("Thank you")
    results = family_phone.push([{"type": "feedback", "id": "not-a-uuid", "fields": {}}, good]).get_json()
    assert results["results"][0]["status"] == "rejected"
    assert results["results"][0]["error"]["field"] == "id"
    assert results["results"][1]["status"] == "applied"


def test_an_id_no_text_encoding_can_hold_is_refused_and_echoed(family_phone):
    # JSON can carry half of a UTF-16 pair, which no UTF-8 text holds: the answer still says
    # which record was refused, as the phone sent its id.
    good = family_phone.feedback("Thank you")
    response = family_phone.push([{"type": "feedback", "id": "\ud800", "fields": {}}, good])
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert (results[0]["id"], results[0]["status"], results[0]["error"]["field"]) == ("\ud800", "rejected", "id")
    assert results[1]["status"] == "applied"


def test_unknown_type_and_server_types_are_refused(family_phone, project):
    unknown = family_phone.record("horoscope", "0193a1c2-7d4e-7b3a-9f10-2c4d5e6f7a8b", text="x")
    server_type = family_phone.record("project", project["id"], title="Mine now")
    results = family_phone.push([unknown, server_type]).get_json()["results"]
    assert results[0]["error"]["code"] == "unknown_type"
    assert results[1]["error"]["code"] == "forbidden"


def test_a_record_stamped_far_ahead_is_refused_with_server_time(family_phone):
    record = family_phone.feedback("From the future")
    ahead = format_hlc(wall_now_ms() + 10 * 60 * 1000, 0, "a" * 16)
    for register in record["fields"].values():
        register["t"] = ahead
    body = family_phone.push([record]).get_json()
    assert body["results"][0]["error"]["code"] == "clock_ahead"
    assert abs(body["server_time"] - wall_now_ms()) < 60_000


@pytest.mark.parametrize(
    "payload, status, code, field",
    [
        (b"{not json", 400, "malformed", None),
        (b"[]", 400, "malformed", None),
        (json.dumps({"records": []}).encode(), 400, "malformed", "schema"),
        (json.dumps({"schema": 1, "records": {}}).encode(), 400, "malformed", "records"),
        (json.dumps({"schema": 0, "records": []}).encode(), 426, "schema_too_old", "schema"),
    ],
)
def test_whole_request_errors(family_phone, client, payload, status, code, field):
    response = client.post(
        "/api/sync/push", data=payload, headers=family_phone.headers, content_type="application/json"
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert response.get_json()["error"]["field"] == field


def test_more_than_500_records_is_too_large(family_phone):
    records = [family_phone.feedback(f"note {i}") for i in range(501)]
    response = family_phone.push(records)
    assert response.status_code == 413
    assert response.get_json()["error"]["field"] == "records"


def test_body_over_one_mebibyte_is_too_large(family_phone, client):
    huge = json.dumps({"schema": 1, "records": [], "padding": "x" * (1024 * 1024)})
    response = client.post("/api/sync/push", data=huge, headers=family_phone.headers, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_unknown_or_revoked_token_is_401(client, family_phone):
    assert (
        client.post(
            "/api/sync/push", json={"schema": 1, "records": []}, headers={"Authorization": "Bearer wu_nope"}
        ).status_code
        == 401
    )
    assert client.get("/api/sync/pull").status_code == 401
    assert client.delete("/api/devices/current", headers=family_phone.headers).status_code == 204
    response = family_phone.push([])
    assert response.status_code == 401
    # A revoked device is told so in its own code: the app then wipes what it holds.
    assert response.get_json()["error"]["code"] == "device_revoked"


def test_pull_rejects_bad_cursor_and_limit(client, family_phone):
    for query, field in (
        ("cursor=-1", "cursor"),
        ("cursor=abc", "cursor"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
    ):
        response = client.get(f"/api/sync/pull?{query}", headers=family_phone.headers)
        assert response.status_code == 400
        assert response.get_json()["error"]["field"] == field


def test_pull_pages_in_change_order_without_repeats(family_phone):
    notes = [family_phone.feedback(f"note {i}") for i in range(25)]
    family_phone.push(notes)
    seen, cursor = [], 0
    while True:
        body = family_phone.client.get(
            f"/api/sync/pull?cursor={cursor}&limit=7", headers=family_phone.headers
        ).get_json()
        ids = [r["id"] for r in body["records"]]
        assert len(ids) == len(set(ids))
        seen += ids
        assert Cursor.parse(str(body["cursor"])) >= Cursor.parse(str(cursor))
        cursor = body["cursor"]
        if not body["more"]:
            break
    # One push numbers its records in the order sent; a pull returns them in change order.
    note_ids = [n["id"] for n in notes]
    assert [rid for rid in seen if rid in set(note_ids)] == note_ids
    assert len(seen) == len(set(seen))


def test_participants_never_see_each_others_records(family_phone, new_family_phone, statements):
    other = new_family_phone()
    secret = other.feedback("Private to me")
    other.push([secret])
    mine, _ = family_phone.pull_all()
    assert secret["id"] not in mine
    assert other.participant_id not in mine
    assert any(r["type"] == "statement" for r in mine.values())  # the checklist comes down


def test_cannot_write_into_another_participants_record(family_phone, new_family_phone, statements):
    other = new_family_phone()
    answer = other.answer(statements[0], "agree")
    other.push([answer])
    forged = family_phone.record("checklist_answer", answer["id"], value="disagree")
    result = family_phone.push([forged]).get_json()["results"][0]
    assert result["status"] == "rejected" and result["error"]["code"] == "forbidden"
    assert other.pull_all()[0][answer["id"]]["fields"]["value"]["v"] == "agree"


def test_deleted_record_stays_deleted(family_phone):
    note = family_phone.feedback("Oops, wrong project")
    family_phone.push([note])
    family_phone.push([family_phone.record("feedback", note["id"], deleted=True)])
    late_edit = family_phone.record("feedback", note["id"], text="edited later")
    family_phone.push([late_edit])
    pulled = family_phone.pull_all()[0][note["id"]]
    assert pulled["deleted"] is not None and pulled["fields"] == {}


def test_staff_device_sign_in(client, make_user):
    user = make_user("worker")
    response = client.post(
        "/api/devices", json={"email": user.email, "password": "correct horse battery", "label": "Tablet"}
    )
    assert response.status_code == 201
    token = response.get_json()["token"]
    assert client.get("/api/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    wrong = client.post("/api/devices", json={"email": user.email, "password": "nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_credentials"
    missing = client.post("/api/devices", json={"email": user.email})
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "password"


def test_device_tokens_are_stored_only_as_hashes(client, make_user, app):
    from server.auth.devices import Device
    from server.extensions import db

    user = make_user("worker")
    token = client.post("/api/devices", json={"email": user.email, "password": "correct horse battery"}).get_json()[
        "token"
    ]
    stored = db.session.execute(db.select(Device.token_hash)).scalars().all()
    assert token not in stored and all(len(h) == 64 for h in stored)


@pytest.mark.app_config(RATELIMIT_ENABLED=True, SYNC_RATE_LIMIT="3 per minute")
def test_rate_limit_gives_429_with_retry_after(family_phone):
    # The family_phone fixture's own push counted as the first.
    statuses = [family_phone.push([]).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429
    response = family_phone.push([])
    assert response.headers.get("Retry-After")
    assert response.get_json()["error"]["code"] == "rate_limited"


def _pull(phone) -> int:
    return phone.client.get("/api/sync/pull?cursor=0", headers=phone.headers).status_code


REDIS_PREFIX = f"withus-sync-limit-{uuid.uuid4().hex[:12]}"


@pytest.mark.app_config(
    RATELIMIT_ENABLED=True,
    SYNC_RATE_LIMIT="2 per minute",
    RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
    RATELIMIT_KEY_PREFIX=REDIS_PREFIX,
)
def test_the_sync_limit_counts_each_phone_alone_in_redis(family_phone, new_family_phone):
    import redis

    store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        # The fixture's push was this phone's first of two; its pulls count apart.
        assert [family_phone.push([]).status_code for _ in range(2)] == [200, 429]
        refused = family_phone.push([])
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "at most 2 per 1 minute" in refused.get_json()["error"]["message"]
        assert [_pull(family_phone) for _ in range(3)] == [200, 200, 429]
        # Another family's phone, maybe on the same router, syncs as usual.
        other = new_family_phone()
        assert _pull(other) == 200

        keys = [key.decode() for key in store.scan_iter(match=f"*{REDIS_PREFIX}*")]
        assert len(keys) >= 3  # two phones' pushes and pulls, counted in the shared store
        # The shared store never holds a phone's token, nor a part of one.
        assert not any(phone.token[3:15] in key for key in keys for phone in (family_phone, other))
    finally:
        for key in store.scan_iter(match=f"*{REDIS_PREFIX}*"):
            store.delete(key)
        store.close()


def test_database_unreachable_gives_503_with_retry_after(tmp_path, monkeypatch):
    from server import create_app

    monkeypatch.setenv("WITHUS_INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/test",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
        }
    )
    response = app.test_client().post(
        "/api/sync/push", json={"schema": 1, "records": []}, headers={"Authorization": "Bearer wu_anything"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert app.test_client().get("/healthz").status_code == 503


def test_purge_command_removes_old_tombstones_and_expires_older_cursors(app, family_phone):
    from server.extensions import db
    from sync.hlc import format as format_hlc

    old = family_phone.feedback("Long ago")
    family_phone.push([old])
    _, cursor_before = family_phone.pull_all()
    # A deletion stamped 200 days ago (as if the phone had deleted it then).
    long_ago = format_hlc(wall_now_ms() - 200 * 86_400_000, 0, family_phone.clock.node_id)
    deletion = {"type": "feedback", "id": old["id"], "fields": {}, "deleted": long_ago}
    assert family_phone.push([deletion]).get_json()["results"][0]["status"] == "applied"
    recent = family_phone.feedback("Yesterday")
    family_phone.push([recent])
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["purge-tombstones"])
    assert result.exit_code == 0 and "Purged 1 tombstones" in result.output

    response = family_phone.client.get(f"/api/sync/pull?cursor={cursor_before}", headers=family_phone.headers)
    assert response.status_code == 410
    assert response.get_json()["error"]["code"] == "cursor_expired"
    records, _ = family_phone.pull_all(0)
    assert old["id"] not in records and recent["id"] in records
