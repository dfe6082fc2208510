"""The proof: after any history, a device that pulls to the end holds exactly what docs/access.md gives it.

A hypothesis state machine drives the real HTTP API (SQLite and PostgreSQL) through
joins, visits, claims, "Add another phone", consent withdrawals, staff taken off
and put back on a project, erasures, revocations, action links, writes by every
kind of device (allowed and not), and pulls from saved cursors at random moments,
some of whose responses are lost. ``expected`` below is the reference: the table
of docs/access.md written again from the words, over the model's own facts, with
no code shared with the server. The values a device holds are compared with the
server's merged state, so a stale copy fails too.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from tests.access.conftest import Replica, consent_id, equality_id

# ---------------------------------------------------------------- the model's facts


@dataclass
class Person:
    project: str
    author: str  # "family" or a staff user id as text
    has_phone: bool = False
    withdrawn: bool = False
    erased: bool = False


@dataclass
class Rec:
    type: str
    owner: str | None  # participant id (None: project-level)
    project: str
    recorded_by: str | None = None  # staff user id as text, for feedback
    mode: str | None = None
    feedback_ids: list[str] = field(default_factory=list)
    live: bool = True


@dataclass
class Dev:
    phone: Replica
    kind: str  # "family" | "worker" | "coordinator"
    user: str | None = None  # staff user id as text
    participant: str | None = None
    revoked: bool = False


# ---------------------------------------------------------------- the reference


def staff_sees_person(model, dev: Dev, pid: str) -> bool:
    person = model.people[pid]
    if person.erased or person.has_phone or person.withdrawn:
        return False
    if person.project not in model.projects_of(dev.user):
        return False
    return dev.kind == "coordinator" or person.author == dev.user


def expected(model, dev: Dev) -> dict[str, list[str] | None]:
    """What this device may hold: record id -> cut feedback_ids (actions) or None."""
    out: dict[str, list[str] | None] = {}
    live = {rid: r for rid, r in model.records.items() if r.live}
    if dev.kind == "family":
        me = dev.participant
        mine = {rid for rid, r in live.items() if r.type == "feedback" and r.owner == me}
        for rid, r in live.items():
            if r.owner == me or (r.type in ("project", "statement") and r.project == model.people[me].project):
                out[rid] = None
            elif r.type == "action" and set(r.feedback_ids) & mine:
                out[rid] = [f for f in r.feedback_ids if f in mine]
        return out
    projects = model.projects_of(dev.user)
    people = {pid for pid in model.people if staff_sees_person(model, dev, pid)}
    seen_feedback = {rid for rid, r in live.items() if r.type == "feedback" and r.owner in people}
    for rid, r in live.items():
        if r.type in ("project", "statement") and r.project in projects:
            out[rid] = None
        elif r.type == "action" and r.project in projects:
            out[rid] = [f for f in r.feedback_ids if f in seen_feedback]
        elif r.owner in people and r.type != "equality":
            out[rid] = None
    return out


def staff_may_write(model, dev: Dev, rec: Rec) -> bool:
    """The write rule for a staff device changing a participant's feedback."""
    person = model.people[rec.owner]
    if person.erased or person.has_phone or person.project not in model.projects_of(dev.user):
        return False
    if rec.mode == "self" or not rec.live:
        return False
    if dev.kind == "coordinator":
        return True
    return person.author == dev.user and rec.recorded_by in (None, dev.user)


def _rewrite_feedback(dev: Dev, fid: str, rec: Rec, *, text: str, mode: str) -> dict:
    """Push a new version of feedback ``fid`` from ``dev``'s phone, for the same person and project."""
    return dev.phone.record(
        "feedback", fid, participant_id=rec.owner, project_id=rec.project, stage="design", text=text, mode=mode
    )


# ---------------------------------------------------------------- the machine


def _wipe():
    from server.extensions import db
    from sync.schema import metadata

    db.session.rollback()
    for table in reversed(metadata.sorted_tables):
        if table.name != "alembic_version":
            db.session.execute(table.delete())
    db.session.commit()


