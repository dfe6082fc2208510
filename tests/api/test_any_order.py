"""Any arrival order converges (protocol 1.1), held against a reference model written from the protocol.

Two phones of one family write answers and feedback offline (clocks hours apart),
including edits and deletions that reach the server before the record's creation.
Their batches arrive in any order, split anywhere, some resent, with pulls from
saved cursors at random moments. The model below knows nothing of the server: per
field the greatest (stamp, canonical JSON) wins, a tombstone beats every field.
"""

import json
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.hlc import Clock
from sync.records import Record, merge
from tests.api.conftest import Phone, natural_id

NODES = ("000000000000a001", "000000000000b002")
HOUR = 3_600_000


# ---------------------------------------------------------------- the reference model


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def reference(writes):
    """The state every replica must reach: {id: ("deleted", stamp) | ("live", {field: value})}."""
    out = {}
    for rid in {w["id"] for w in writes}:
        mine = [w for w in writes if w["id"] == rid]
        tombstones = [w["deleted"] for w in mine if w["deleted"]]
        if tombstones:
            out[rid] = ("deleted", max(tombstones))
            continue
        best = {}
        for w in mine:
            for name, reg in w["fields"].items():
                key = (reg["t"], canonical(reg["v"]))
                if name not in best or key > best[name][0]:
                    best[name] = (key, reg["v"])
        out[rid] = ("live", {name: v for name, (_, v) in best.items()})
    return out


def state_of(record):
    if record is None:
        return None
    if record.deleted:
        return ("deleted", record.deleted)
    return ("live", record.values())


# ---------------------------------------------------------------- histories

KINDS = st.sampled_from(["create", "edit", "delete"])
op = st.tuples(st.integers(0, 1), st.integers(0, 3), KINDS, st.integers(0, 2), st.integers(0, 90_000))
history = st.fixed_dictionaries(
    {
        "ops": st.lists(op, min_size=1, max_size=14),
        "skews": st.tuples(st.integers(-3 * HOUR, 3 * HOUR), st.integers(-3 * HOUR, 3 * HOUR)),
        "cuts": st.lists(st.booleans(), min_size=14, max_size=14),
        "order": st.randoms(use_true_random=False),
        "resends": st.lists(st.integers(0, 30), max_size=4),
        "pulls": st.lists(st.tuples(st.integers(0, 30), st.integers(0, 1)), max_size=5),
    }
)

VALUES = ("agree", "not_sure", "disagree")
TEXTS = ("Kind people", "Too far to travel", "Letters were clear")


def make_writes(h, family, statements):
    """Turn drawn ops into wire records per phone, each stamped by that phone's skewed clock."""
    participant_id, project_id = family
    feedback_id = str(uuid.uuid4())
    base = int(time.time() * 1000) - 8 * HOUR  # every stamp stays behind the server's clock
    walls = [base + h["skews"][0], base + h["skews"][1]]
    clocks = [Clock(NODES[i], now_ms=lambda i=i: walls[i]) for i in (0, 1)]
    ops = list(h["ops"])
    for slot in range(4):  # every record is created by someone at some point
        if not any(o[1] == slot and o[2] == "create" for o in ops):
            ops.append((slot % 2, slot, "create", slot % 3, 1000))
    by_phone = ([], [])
    for phone, slot, kind, pick, advance in ops:
        walls[phone] += advance
        by_phone[phone].append(
            _write(clocks[phone].tick(), slot, kind, pick, participant_id, project_id, statements, feedback_id)
        )
    return by_phone


def _write(t, slot, kind, pick, participant_id, project_id, statements, feedback_id):
    ident = {"participant_id": participant_id, "project_id": project_id, "stage": "design"}
    if slot < 3:
        rtype = "checklist_answer"
        ident["statement_id"] = statements[slot]
        rid = natural_id("checklist_answer", participant_id, project_id, "design", statements[slot])
        full = {"value": VALUES[pick], "mode": "self", "comment": TEXTS[pick]}
        edit = {"value": VALUES[pick]} if pick % 2 else {"comment": TEXTS[pick]}
    else:
        rtype, rid = "feedback", feedback_id
        full = {"text": TEXTS[pick], "mode": "self", "principle": "equality"}
        edit = {"text": TEXTS[pick]}
    values = {**ident, **(full if kind == "create" else edit if kind == "edit" else {})}
    return {
        "type": rtype,
        "id": rid,
        "fields": {name: {"v": v, "t": t} for name, v in values.items()},
        "deleted": t if kind == "delete" else None,
    }


