"""DomainHooks: validation on push, natural ids, and who may write what."""

import pytest

from server.domain import types
from server.domain.actors import SYSTEM
from server.extensions import db
from tests.domain.conftest import bearer, push, rec, statuses
from tests.factories import checklist_answer, participant_values, wire


def _join(w, stamps):
    """The participant's phone pushes its own participant record."""
    out = push(w.device, [rec("participant", w.participant_id, participant_values(w.project), stamps())])
    assert statuses(out) == [("applied", None, None)]


def test_participant_writes_own_records_and_bad_ones_are_rejected_alone(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    good_id, good = checklist_answer(w.participant_id, w.project, w.statements[0])
    bad_id, bad = checklist_answer(w.participant_id, w.project, w.statements[1], value="yes")
    other_id, other = checklist_answer(w.participant_id, w.project, w.statements[2])
    out = push(
        w.device,
        [
            rec("checklist_answer", good_id, good, stamps()),
            rec("checklist_answer", bad_id, bad, stamps()),
            rec("checklist_answer", other_id, other, stamps()),
        ],
    )
    assert statuses(out) == [
        ("applied", None, None),
        ("rejected", "invalid", "value"),
        ("applied", None, None),
    ]


def _projected_answers(answer_id):
    from server.domain.models import ChecklistAnswer
    from server.extensions import db

    return db.session.get(ChecklistAnswer, answer_id)


def _pulled_ids(actor):
    from server.domain.access import visible_clause
    from server.extensions import db
    from sync.store import pull

    page = pull(db.session.connection(), 0, 1000, visible_clause(actor))
    return {r.id: r for r in page.records}


def test_an_incomplete_record_is_kept_out_of_sight_until_it_is_complete(project_and_devices, stamps):
    """Protocol 1.1: a write missing required fields is stored, not rejected, and stays invisible."""
    w = project_and_devices
    _join(w, stamps)
    rid, values = checklist_answer(w.participant_id, w.project, w.statements[0], comment="Kind people")
    partial = {k: v for k, v in values.items() if k not in ("mode", "value")}
    assert statuses(push(w.device, [rec("checklist_answer", rid, partial, stamps())])) == [("applied", None, None)]
    assert _projected_answers(rid) is None
    assert rid not in _pulled_ids(w.device)
    # The rest arrives, stamped earlier: the record is now what it would have been in order.
    early = _older_stamp(stamps)
    assert statuses(push(w.device, [rec("checklist_answer", rid, values | {"comment": "x"}, early)])) == [
        ("applied", None, None)
    ]
    row = _projected_answers(rid)
    assert (row.value, row.mode, row.comment) == ("agree", "self", "Kind people")
    assert _pulled_ids(w.device)[rid].values()["comment"] == "Kind people"


def _older_stamp(stamps):
    """A stamp below every stamp ``stamps`` has issued: an older write arriving late."""
    wall = stamps.clock.last[:13]
    return f"{int(wall) - 60_000:013d}-0000-00000000000000bb"


def test_every_write_to_an_unknown_record_carries_its_identifying_fields(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    rid, _ = checklist_answer(w.participant_id, w.project, w.statements[0])
    bare = push(w.device, [rec("checklist_answer", rid, {}, None, deleted=stamps())])
    assert statuses(bare) == [("rejected", "invalid", "participant_id")]
    assert "identifying" in bare[0].error.message
    edit = push(w.device, [rec("checklist_answer", rid, {"comment": "Later"}, stamps())])
    assert statuses(edit) == [("rejected", "invalid", "participant_id")]


def test_a_deletion_arriving_before_the_creation_still_wins(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    rid, values = checklist_answer(w.participant_id, w.project, w.statements[0])
    identity = {k: values[k] for k in ("participant_id", "project_id", "stage", "statement_id")}
    created, gone = stamps(), stamps()
    deleted = push(w.device, [rec("checklist_answer", rid, identity, gone, deleted=gone)])
    assert statuses(deleted) == [("applied", None, None)]
    assert statuses(push(w.device, [rec("checklist_answer", rid, values, created)])) == [("unchanged", None, None)]
    assert _projected_answers(rid) is None
    pulled = _pulled_ids(w.device)[rid]
    assert pulled.deleted is not None and pulled.fields == {}


def test_natural_id_must_match_the_natural_key(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    _, values = checklist_answer(w.participant_id, w.project, w.statements[0])
    wrong = types.uuid7()
    assert statuses(push(w.device, [rec("checklist_answer", wrong, values, stamps())])) == [
        ("rejected", "invalid", "id")
    ]
    # Same key, different statement: the id of statement 0 does not fit statement 1.
    rid0, _ = checklist_answer(w.participant_id, w.project, w.statements[0])
    _, values1 = checklist_answer(w.participant_id, w.project, w.statements[1])
    assert statuses(push(w.device, [rec("checklist_answer", rid0, values1, stamps())])) == [
        ("rejected", "invalid", "id")
    ]
    rating = {
        "participant_id": w.participant_id,
        "project_id": w.project,
        "stage": "design",
        "rung": 3,
        "mode": "self",
    }
    assert statuses(push(w.device, [rec("ladder_rating", types.uuid7(), rating, stamps())])) == [
        ("rejected", "invalid", "id")
    ]
    rid = types.ladder_rating_id(w.participant_id, w.project, "design")
    assert statuses(push(w.device, [rec("ladder_rating", rid, rating, stamps())])) == [("applied", None, None)]


def test_unknown_and_server_only_types(project_and_devices, stamps):
    w = project_and_devices
    project = {"title": "Mine now", "current_stage": "design", "target_rung": 4, "status": "active"}
    for actor in (w.device, w.worker_device, w.coordinator_device):
        out = push(
            actor,
            [
                rec("gossip", types.uuid7(), {"text": "hi"}, stamps()),
                rec("project", w.project, project, stamps()),
                rec("statement", w.statements[0], {"active": False}, stamps()),
                rec(
                    "action",
                    types.uuid7(),
                    {"project_id": w.project, "stage": "design", "status": "done"},
                    stamps(),
                ),
                rec(
                    "review",
                    types.uuid7(),
                    {"project_id": w.project, "stage": "design", "date": "2026-11-26"},
                    stamps(),
                ),
            ],
        )
        assert [s[:2] for s in statuses(out)] == [("rejected", "unknown_type")] + [("rejected", "forbidden")] * 4


def test_participant_cannot_write_anothers_records_or_move_them(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    stranger = types.uuid7()
    rid, values = checklist_answer(stranger, w.project, w.statements[0])
    assert statuses(push(w.device, [rec("checklist_answer", rid, values, stamps())])) == [
        ("rejected", "forbidden", "participant_id")
    ]
    # Its own answer, but in a project it did not join.
    rid, values = checklist_answer(w.participant_id, w.other_project, w.statements[0])
    assert statuses(push(w.device, [rec("checklist_answer", rid, values, stamps())])) == [
        ("rejected", "forbidden", "project_id")
    ]
    # Another participant record.
    assert statuses(push(w.device, [rec("participant", stranger, participant_values(w.project), stamps())])) == [
        ("rejected", "forbidden", "id")
    ]
    # Its own participant record cannot move to another project.
    assert statuses(
        push(
            w.device,
            [rec("participant", w.participant_id, {"project_id": w.other_project}, stamps())],
        )
    ) == [("rejected", "forbidden", "project_id")]
    # Feedback (a created id) cannot be moved to another participant once written.
    fid = types.uuid7()
    feedback = {
        "participant_id": w.participant_id,
        "project_id": w.project,
        "stage": "design",
        "text": "More evening sessions please",
        "mode": "self",
    }
    assert statuses(push(w.device, [rec("feedback", fid, feedback, stamps())])) == [("applied", None, None)]
    assert statuses(push(w.device, [rec("feedback", fid, {"participant_id": stranger}, stamps())])) == [
        ("rejected", "forbidden", "participant_id")
    ]
    # A participant cannot pretend a member of staff recorded it.
    assert statuses(push(w.device, [rec("feedback", fid, {"recorded_by": str(w.worker.id)}, stamps())])) == [
        ("rejected", "forbidden", "recorded_by")
    ]


def test_worker_records_only_in_their_projects_assisted_and_as_themselves(project_and_devices, stamps):
    w = project_and_devices
    family = types.uuid7()
    me = str(w.worker.id)
    out = push(
        w.worker_device,
        [rec("participant", family, participant_values(w.project, role="parent_carer"), stamps())],
    )
    assert statuses(out) == [("applied", None, None)]
    rid, values = checklist_answer(family, w.project, w.statements[0], mode="assisted", recorded_by=me)
    assert statuses(push(w.worker_device, [rec("checklist_answer", rid, values, stamps())])) == [
        ("applied", None, None)
    ]
    # Mode self is the family's own voice, not a worker's.
    rid1, values = checklist_answer(family, w.project, w.statements[1], mode="self", recorded_by=me)
    assert statuses(push(w.worker_device, [rec("checklist_answer", rid1, values, stamps())])) == [
        ("rejected", "forbidden", "mode")
    ]
    # recorded_by must be the worker's own id.
    rid2, values = checklist_answer(family, w.project, w.statements[2], mode="proxy", recorded_by=str(w.coordinator.id))
    assert statuses(push(w.worker_device, [rec("checklist_answer", rid2, values, stamps())])) == [
        ("rejected", "forbidden", "recorded_by")
    ]
    # Missing recorded_by.
    rid3, values = checklist_answer(family, w.project, w.statements[3], mode="proxy")
    assert statuses(push(w.worker_device, [rec("checklist_answer", rid3, values, stamps())]))[0][:2] == (
        "rejected",
        "forbidden",
    )
    # A worker of another project can do nothing here.
    other_me = str(w.other_worker.id)
    out = push(
        w.other_device,
        [
            rec("participant", types.uuid7(), participant_values(w.project), stamps()),
            rec("checklist_answer", rid, {"value": "disagree", "recorded_by": other_me}, stamps()),
        ],
    )
    assert statuses(out) == [
        ("rejected", "forbidden", "project_id"),
        ("rejected", "forbidden", "project_id"),
    ]
    # Nor for a participant who is not in the project named.
    ghost = types.uuid7()
    rid4, values = checklist_answer(ghost, w.project, w.statements[0], mode="assisted", recorded_by=me)
    assert statuses(push(w.worker_device, [rec("checklist_answer", rid4, values, stamps())])) == [
        ("rejected", "forbidden", "participant_id")
    ]


def test_worker_can_add_a_participant_and_answers_in_one_batch(project_and_devices, stamps):
    w = project_and_devices
    family = types.uuid7()
    me = str(w.worker.id)
    rid, values = checklist_answer(family, w.project, w.statements[0], mode="assisted", recorded_by=me)
    out = push(
        w.worker_device,
        [
            rec("participant", family, participant_values(w.project), stamps()),
            rec("checklist_answer", rid, values, stamps()),
        ],
    )
    assert statuses(out) == [("applied", None, None)] * 2


def test_coordinator_records_in_their_projects_only(project_and_devices, stamps):
    w = project_and_devices
    me = str(w.coordinator.id)
    family = types.uuid7()
    assert statuses(
        push(
            w.coordinator_device,
            [rec("participant", family, participant_values(w.project), stamps())],
        )
    ) == [("applied", None, None)]
    fid = types.uuid7()
    feedback = {
        "participant_id": family,
        "project_id": w.project,
        "stage": "design",
        "text": "Hard to park",
        "mode": "assisted",
        "recorded_by": me,
    }
    assert statuses(push(w.coordinator_device, [rec("feedback", fid, feedback, stamps())])) == [("applied", None, None)]
    assert statuses(
        push(
            w.coordinator_device,
            [rec("participant", types.uuid7(), participant_values(w.other_project), stamps())],
        )
    ) == [("rejected", "forbidden", "project_id")]


def test_staff_users_write_server_types_workers_do_not(project_and_devices, stamps):
    w = project_and_devices
    action = {"project_id": w.project, "stage": "design", "status": "planned", "feedback_ids": []}
    assert statuses(push(w.coordinator, [rec("action", types.uuid7(), action, stamps())])) == [("applied", None, None)]
    assert statuses(push(w.worker, [rec("action", types.uuid7(), action, stamps())])) == [
        ("rejected", "forbidden", "type")
    ]
    assert statuses(push(w.other_worker, [rec("statement", w.statements[0], {"active": False}, stamps())])) == [
        ("rejected", "forbidden", "project_id")
    ]


def _child_under_13(w, stamps):
    """The phone's participant record for a child under 13."""
    values = participant_values(w.project, role="child", age_band="under_13")
    return rec("participant", w.participant_id, values, stamps())


def _consent_given_by_themselves(w):
    """The consent record's id and fields, as if the participant consented for themselves."""
    return types.consent_id(w.participant_id, w.project), {
        "participant_id": w.participant_id,
        "project_id": w.project,
        "notice_version": "2026-1",
        "given_by": "self",
        "given_at": "2026-11-26T10:00:00Z",
        "withdrawn_at": None,
    }


def test_consent_for_a_child_under_13_is_given_by_a_parent_or_carer(project_and_devices, stamps):
    w = project_and_devices
    assert statuses(push(w.device, [_child_under_13(w, stamps)])) == [("applied", None, None)]
    cid, consent = _consent_given_by_themselves(w)
    assert statuses(push(w.device, [rec("consent", cid, consent, stamps())])) == [("rejected", "invalid", "given_by")]
    consent["given_by"] = "parent_carer"
    assert statuses(push(w.device, [rec("consent", cid, consent, stamps())])) == [("applied", None, None)]


def test_the_same_batch_sees_the_childs_age_band(project_and_devices, stamps):
    w = project_and_devices
    cid, consent = _consent_given_by_themselves(w)
    out = push(w.device, [_child_under_13(w, stamps), rec("consent", cid, consent, stamps())])
    assert statuses(out) == [("applied", None, None), ("rejected", "invalid", "given_by")]


def _take_access_away(w, how):
    from server.auth.models import utcnow
    from server.domain import projects
    from server.extensions import db

    if how == "account made inactive":
        w.worker.active = False
    elif how == "device revoked":
        w.worker_device.revoked_at = utcnow()
    else:
        projects.remove_staff(w.project, w.worker)
    db.session.commit()


@pytest.mark.parametrize("how", ["account made inactive", "device revoked", "taken off the project"])
def test_revoked_or_inactive_staff_cannot_write(project_and_devices, client, stamps, how):
    """A worker whose access ends can write nothing more, however it ended."""
    from sync.store import head

    w = project_and_devices

    def record_a_family():
        body = {"schema": 1, "records": [wire("participant", types.uuid7(), participant_values(w.project), stamps())]}
        return client.post("/api/sync/push", json=body, headers=bearer(w.worker_token))

    before = record_a_family()  # the same write works while access lasts
    assert before.status_code == 200 and before.get_json()["results"][0]["status"] == "applied"
    _take_access_away(w, how)
    changes = head(db.session.connection())
    response = record_a_family()
    if how == "taken off the project":
        # The device still signs in (other projects), but may not write to this one.
        assert response.status_code == 200
        assert response.get_json()["results"][0]["error"]["code"] == "forbidden"
    else:
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "device_revoked"
    assert head(db.session.connection()) == changes
    # The hooks refuse too, should a write reach them another way.
    if how != "device revoked":
        out = push(w.worker_device, [rec("participant", types.uuid7(), participant_values(w.project), stamps())])
        assert statuses(out)[0][:2] == ("rejected", "forbidden")


def test_system_writes_anything_valid(project_and_devices):
    from sync.hlc import now_ms
    from tests.domain.conftest import Stamps

    w = project_and_devices
    stamps = Stamps(wall=now_ms() + 1000)  # after the server's own writes
    out = push(
        SYSTEM,
        [
            rec("project", w.project, {"current_stage": "delivery"}, stamps()),
            rec("project", w.project, {"current_stage": "later"}, stamps()),
        ],
    )
    assert statuses(out) == [("applied", None, None), ("rejected", "invalid", "current_stage")]


def test_an_answer_names_a_statement_of_its_project(project_and_devices, stamps):
    from server.domain.models import Statement
    from server.extensions import db

    w = project_and_devices
    _join(w, stamps)
    elsewhere = (
        db.session.execute(db.select(Statement.id).where(Statement.project_id == w.other_project)).scalars().first()
    )
    for statement in (elsewhere, types.uuid7()):
        rid, values = checklist_answer(w.participant_id, w.project, statement)
        out = push(w.device, [rec("checklist_answer", rid, values, stamps())])
        assert statuses(out) == [("rejected", "invalid", "statement_id")]


def test_a_resent_deletion_is_unchanged(project_and_devices, stamps):
    w = project_and_devices
    _join(w, stamps)
    rid, values = checklist_answer(w.participant_id, w.project, w.statements[0])
    push(w.device, [rec("checklist_answer", rid, values, stamps())])
    deletion = rec("checklist_answer", rid, {}, None, deleted=stamps())
    assert statuses(push(w.device, [deletion])) == [("applied", None, None)]
    assert statuses(push(w.device, [deletion])) == [("unchanged", None, None)]
    assert statuses(push(w.device, [rec("checklist_answer", rid, values, stamps())])) == [("unchanged", None, None)]