class AccessMachine(RuleBasedStateMachine):
    families = Bundle("families")
    staff_phones = Bundle("staff_phones")
    people = Bundle("people")
    feedback = Bundle("feedback")

    client = None
    make_user = None

    def __init__(self):
        super().__init__()
        from server.domain import projects
        from server.domain.models import Statement
        from server.extensions import db

        _wipe()
        self.coordinator = self.make_user("coordinator")
        self.worker = self.make_user("worker")
        self.mover = self.make_user("worker")  # taken off and put back on the project
        self.project = projects.create_project("Short breaks", "", 3, self.coordinator, [self.worker, self.mover])
        self.other = projects.create_project("Transport", "", 2, self.make_user("coordinator"))
        db.session.commit()
        self.assigned = {
            str(self.coordinator.id): {self.project},
            str(self.worker.id): {self.project},
            str(self.mover.id): {self.project},
        }
        self.records: dict[str, Rec] = {}
        for pid in (self.project, self.other):
            self.records[pid] = Rec("project", None, pid)
        for sid, pid in db.session.execute(db.select(Statement.id, Statement.project_id)).all():
            self.records[sid] = Rec("statement", None, pid)
        self.statement = next(s for s, r in self.records.items() if r.type == "statement" and r.project == self.project)
        self.people: dict[str, Person] = {}
        self.devices: list[Dev] = []

    def projects_of(self, user: str) -> set[str]:
        return self.assigned.get(user, set())

    # ---- devices

    @initialize(target=staff_phones)
    def staff_devices(self):
        from server.auth.devices import STAFF, issue_device
        from server.extensions import db

        out = []
        for user, kind in ((self.coordinator, "coordinator"), (self.worker, "worker"), (self.mover, "worker")):
            _, token = issue_device(kind=STAFF, user_id=user.id)
            db.session.commit()
            dev = Dev(Replica(self.client, token, None, self.project), kind, user=str(user.id))
            self.devices.append(dev)
            out.append(dev)
        return multiple(*out)

    @rule(target=families)
    def join(self):
        from server.auth.devices import PARTICIPANT, issue_device
        from server.extensions import db

        pid = str(uuid.uuid4())
        _, token = issue_device(kind=PARTICIPANT, participant_id=pid, project_id=self.project)
        db.session.commit()
        phone = Replica(self.client, token, pid, self.project)
        record = phone.record("participant", pid, project_id=self.project, role="parent_carer", age_band="26_or_over")
        assert phone.statuses([record]) == [("applied", None)]
        self.people[pid] = Person(self.project, "family", has_phone=True)
        self.records[pid] = Rec("participant", pid, self.project)
        dev = Dev(phone, "family", participant=pid)
        self.devices.append(dev)
        return dev

    @rule(target=people, dev=staff_phones)
    def visit(self, dev):
        """A staff device records a new family on a visit, with feedback and equality answers."""
        pid = str(uuid.uuid4())
        phone = dev.phone
        fid = str(uuid.uuid4())
        records = [
            phone.record("participant", pid, project_id=self.project, role="child", age_band="under_13"),
            phone.record(
                "feedback",
                fid,
                participant_id=pid,
                project_id=self.project,
                stage="design",
                text="On a visit",
                mode="proxy",
            ),
            phone.record("equality", equality_id(pid, self.project), participant_id=pid, project_id=self.project),
        ]
        allowed = self.project in self.projects_of(dev.user)
        outcome = phone.statuses(records)
        if not allowed:
            assert outcome == [("rejected", "forbidden")] * 3
            return multiple()
        assert outcome == [("applied", None)] * 3
        self.people[pid] = Person(self.project, dev.user)
        self.records[pid] = Rec("participant", pid, self.project)
        self.records[fid] = Rec("feedback", pid, self.project, recorded_by=dev.user, mode="proxy")
        self.records[equality_id(pid, self.project)] = Rec("equality", pid, self.project)
        return pid

    # ---- writes

    @rule(target=feedback, dev=families)
    def family_feedback(self, dev):
        if dev.revoked:
            return multiple()
        record = dev.phone.feedback("Our words")
        assert dev.phone.statuses([record]) == [("applied", None)]
        self.records[record["id"]] = Rec("feedback", dev.participant, self.project, mode="self")
        return record["id"]

    @rule(dev=families, fid=feedback)
    def family_writes_someone_elses(self, dev, fid):
        rec = self.records[fid]
        if dev.revoked or rec.owner == dev.participant:
            return
        attempt = _rewrite_feedback(dev, fid, rec, text="Not mine", mode="self")
        assert dev.phone.statuses([attempt]) == [("rejected", "forbidden")]

    @rule(dev=staff_phones, fid=feedback)
    def staff_edit(self, dev, fid):
        rec = self.records[fid]
        attempt = _rewrite_feedback(dev, fid, rec, text="Edited", mode="assisted")
        may = staff_may_write(self, dev, rec)
        status = dev.phone.statuses([attempt])[0]
        if not rec.live:
            assert status in (("unchanged", None), ("rejected", "forbidden"))
            return
        assert status == (("applied", None) if may else ("rejected", "forbidden"))
        if may:
            rec.recorded_by, rec.mode = dev.user, "assisted"

    @rule(dev=staff_phones, pid=people)
    def staff_plants_equality_on_a_family_phone(self, dev, pid):
        """Never a record for a family with their own phone."""
        person = self.people[pid]
        if not person.has_phone or person.erased:
            return
        eid = equality_id(pid, person.project)
        attempt = dev.phone.record("equality", eid, participant_id=pid, project_id=person.project)
        assert dev.phone.statuses([attempt])[0][0] in ("rejected", "unchanged")

    # ---- access changes

    @rule(target=families, dev=staff_phones, pid=people)
    def claim(self, dev, pid):
        person = self.people[pid]
        response = self.client.post("/api/claims", json={"participant_id": pid}, headers=dev.phone.headers)
        on_project = person.project in self.projects_of(dev.user) and not person.erased
        may = on_project and not person.has_phone and (dev.kind == "coordinator" or person.author == dev.user)
        if not may:
            assert response.status_code in (403, 404)
            return multiple()
        assert response.status_code == 201, response.get_json()
        return self._redeem(response.get_json()["code"], pid)

    def _redeem(self, code, pid):
        response = self.client.post("/api/claims/redeem", json={"code": code})
        assert response.status_code == 201, response.get_json()
        self.people[pid].has_phone = True
        dev = Dev(Replica(self.client, response.get_json()["token"], pid, self.project), "family", participant=pid)
        self.devices.append(dev)
        return dev

    @rule(target=families, dev=families)
    def another_phone(self, dev):
        response = self.client.post("/api/me/another-phone", headers=dev.phone.headers)
        if dev.revoked:
            assert response.status_code == 401
            return multiple()
        assert response.status_code == 201
        return self._redeem(response.get_json()["code"], dev.participant)

    @rule(pid=people)
    def withdraw_consent(self, pid):
        from server.domain import projects
        from server.extensions import db

        person = self.people[pid]
        if person.erased:
            return
        values = {
            "participant_id": pid,
            "project_id": person.project,
            "notice_version": "1",
            "given_by": "parent_carer",
            "given_at": "2026-11-01T10:00:00Z",
            "withdrawn_at": "2026-11-02T10:00:00Z",
        }
        projects.write_record("consent", consent_id(pid, person.project), values)
        db.session.commit()
        person.withdrawn = True
        self.records[consent_id(pid, person.project)] = Rec("consent", pid, person.project)

    @rule(on=st.booleans())
    def move_staff(self, on):
        from server.domain import projects
        from server.extensions import db

        if on:
            projects.add_staff(self.project, [self.mover])
            self.assigned[str(self.mover.id)] = {self.project}
        else:
            projects.remove_staff(self.project, self.mover)
            self.assigned[str(self.mover.id)] = set()
        db.session.commit()

    @rule(dev=consumes(families))
    def erase(self, dev):
        response = self.client.post("/api/me/erase", headers=dev.phone.headers)
        if dev.revoked:
            assert response.status_code == 401
            return
        assert response.status_code == 200
        self.people[dev.participant].erased = True
        for rec in self.records.values():
            if rec.owner == dev.participant:
                rec.live = False
        for other in self.devices:
            if other.participant == dev.participant:
                other.revoked = True

    @rule(dev=families)
    def revoke(self, dev):
        response = self.client.delete("/api/devices/current", headers=dev.phone.headers)
        assert response.status_code == (401 if dev.revoked else 204)
        dev.revoked = True

    @rule(picks=st.lists(st.integers(0, 50), max_size=4))
    def link_action(self, picks):
        from server.domain import projects
        from server.extensions import db

        live = sorted(rid for rid, r in self.records.items() if r.type == "feedback" and r.live)
        chosen = sorted({live[i % len(live)] for i in picks}) if live else []
        action = next((rid for rid, r in self.records.items() if r.type == "action"), None) or str(uuid.uuid4())
        values = {"project_id": self.project, "stage": "design", "status": "planned", "feedback_ids": chosen}
        projects.write_record("action", action, values)
        db.session.commit()
        self.records[action] = Rec("action", None, self.project, feedback_ids=chosen)

    # ---- pulls

    @rule(dev=st.one_of(families, staff_phones))
    def lose_a_response(self, dev):
        """The device pulls but never receives the answer: its cursor stays where it was."""
        self.client.get(f"/api/sync/pull?cursor={dev.phone.cursor}&limit=3", headers=dev.phone.headers)

    @rule(dev=st.one_of(families, staff_phones))
    def pull_to_the_end(self, dev):
        response = dev.phone.sync()
        if dev.revoked:
            assert response.status_code == 401
            assert response.get_json()["error"]["code"] == "device_revoked"
            return
        assert response.status_code == 200
        self.check_replica(dev)

    def check_replica(self, dev):
        from server.domain.projects import read_record

        want = expected(self, dev)
        held = dev.phone.held
        assert set(held) == set(want), (
            f"{dev.kind}: extra {sorted(set(held) - set(want))}, missing {sorted(set(want) - set(held))}"
        )
        for rid, record in held.items():
            values = {k: r["v"] for k, r in record["fields"].items()}
            server = read_record(rid).values()
            if want[rid] is not None:
                assert values["feedback_ids"] == want[rid]
                server["feedback_ids"] = want[rid]
            assert values == server, f"{dev.kind} holds a stale {record['type']}"

    @invariant()
    def no_equality_on_staff_phones(self):
        for dev in self.devices:
            if dev.kind != "family":
                assert "equality" not in dev.phone.types()


@pytest.mark.slow
def test_every_replica_equals_the_rule(app, client, make_user):
    from hypothesis.stateful import run_state_machine_as_test

    class Machine(AccessMachine):
        pass

    Machine.client = client
    Machine.make_user = staticmethod(make_user)
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=int(os.environ.get("WITHUS_ACCESS_EXAMPLES", "10")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
