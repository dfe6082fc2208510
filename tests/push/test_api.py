"""The push API: key, subscribe, unsubscribe, quiet hours; errors in the one shape."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from server.extensions import db
from server.push.models import PushSubscription

P256DH = "BHx34u3oUCBmCVV1cdsrHhfa3XkgvtdQ5nc4KRUGbF4xlud-Vgg_wlU4uHj0LH60vIAIa7yGf-dN4wu3VLBqY6A"
AUTH = "6uaYe1zDmbdhawzqtbHZSA"
FCM = "https://fcm.googleapis.com/fcm/send/eXaMpLe:APA91b"


def body(**changes):
    data = {"endpoint": FCM, "expirationTime": None, "keys": {"p256dh": P256DH, "auth": AUTH}}
    data.update(changes)
    return data


def test_public_key_is_an_uncompressed_p256_point(push_app, client):
    key = client.get("/api/push/key").get_json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key
    assert client.get("/api/push/key").get_json()["public_key"] == key


def test_subscribe_replace_and_unsubscribe(push_app, api, make_participant):
    _, headers, device = make_participant()
    response = api("POST", "/api/push/subscriptions", json=body(), headers=headers)
    assert response.status_code == 201
    assert response.get_json() == {"endpoint": FCM, "notify": "all"}

    # The same browser again, with a new preference: one row, updated.
    response = api("POST", "/api/push/subscriptions", json=body(notify="done_only"), headers=headers)
    assert response.status_code == 201
    rows = db.session.execute(select(PushSubscription)).scalars().all()
    assert [(r.endpoint, r.notify, r.device_id) for r in rows] == [(FCM, "done_only", device.id)]
    db.session.rollback()

    # Someone else's DELETE changes nothing, and says nothing.
    _, other_headers, _ = make_participant()
    response = api("DELETE", "/api/push/subscriptions", json={"endpoint": FCM}, headers=other_headers)
    assert response.status_code == 204
    assert db.session.execute(select(PushSubscription)).scalars().all() != []
    db.session.rollback()

    response = api("DELETE", "/api/push/subscriptions", json={"endpoint": FCM}, headers=headers)
    assert response.status_code == 204
    assert db.session.execute(select(PushSubscription)).scalars().all() == []


def test_another_live_device_cannot_take_a_subscription_over(push_app, api, make_participant):
    _, owner, owner_device = make_participant()
    _, thief, _ = make_participant()
    assert api("POST", "/api/push/subscriptions", json=body(), headers=owner).status_code == 201

    response = api("POST", "/api/push/subscriptions", json=body(notify="done_only"), headers=thief)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "endpoint_taken"
    assert response.get_json()["error"]["field"] == "endpoint"
    rows = db.session.execute(select(PushSubscription)).scalars().all()
    assert [(r.device_id, r.notify, r.auth) for r in rows] == [(owner_device.id, "all", AUTH)]


def test_a_revoked_devices_subscription_can_be_taken_by_the_next_device(push_app, api, make_participant):
    from server.auth.models import utcnow

    _, first, first_device = make_participant()
    _, second, second_device = make_participant()
    assert api("POST", "/api/push/subscriptions", json=body(), headers=first).status_code == 201
    first_device.revoked_at = utcnow()
    db.session.commit()

    assert api("POST", "/api/push/subscriptions", json=body(), headers=second).status_code == 201

    (row,) = db.session.execute(select(PushSubscription)).scalars().all()
    assert row.device_id == second_device.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "https://10.0.0.1/push"}, "endpoint"),
        ({"endpoint": "https://push.example.com/x"}, "endpoint"),
        ({"endpoint": "http://fcm.googleapis.com/x"}, "endpoint"),
        ({"endpoint": 5}, "endpoint"),
        ({"endpoint": None}, "endpoint"),
        ({"keys": None}, "keys"),
        ({"keys": {"auth": AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": P256DH[:-4], "auth": AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": P256DH, "auth": "not base64 !"}}, "keys.auth"),
        ({"keys": {"p256dh": P256DH, "auth": AUTH + "AAAA"}}, "keys.auth"),
        ({"notify": "sometimes"}, "notify"),
    ],
)
def test_invalid_subscriptions_name_the_field(push_app, api, make_participant, change, field):
    _, headers, _ = make_participant()
    response = api("POST", "/api/push/subscriptions", json=body(**change), headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["field"] == field and error["message"]


def test_missing_endpoint_names_the_field(push_app, api, make_participant):
    _, headers, _ = make_participant()
    data = body()
    del data["endpoint"]
    response = api("POST", "/api/push/subscriptions", json=data, headers=headers)
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "endpoint"


def test_not_json(push_app, api, make_participant):
    _, headers, _ = make_participant()
    response = api("POST", "/api/push/subscriptions", data="x", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_needs_a_device_token(push_app, api):
    response = api("POST", "/api/push/subscriptions", json=body())
    assert response.status_code == 401
    assert set(response.get_json()["error"]) == {"code", "message", "field"}
    bad = {"Authorization": "Bearer wu_nope"}
    assert api("DELETE", "/api/push/subscriptions", json={"endpoint": FCM}, headers=bad).status_code == 401


def test_staff_devices_do_not_subscribe(push_app, api, make_user):
    from server.auth.devices import STAFF, issue_device

    user = make_user(role="worker")
    _, token = issue_device(kind=STAFF, user_id=user.id)
    db.session.commit()
    response = api("POST", "/api/push/subscriptions", json=body(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "participant_only"


def test_quiet_hours_round_trip_and_validation(push_app, api, make_participant):
    _, headers, _ = make_participant()
    assert api("GET", "/api/push/quiet-hours", headers=headers).get_json() == {
        "start": "21:00",
        "end": "08:00",
        "timezone": "Europe/London",
    }
    response = api(
        "PUT",
        "/api/push/quiet-hours",
        headers=headers,
        json={"start": "22:15", "end": "07:00", "timezone": "Europe/Paris"},
    )
    assert response.status_code == 200
    assert api("GET", "/api/push/quiet-hours", headers=headers).get_json() == {
        "start": "22:15",
        "end": "07:00",
        "timezone": "Europe/Paris",
    }
    for bad, field in [
        ({"start": "24:00", "end": "07:00"}, "start"),
        ({"start": "21:00", "end": "7am"}, "end"),
        ({"start": "21:00", "end": "07:00", "timezone": "Mars/Base"}, "timezone"),
    ]:
        response = api("PUT", "/api/push/quiet-hours", headers=headers, json=bad)
        assert response.status_code == 422 and response.get_json()["error"]["field"] == field