def deliveries(h, by_phone):
    """Split each phone's writes into batches; shuffle all batches; resend some."""
    batches, cuts = [], iter(h["cuts"] * 2)
    for phone, writes in enumerate(by_phone):
        current = []
        for write in writes:
            current.append(write)
            if next(cuts):
                batches.append((phone, current))
                current = []
        if current:
            batches.append((phone, current))
    h["order"].shuffle(batches)
    for index in h["resends"]:
        batches.insert(index % (len(batches) + 1), batches[index % len(batches)])
    return batches


# ---------------------------------------------------------------- the test


@pytest.fixture
def family(app, client, project):
    """Make a family with two phones: family() -> (participant_id, project_id, [Phone, Phone])."""
    from server.auth.devices import PARTICIPANT, issue_device
    from server.extensions import db

    def make():
        participant_id = str(uuid.uuid4())
        tokens = [
            issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=project["id"])[1] for _ in range(2)
        ]
        db.session.commit()
        phones = [Phone(client, token, participant_id, project["id"]) for token in tokens]
        joined = phones[0].push(
            [
                phones[0].record(
                    "participant", participant_id, project_id=project["id"], role="parent_carer", age_band="26_or_over"
                )
            ]
        )
        assert joined.get_json()["results"][0]["status"] == "applied"
        return participant_id, project["id"], phones

    return make


class Replica:
    """A phone's local state: its own writes, merged with what it pulls, from a saved cursor."""

    def __init__(self, phone):
        self.phone, self.records, self.cursor = phone, {}, 0

    def write(self, wire):
        record = Record.from_wire(wire)
        self.records[record.id] = merge(self.records.get(record.id), record)

    def pull(self):
        pulled, self.cursor = self.phone.pull_all(self.cursor)
        for wire in pulled.values():
            self.write(wire)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(h=history)
def test_every_order_ends_in_the_reference_state_on_server_and_phones(h, family, statements):
    from server.domain.models import ChecklistAnswer, Feedback
    from server.extensions import db
    from sync.schema import records

    participant_id, project_id, phones = family()
    by_phone = make_writes(h, (participant_id, project_id), statements)
    replicas = [Replica(phone) for phone in phones]
    for phone, writes in enumerate(by_phone):
        for wire in writes:
            replicas[phone].write(wire)

    pulls = dict(h["pulls"])
    for step, (phone, batch) in enumerate(deliveries(h, by_phone)):
        response = phones[phone].push(batch)
        assert response.status_code == 200, response.get_json()
        refused = [r for r in response.get_json()["results"] if r["status"] == "rejected"]
        assert refused == [], "a write is never refused for arriving early"
        if step in pulls:
            replicas[pulls[step]].pull()

    expected = reference(by_phone[0] + by_phone[1])
    db.session.rollback()
    rows = db.session.execute(
        db.select(records.c.id, records.c.type, records.c.fields, records.c.deleted).where(
            records.c.id.in_(list(expected))
        )
    ).all()
    server = {row.id: state_of(Record.stored(row.type, row.id, row.fields, row.deleted)) for row in rows}
    assert server == expected

    for rid, (status, values) in expected.items():
        model = ChecklistAnswer if rid != by_phone_feedback_id(by_phone) else Feedback
        projected = db.session.get(model, rid)
        assert (projected is not None) == (status == "live")
        if projected is not None and model is ChecklistAnswer:
            assert (projected.value, projected.comment) == (values["value"], values.get("comment"))

    for replica in replicas:
        replica.pull()
        assert {rid: state_of(replica.records.get(rid)) for rid in expected} == expected


def by_phone_feedback_id(by_phone):
    return next(w["id"] for writes in by_phone for w in writes if w["type"] == "feedback")
