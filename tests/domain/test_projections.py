"""Projection tables follow merges and tombstones, in the push's transaction."""

import json

from server.domain import projects, types
from server.domain.actors import SYSTEM
from server.domain.models import (
    Action,
    ActionFeedback,
    ChecklistAnswer,
    Consent,
    Feedback,
    LadderRating,
    Participant,
    Project,
    Review,
    Statement,
)
from server.extensions import db
from tests.domain.conftest import Stamps, push, rec, statuses
from tests.factories import checklist_answer, participant_values


def _rows(model, **where):
    db.session.expire_all()
    return db.session.execute(db.select(model).filter_by(**where)).scalars().all()


def test_answers_follow_field_merges_and_tombstones(project_and_devices):
    w = project_and_devices
    phone, tablet = Stamps("00000000000000a1"), Stamps("00000000000000b2")
    push(w.device, [rec("participant", w.participant_id, participant_values(w.project), phone())])
    rid, values = checklist_answer(w.participant_id, w.project, w.statements[0], comment="first")
    push(w.device, [rec("checklist_answer", rid, values, phone())])
    [row] = _rows(ChecklistAnswer, id=rid)
    assert (row.value, row.comment, row.mode, row.stage) == ("agree", "first", "self", "design")

    # Two devices edit different fields: both survive.
    tablet.wall += 10
    phone.wall += 20
    push(w.device, [rec("checklist_answer", rid, {"comment": "edited later"}, phone())])
    push(w.device, [rec("checklist_answer", rid, {"value": "disagree"}, tablet())])
    [row] = _rows(ChecklistAnswer, id=rid)
    assert (row.value, row.comment) == ("disagree", "edited later")

    # An older write loses: the projection keeps the winner.
    out = push(
        w.device,
        [
            rec(
                "checklist_answer",
                rid,
                {"value": "not_sure"},
                "1700000000000-0000-00000000000000ff",
            )
        ],
    )
    assert statuses(out) == [("unchanged", None, None)]
    assert _rows(ChecklistAnswer, id=rid)[0].value == "disagree"

    phone.wall += 10
    push(w.device, [rec("checklist_answer", rid, {}, None, deleted=phone())])
    assert _rows(ChecklistAnswer, id=rid) == []
    # Tombstones stick: a later write does not bring the row back.
    phone.wall += 10
    out = push(w.device, [rec("checklist_answer", rid, values, phone())])
    assert statuses(out) == [("unchanged", None, None)]
    assert _rows(ChecklistAnswer, id=rid) == []


def test_every_participant_type_projects(project_and_devices, stamps):
    w = project_and_devices
    pid, proj = w.participant_id, w.project
    fid = types.uuid7()
    push(
        w.device,
        [
            rec("participant", pid, participant_values(proj, display_name="Sam"), stamps()),
            rec(
                "consent",
                types.consent_id(pid, proj),
                {
                    "participant_id": pid,
                    "project_id": proj,
                    "notice_version": "v1",
                    "given_by": "self",
                    "given_at": "2026-11-26T10:00:00+01:00",
                },
                stamps(),
            ),
            rec(
                "ladder_rating",
                types.ladder_rating_id(pid, proj, "design"),
                {
                    "participant_id": pid,
                    "project_id": proj,
                    "stage": "design",
                    "rung": 2,
                    "comment": None,
                    "mode": "self",
                },
                stamps(),
            ),
            rec(
                "feedback",
                fid,
                {
                    "participant_id": pid,
                    "project_id": proj,
                    "stage": "design",
                    "text": "More evening sessions",
                    "principle": "accessibility",
                    "mode": "self",
                },
                stamps(),
            ),
            rec(
                "equality",
                types.equality_id(pid, proj),
                {"participant_id": pid, "project_id": proj, "gender": "prefer_not_to_say"},
                stamps(),
            ),
        ],
    )
    [participant] = _rows(Participant, id=pid)
    assert (participant.display_name, participant.role, participant.project_id) == (
        "Sam",
        "young_person",
        proj,
    )
    [consent] = _rows(Consent, participant_id=pid)
    assert consent.given_at.isoformat() == "2026-11-26T09:00:00"  # naive UTC
    assert _rows(LadderRating, participant_id=pid)[0].rung == 2
    [feedback] = _rows(Feedback, id=fid)
    received = feedback.received_at
    assert feedback.principle == "accessibility" and received is not None
    push(w.device, [rec("feedback", fid, {"text": "More evening sessions, please"}, stamps())])
    [feedback] = _rows(Feedback, id=fid)
    assert feedback.text.endswith("please") and feedback.received_at == received


