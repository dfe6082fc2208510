"""Helpers for API tests: a project, devices, and records on the wire."""

import time
import uuid

import pytest

from sync.cursor import Cursor
from sync.hlc import Clock, new_node_id

NS = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")


def natural_id(*parts) -> str:
    return str(uuid.uuid5(NS, ":".join(str(p) for p in parts)))


class Phone:
    """A device as the protocol sees it: a token, its own HLC, and records to push."""

    def __init__(self, client, token, participant_id=None, project_id=None):
        self.client = client
        self.token = token
        self.participant_id = participant_id
        self.project_id = project_id
        self.clock = Clock(new_node_id())

    @property
    def headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def record(self, type_, id_, deleted=False, **values):
        stamp = self.clock.tick()
        return {
            "type": type_,
            "id": id_,
            "fields": {name: {"v": value, "t": stamp} for name, value in values.items()},
            "deleted": stamp if deleted else None,
        }

    def answer(self, statement_id, value="agree", stage="design", **extra):
        rid = natural_id("checklist_answer", self.participant_id, self.project_id, stage, statement_id)
        fields = dict(
            participant_id=self.participant_id,
            project_id=self.project_id,
            stage=stage,
            statement_id=statement_id,
            value=value,
            mode="self",
        )
        fields.update(extra)
        return self.record("checklist_answer", rid, **fields)

    def feedback(self, text, stage="design"):
        return self.record(
            "feedback",
            str(uuid.uuid4()),
            participant_id=self.participant_id,
            project_id=self.project_id,
            stage=stage,
            text=text,
            mode="self",
        )

    def push(self, records, schema=1):
        response = self.client.post("/api/sync/push", json={"schema": schema, "records": records}, headers=self.headers)
        if response.status_code == 200:
            self.clock.receive(response.get_json()["server_hlc"])
        return response

    def pull_all(self, cursor=0, limit=500):
        records = {}
        while True:
            response = self.client.get(f"/api/sync/pull?cursor={cursor}&limit={limit}", headers=self.headers)
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            for record in body["records"]:
                records[record["id"]] = record
            assert Cursor.parse(str(body["cursor"])) >= Cursor.parse(str(cursor))
            cursor = body["cursor"]
            if not body["more"]:
                return records, cursor


@pytest.fixture
def project(app, make_user):
    """A project with the default checklist, a coordinator and a worker."""
    from server.domain import projects

    coordinator = make_user("coordinator")
    worker = make_user("worker")
    project_id = projects.create_project(
        "Short breaks for disabled children",
        "Shaping the new short breaks offer together.",
        4,
        coordinator,
        workers=[worker],
    )
    from server.extensions import db

    db.session.commit()
    return {"id": project_id, "coordinator": coordinator, "worker": worker}


@pytest.fixture
def statements(app, project):
    from server.domain.models import Statement
    from server.extensions import db

    rows = (
        db.session.execute(db.select(Statement).where(Statement.project_id == project["id"]).order_by(Statement.order))
        .scalars()
        .all()
    )
    return [row.id for row in rows]


@pytest.fixture
def family_phone(app, client, project):
    """A participant's phone joined to the project."""
    from server.devices import PARTICIPANT, issue_device
    from server.extensions import db

    participant_id = str(uuid.uuid4())
    _, token = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project["id"])
    db.session.commit()
    phone = Phone(client, token, participant_id, project["id"])
    response = phone.push(
        [
            phone.record(
                "participant", participant_id, project_id=project["id"], role="parent_carer", age_band="26_or_over"
            )
        ]
    )
    assert response.get_json()["results"][0]["status"] == "applied", response.get_json()
    return phone


@pytest.fixture
def new_family_phone(app, client, project):
    """Make more participants' phones: new_family_phone() -> Phone."""
    from server.devices import PARTICIPANT, issue_device
    from server.extensions import db

    def make(role="parent_carer"):
        participant_id = str(uuid.uuid4())
        _, token = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project["id"])
        db.session.commit()
        phone = Phone(client, token, participant_id, project["id"])
        phone.push(
            [phone.record("participant", participant_id, project_id=project["id"], role=role, age_band="26_or_over")]
        )
        return phone

    return make


def wall_now_ms() -> int:
    return int(time.time() * 1000)
