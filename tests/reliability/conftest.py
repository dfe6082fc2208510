"""Fixtures for the reliability tests: a project with its staff and devices."""

import uuid

import pytest

from tests.api.conftest import Phone, natural_id  # noqa: F401  (re-exported for the tests)


@pytest.fixture
def api_app(app):
    """The app (create_app serves the OpenAPI document)."""
    return app


@pytest.fixture
def joined_project(api_app, make_user):
    """A project, its coordinator and worker, their device tokens and a participant's phone."""
    from server.auth.devices import PARTICIPANT, STAFF, issue_device
    from server.domain import codes, projects
    from server.extensions import db

    coordinator = make_user("coordinator")
    worker = make_user("worker")
    project_id = projects.create_project(
        "Short breaks", "Shaping short breaks together.", 4, coordinator, workers=[worker]
    )
    join_code = codes.new_join_code(project_id)
    participant_id = str(uuid.uuid4())
    _, participant_token = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project_id)
    _, coordinator_token = issue_device(kind=STAFF, user_id=coordinator.id, label="laptop")
    _, worker_token = issue_device(kind=STAFF, user_id=worker.id, label="tablet")
    db.session.commit()
    client = api_app.test_client()
    phone = Phone(client, participant_token, participant_id, project_id)
    response = phone.push(
        [phone.record("participant", participant_id, project_id=project_id, role="parent_carer", age_band="26_or_over")]
    )
    assert response.get_json()["results"][0]["status"] == "applied", response.get_json()
    return {
        "app": api_app,
        "client": client,
        "project_id": project_id,
        "join_code": join_code,
        "phone": phone,
        "tokens": {
            "participant": participant_token,
            "coordinator": coordinator_token,
            "worker": worker_token,
        },
        "coordinator": coordinator,
        "worker": worker,
    }