def test_project_statements_actions_and_reviews_project(project_and_devices, stamps):
    w = project_and_devices
    [project] = _rows(Project, id=w.project)
    assert (project.title, project.current_stage, project.target_rung, project.status) == (
        "Short breaks",
        "design",
        3,
        "active",
    )
    statements = _rows(Statement, project_id=w.project)
    assert len(statements) == 12 and all(s.active and s.version == 1 for s in statements)

    push(w.device, [rec("participant", w.participant_id, participant_values(w.project), stamps())])
    f1, f2 = types.uuid7(), types.uuid7()
    for fid in (f1, f2):
        push(
            w.device,
            [
                rec(
                    "feedback",
                    fid,
                    {
                        "participant_id": w.participant_id,
                        "project_id": w.project,
                        "stage": "design",
                        "text": "Hi",
                        "mode": "self",
                    },
                    stamps(),
                )
            ],
        )
    aid = types.uuid7()
    timeline = [{"at": "2026-11-26T10:00:00Z", "status": "planned", "note": "Agreed at the meeting"}]
    projects.write_record(
        "action",
        aid,
        {
            "project_id": w.project,
            "stage": "design",
            "heard": "Evenings",
            "done": "",
            "status": "planned",
            "feedback_ids": [f1, f2],
            "timeline": timeline,
        },
        w.coordinator,
    )
    db.session.commit()
    [action] = _rows(Action, id=aid)
    assert action.status == "planned" and json.loads(action.timeline) == timeline
    assert {link.feedback_id for link in _rows(ActionFeedback, action_id=aid)} == {f1, f2}

    projects.write_record("action", aid, {"feedback_ids": [f2], "status": "done"}, w.coordinator)
    db.session.commit()
    assert [link.feedback_id for link in _rows(ActionFeedback, action_id=aid)] == [f2]
    assert _rows(Action, id=aid)[0].status == "done"

    # Feedback erased: its links go too.
    push(w.device, [rec("feedback", f2, {}, None, deleted=stamps())])
    assert _rows(ActionFeedback, action_id=aid) == []

    rid = types.uuid7()
    projects.write_record(
        "review",
        rid,
        {
            "project_id": w.project,
            "stage": "design",
            "date": "2026-11-26",
            "learned": "Evenings work",
            "roles": {"child": 3},
        },
        SYSTEM,
    )
    db.session.commit()
    [review] = _rows(Review, id=rid)
    assert str(review.date) == "2026-11-26" and json.loads(review.roles) == {"child": 3}
    assert review.worked == ""


def test_projections_can_be_rebuilt_from_the_records(project_and_devices, stamps):
    w = project_and_devices
    push(w.device, [rec("participant", w.participant_id, participant_values(w.project), stamps())])
    db.session.execute(db.delete(Participant))
    db.session.execute(db.delete(Statement))
    assert projects.rebuild_projections() > 12
    db.session.commit()
    assert len(_rows(Statement, project_id=w.project)) == 12
    assert len(_rows(Participant, id=w.participant_id)) == 1


def test_projections_converge_whatever_the_order_and_batching(project_and_devices):
    """The same writes in any order and batches give the same projection rows.

    A record's first, complete write comes before its partial edits (a device edits
    only what it has); after that, edits from two devices and deletions interleave freely.
    """
    import random

    from server.domain.models import EqualityAnswer
    from sync.schema import records

    w = project_and_devices
    pid, proj = w.participant_id, w.project
    phone, tablet = Stamps("00000000000000a1"), Stamps("00000000000000b2")
    creations = [rec("participant", pid, participant_values(proj), phone())]
    edits = [rec("participant", pid, {"display_name": "Sam"}, tablet())]
    for n, statement in enumerate(w.statements[:4]):
        rid, values = checklist_answer(pid, proj, statement, value="agree")
        creations.append(rec("checklist_answer", rid, values, phone()))
        tablet.wall = phone.wall = phone.wall + 5
        edits.append(rec("checklist_answer", rid, {"value": "disagree"}, tablet()))
        edits.append(
            rec(
                "checklist_answer",
                rid,
                {"comment": f"note {n}", "value": "not_sure"},
                Stamps("00000000000000a0", wall=phone.wall - 1)(),
            )
        )
        edits.append(rec("checklist_answer", rid, {"comment": f"note {n}"}, phone()))
        if n == 3:
            edits.append(rec("checklist_answer", rid, {}, None, deleted=tablet()))
    fid = types.uuid7()
    feedback = {
        "participant_id": pid,
        "project_id": proj,
        "stage": "design",
        "text": "v1",
        "mode": "self",
    }
    creations.append(rec("feedback", fid, feedback, phone()))
    edits.append(rec("feedback", fid, {"text": "v2"}, tablet()))
    eid = types.equality_id(pid, proj)
    creations.append(rec("equality", eid, {"participant_id": pid, "project_id": proj}, phone()))
    edits.append(rec("equality", eid, {"gender": "prefer_not_to_say"}, tablet()))
    models = (Participant, ChecklistAnswer, Feedback, EqualityAnswer)

    def snapshot():
        db.session.expire_all()
        out = {}
        for model in models:
            cols = [c for c in model.__table__.columns if c.name != "received_at"]
            rows = db.session.execute(db.select(*cols)).mappings().all()
            out[model.__tablename__] = sorted((dict(r) for r in rows), key=lambda r: r["id"])
        return out

    def reset():
        for model in models:
            db.session.execute(db.delete(model))
        db.session.execute(records.delete().where(records.c.subject_id == pid))
        db.session.commit()

    rng = random.Random(7)
    results = []
    for _ in range(4):
        reset()
        order = creations[:]
        rng.shuffle(order)
        for edit in rng.sample(edits, len(edits)):
            first = next(i for i, r in enumerate(order) if r.id == edit.id)
            order.insert(rng.randint(first + 1, len(order)), edit)
        while order:
            size = rng.randint(1, 5)
            batch, order = order[:size], order[size:]
            outcomes = push(w.device, batch + batch[:1])  # a resent record changes nothing
            assert all(o.status != "rejected" for o in outcomes), outcomes
        results.append(snapshot())
    assert all(r == results[0] for r in results)
    answers = results[0]["checklist_answers"]
    assert len(answers) == 3
    assert {(row["value"], row["comment"][:4]) for row in answers} == {("disagree", "note")}
    assert [row["text"] for row in results[0]["feedback"]] == ["v2"]
    assert [row["display_name"] for row in results[0]["participants"]] == ["Sam"]
    assert [row["gender"] for row in results[0]["equality_answers"]] == ["prefer_not_to_say"]
