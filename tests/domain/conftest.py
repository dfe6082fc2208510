"""Helpers for the domain tests: records, stamps, staff, projects and devices."""

import itertools

import pytest

from sync.hlc import Clock
from sync.records import Record
from tests.factories import wire

NODE = "00000000000000aa"


class Stamps:
    """A device's clock with a wall that only moves when told: predictable stamps."""

    def __init__(self, node=NODE, wall=1_764_147_600_000):
        self.wall = wall
        self.clock = Clock(node, now_ms=lambda: self.wall)

    def __call__(self):
        return self.clock.tick()


@pytest.fixture
def stamps():
    return Stamps()


def rec(rtype, rid, values, stamp, deleted=None):
    return Record.from_wire(wire(rtype, rid, values, stamp, deleted))


_n = itertools.count(1)


@pytest.fixture
def project_and_devices(app, make_user):
    """A project with a coordinator and a worker, a second project, and a participant device."""
    from server.auth.devices import PARTICIPANT, STAFF, issue_device
    from server.domain import projects, types
    from server.extensions import db

    coordinator = make_user("coordinator")
    worker = make_user("worker")
    other_worker = make_user("worker")
    project = projects.create_project("Short breaks", "Summer plans", 3, coordinator, [worker])
    other = projects.create_project("Transport", "Buses", 2, make_user("coordinator"), [other_worker])
    pid = types.uuid7()
    device, token = issue_device(kind=PARTICIPANT, participant_id=pid, project_id=project)
    wdev, wtoken = issue_device(kind=STAFF, user_id=worker.id)
    cdev, ctoken = issue_device(kind=STAFF, user_id=coordinator.id)
    odev, otoken = issue_device(kind=STAFF, user_id=other_worker.id)
    db.session.commit()
    from server.domain.models import Statement

    statements = (
        db.session.execute(db.select(Statement.id).where(Statement.project_id == project).order_by(Statement.order))
        .scalars()
        .all()
    )

    class ProjectAndDevices:
        pass

    w = ProjectAndDevices()
    w.coordinator, w.worker, w.other_worker = coordinator, worker, other_worker
    w.project, w.other_project = project, other
    w.participant_id = pid
    w.device, w.token = device, token
    w.worker_device, w.worker_token = wdev, wtoken
    w.coordinator_device, w.coordinator_token = cdev, ctoken
    w.other_device, w.other_token = odev, otoken
    w.statements = statements
    return w


def push(actor, records_in):
    """Push through DomainHooks on the session's connection and commit; return outcomes."""
    from server.domain.hooks import DomainHooks
    from server.extensions import db
    from sync.store import push as store_push

    outcomes = store_push(db.session.connection(), records_in, DomainHooks(actor))
    db.session.commit()
    return outcomes


def statuses(outcomes):
    return [(o.status, o.error.code if o.error else None, o.error.field if o.error else None) for o in outcomes]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}
