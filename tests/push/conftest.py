"""Fixtures for the push tests: the real local push service, an app with push tables,
participant devices subscribed through the API."""

from __future__ import annotations

import uuid

import pytest

from tests.push.service import PushService


@pytest.fixture(scope="session")
def push_service(tmp_path_factory):
    """web-push-testing on a free port for the whole session. Fails if it cannot start."""
    service = PushService(tmp_path_factory.mktemp("web-push-testing")).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def push_app(app):
    """The app (both backends) with the push tables, short leases and timeouts."""
    from server.extensions import db

    app.config.update(
        PUSH_ALLOW_TEST_SERVICE=True,
        PUSH_TIMEOUT_SECONDS=2.0,
        PUSH_LEASE_SECONDS=30,
        PUSH_IDLE_SECONDS=0.05,
    )
    # Tables a migration does not build yet (create_all skips what exists).
    db.create_all()
    return app


@pytest.fixture
def api(push_app, client):
    """client.open(path, method=...), shorter in the tests."""

    def call(method, path, **kwargs):
        return client.open(path, method=method, **kwargs)

    return call


@pytest.fixture
def public_key(push_app, client):
    response = client.get("/api/push/key")
    assert response.status_code == 200
    return response.get_json()["public_key"]


@pytest.fixture
def make_participant(push_app):
    """A participant's device: make_participant() -> (participant_id, bearer headers, device)."""
    from server.auth.devices import PARTICIPANT, issue_device
    from server.extensions import db

    project_id = str(uuid.uuid4())

    def make():
        participant_id = str(uuid.uuid4())
        device, token = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project_id)
        db.session.commit()
        return participant_id, {"Authorization": f"Bearer {token}"}, device

    return make


@pytest.fixture
def subscribed(push_service, public_key, api, make_participant):
    """A participant subscribed through the API to a fresh subscription on the local
    push service, with quiet hours off unless asked: subscribed(notify="all", quiet=None)
    -> dict(participant_id, headers, client_hash, endpoint)."""

    def make(notify: str = "all", quiet: tuple[str, str] | None = None, timezone="Europe/London"):
        participant_id, headers, device = make_participant()
        sub = push_service.subscribe(public_key)
        body = {
            "endpoint": sub["endpoint"],
            "keys": sub["keys"],
            "expirationTime": None,
            "notify": notify,
        }
        response = api("POST", "/api/push/subscriptions", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        start, end = quiet or ("00:00", "00:00")  # start == end: no quiet hours
        response = api(
            "PUT",
            "/api/push/quiet-hours",
            headers=headers,
            json={"start": start, "end": end, "timezone": timezone},
        )
        assert response.status_code == 200, response.get_json()
        return {
            "participant_id": participant_id,
            "headers": headers,
            "device": device,
            "client_hash": sub["clientHash"],
            "endpoint": sub["endpoint"],
        }

    return make


@pytest.fixture
def drain(push_app):
    """Run one worker until nothing is due; returns its Stats."""
    from server.extensions import db
    from server.push.worker import Worker

    def run(**config):
        # End the test's own read transaction: on SQLite every transaction takes the write lock.
        db.session.rollback()
        push_app.config.update(config)
        worker = Worker(push_app)
        try:
            return worker.drain()
        finally:
            worker.close()

    return run


def action_done(*people: dict, now=None) -> int:
    """Queue "the action answering your feedback is done" for each subscribed person (one
    action each), and commit, as the staff pages do; return how many rows were written."""
    from server.extensions import db
    from server.push.outbox import enqueue

    written = sum(
        enqueue(db.session, [person["participant_id"]], str(uuid.uuid4()), "status", "done", now=now)
        for person in people
    )
    db.session.commit()
    return written
