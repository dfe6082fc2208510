"""Phones that keep a replica, as the app does, for the access tests."""

import uuid

import pytest

from sync.records import Record, merge
from tests.api.conftest import Phone, natural_id, project, statements  # noqa: F401  (fixtures)


class Replica(Phone):
    """A phone that applies pulls to a local copy: records, deletions and removals."""

    def __init__(self, client, token, participant_id=None, project_id=None):
        super().__init__(client, token, participant_id, project_id)
        self.held: dict[str, dict] = {}
        self.cursor = 0

    def push(self, records, schema=1):
        """Send records and keep what was accepted, as the app does: its own writes stay on it.

        A staff phone drops its copy of equality answers once the server has them.
        """
        response = super().push(records, schema)
        if response.status_code == 200:
            results = {r["id"]: r["status"] for r in response.get_json()["results"]}
            for wire in records:
                if results.get(wire["id"]) == "rejected":
                    continue
                if self.participant_id is None and wire["type"] == "equality":
                    self.held.pop(wire["id"], None)
                    continue
                held = self.held.get(wire["id"])
                merged = merge(Record.from_wire(held) if held else None, Record.from_wire(wire))
                if merged.deleted is not None:
                    self.held.pop(wire["id"], None)
                else:
                    self.held[wire["id"]] = merged.to_wire()
        return response

    def sync(self):
        """Pull to the end from the saved cursor; return the last response (or an error)."""
        while True:
            response = self.client.get(f"/api/sync/pull?cursor={self.cursor}&limit=500", headers=self.headers)
            if response.status_code != 200:
                return response
            body = response.get_json()
            for record in body["records"]:
                if record["deleted"] is not None:
                    self.held.pop(record["id"], None)
                else:
                    self.held[record["id"]] = record
            for rid in body["removals"]:
                self.held.pop(rid, None)
            self.cursor = body["cursor"]
            if not body["more"]:
                return response

    def values(self, rid):
        return {k: r["v"] for k, r in self.held[rid]["fields"].items()}

    def types(self):
        return {r["type"] for r in self.held.values()}

    def statuses(self, records):
        response = self.push(records)
        assert response.status_code == 200, response.get_json()
        return [(r["status"], (r.get("error") or {}).get("code")) for r in response.get_json()["results"]]


@pytest.fixture
def phones(app, client, project):  # noqa: F811  (the fixture imported above)
    """Make phones: phones.family() joins on its own; phones.staff(user) signs a staff member in."""
    from server.auth.devices import PARTICIPANT, STAFF, issue_device
    from server.extensions import db

    class Phones:
        def family(self, role="parent_carer"):
            pid = str(uuid.uuid4())
            _, token = issue_device(kind=PARTICIPANT, participant_id=pid, project_id=project["id"])
            db.session.commit()
            phone = Replica(client, token, pid, project["id"])
            assert phone.statuses([participant(phone, pid, project["id"], role)]) == [("applied", None)]
            return phone

        def staff(self, user):
            _, token = issue_device(kind=STAFF, user_id=user.id)
            db.session.commit()
            return Replica(client, token, None, project["id"])

        def redeem(self, code):
            response = client.post("/api/claims/redeem", json={"code": code})
            assert response.status_code == 201, response.get_json()
            body = response.get_json()
            return Replica(client, body["token"], body["participant_id"], body["project_id"])

    return Phones()


def participant(phone, pid, project_id, role="parent_carer", **extra):
    return phone.record("participant", pid, project_id=project_id, role=role, age_band="26_or_over", **extra)


def visit(worker_phone, project_id, mode="assisted"):
    """A worker meets a family on a visit: a new participant in custody and a feedback; return ids."""
    pid = str(uuid.uuid4())
    fid = str(uuid.uuid4())
    records = [
        participant(worker_phone, pid, project_id, display_name="Sam"),
        worker_phone.record(
            "feedback",
            fid,
            participant_id=pid,
            project_id=project_id,
            stage="design",
            text="More evening sessions",
            mode=mode,
        ),
    ]
    assert worker_phone.statuses(records) == [("applied", None), ("applied", None)]
    return pid, fid


def equality_id(pid, project_id):
    return natural_id("equality", pid, project_id)


def consent_id(pid, project_id):
    return natural_id("consent", pid, project_id)
