"""The kept stage counts stay equal to a plain count of the rows, through any history of writes."""

from __future__ import annotations

import contextlib
import random
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.staff.conftest import add_answer, add_participant

VALUES = ("agree", "not_sure", "disagree")


def _tallies(project_id, stage="design"):
    """The kept answer counts: {(statement, value): n} and {(role, agreed): partners}."""
    from server.domain import stage_counts
    from server.extensions import db

    rows = stage_counts.read(db.session, project_id, stage, ("statement", "agreed"))
    statements = {(sid, v): n for _, measure, sid, v, n in rows if measure == "statement"}
    partners = {(role, int(v)): n for _, measure, role, v, n in rows if measure == "agreed"}
    return statements, partners


def test_tallies_follow_new_changed_and_deleted_answers(app, two_projects):
    """Write, rewrite and delete answers at random; the tallies equal a count of what is left."""
    from server.domain import projects
    from server.domain.models import Statement
    from server.domain.types import checklist_answer_id
    from server.extensions import db

    pid = two_projects["project_id"]
    statements = db.session.execute(select(Statement.id).where(Statement.project_id == pid).limit(4)).scalars().all()
    roles = ("child", "parent_carer", "professional")
    people = [add_participant(pid, role) for role in roles]
    role_of = dict(zip(people, roles, strict=True))
    rng = random.Random(14)
    truth: dict[tuple[str, str], str] = {}  # (partner, statement) -> value, kept by hand
    deleted: set[tuple[str, str]] = set()  # an answer's id is fixed, and a deletion is final
    for _ in range(60):
        person, statement = rng.choice(people), rng.choice(statements)
        if (person, statement) in deleted:
            continue
        if (person, statement) in truth and rng.random() < 0.3:
            projects.write_record(
                "checklist_answer",
                checklist_answer_id(person, pid, "design", statement),
                {},
                delete=True,
            )
            del truth[(person, statement)]
            deleted.add((person, statement))
        else:
            value = rng.choice(VALUES)
            add_answer(pid, person, statement, value)
            truth[(person, statement)] = value
    db.session.commit()

    expected_statements = Counter((s, v) for (_, s), v in truth.items())
    expected_partners = Counter(
        (role_of[p], sum(1 for (q, _), v in truth.items() if q == p and v == "agree")) for p in {p for p, _ in truth}
    )
    assert _tallies(pid) == (dict(expected_statements), dict(expected_partners))


def test_rebuild_gives_the_same_tallies_as_projecting(app, two_projects):
    from server.domain import stage_counts
    from server.domain.models import Statement
    from server.extensions import db

    pid = two_projects["project_id"]
    [statement] = db.session.execute(select(Statement.id).where(Statement.project_id == pid).limit(1)).scalars().all()
    child, pro = add_participant(pid, "child"), add_participant(pid, "professional")
    add_answer(pid, child, statement, "agree")
    add_answer(pid, pro, statement, "disagree")
    add_answer(pid, pro, statement, "agree")
    db.session.commit()
    projected = _tallies(pid)
    assert projected == ({(statement, "agree"): 2}, {("child", 1): 1, ("professional", 1): 1})
    stage_counts.rebuild(db.session.connection(), pid)
    assert _tallies(pid) == projected


def _stage_counts(project_id):
    from server.domain.models import StageCount
    from server.extensions import db

    s = StageCount
    key = (s.stage, s.measure, s.role, s.value)
    total = func.sum(s.count)
    return {  # summed over the shards
        (stage, measure, role, value): n
        for stage, measure, role, value, n in db.session.execute(
            select(*key, total).where(s.project_id == project_id).group_by(*key).having(total != 0)
        )
    }


def _recounted(project_id):
    """The counts made from scratch, then put back as they were kept."""
    from server.domain import stage_counts
    from server.extensions import db

    nested = db.session.begin_nested()
    stage_counts.rebuild(db.session.connection(), project_id)
    counts = _stage_counts(project_id)
    nested.rollback()
    return counts


def test_stage_counts_equal_a_recount_through_any_history(app, two_projects):
    """Answers, ratings, equality answers, feedback, links, status changes, edits, deletions,
    withdrawal and erasure in a random order, one record at a time and in mixed batches: after
    each step the kept counts equal a count from scratch."""
    from server.domain import projects
    from server.domain.erasure import erase_participant
    from server.domain.models import Statement
    from server.domain.types import checklist_answer_id, consent_id, equality_id, ladder_rating_id
    from server.extensions import db
    from tests.staff.conftest import add_feedback

    pid = two_projects["project_id"]
    statements = db.session.execute(select(Statement.id).where(Statement.project_id == pid).limit(3)).scalars().all()
    people = [add_participant(pid, role) for role in ("child", "parent_carer", "professional", "other")]
    rng = random.Random(1414)
    feedback: list[str] = []
    owner: dict[str, str] = {}  # feedback id -> whose
    actions: dict[str, list[str]] = {}
    erased: set[str] = set()

    def answer(person):
        add_answer(pid, person, rng.choice(statements), rng.choice(VALUES), rng.choice(("design", "delivery")))

    def rate(person):
        stage = rng.choice(("design", "delivery"))
        values = {"participant_id": person, "project_id": pid, "stage": stage, "rung": rng.randint(0, 4)}
        projects.write_record("ladder_rating", ladder_rating_id(person, pid, stage), {**values, "mode": "self"})

    def equality(person):
        values = {"participant_id": person, "project_id": pid, "gender": rng.choice(("woman", "man", None))}
        projects.write_record("equality", equality_id(person, pid), values)

    def give_feedback(person):
        feedback.append(add_feedback(pid, person, "More sessions after school, please."))
        owner[feedback[-1]] = person

    def feedback_values(person, stage):
        values = {"participant_id": person, "project_id": pid, "stage": stage, "text": "Quieter rooms."}
        return {**values, "principle": None, "mode": "self", "recorded_by": None}

    def edit_or_move_feedback(_):
        # Words only (the counts stay) or another stage (the counts move with it).
        mine = [f for f in feedback if owner[f] not in erased]
        if mine:
            fid = rng.choice(mine)
            change = rng.choice(({"text": "Edited."}, {"stage": rng.choice(("design", "delivery"))}))
            projects.write_record("feedback", fid, change)

    def batch(person):
        # One merge of several people's records, as a phone's push of a visit brings.
        others = [p for p in people if p not in erased and p != person]
        items = []
        for who in [person, *others[:1]]:
            stage = rng.choice(("design", "delivery"))
            statement = rng.choice(statements)
            answer = {"participant_id": who, "project_id": pid, "stage": stage, "statement_id": statement}
            answer.update(value=rng.choice(VALUES), mode="self")
            items.append(("checklist_answer", checklist_answer_id(who, pid, stage, statement), answer))
            rating = {"participant_id": who, "project_id": pid, "stage": stage, "rung": rng.randint(0, 4)}
            items.append(("ladder_rating", ladder_rating_id(who, pid, stage), {**rating, "mode": "self"}))
            fid = str(uuid.uuid4())
            feedback.append(fid)
            owner[fid] = who
            items.append(("feedback", fid, feedback_values(who, stage)))
        gender = rng.choice(("woman", "man", None))
        equality = {"participant_id": person, "project_id": pid, "gender": gender}
        items.append(("equality", equality_id(person, pid), equality))
        outcomes = projects.write_records(items)
        assert {o.status for o in outcomes} <= {"applied", "unchanged"}, outcomes

    def link_ahead(person):
        # An action that names feedback the server has not received yet; then the feedback.
        fid, aid = str(uuid.uuid4()), str(uuid.uuid4())
        values = {"project_id": pid, "stage": "design", "heard": "Later", "done": "", "status": "planned"}
        projects.write_record("action", aid, {**values, "feedback_ids": [fid], "timeline": []})
        actions[aid] = [fid]
        projects.write_record("feedback", fid, feedback_values(person, "design"))
        feedback.append(fid)
        owner[fid] = person

    def link(_):
        if feedback:
            aid = rng.choice([*actions, str(uuid.uuid4())])
            actions[aid] = sorted(set(actions.get(aid, [])) | {rng.choice(feedback)})
            values = {"project_id": pid, "stage": "design", "heard": "After school", "done": "", "status": "planned"}
            projects.write_record("action", aid, {**values, "feedback_ids": actions[aid], "timeline": []})

    def unlink_or_delete(_):
        if actions:
            aid = rng.choice(sorted(actions))
            roll = rng.random()
            if roll < 0.3:
                projects.write_record("action", aid, {}, delete=True)
                del actions[aid]
            elif roll < 0.6:
                projects.write_record("action", aid, {"status": rng.choice(("in_progress", "done"))})
            else:
                actions[aid] = actions[aid][1:]
                projects.write_record("action", aid, {"feedback_ids": actions[aid]})

    def withdraw(person):
        projects.write_record("consent", consent_id(person, pid), {"withdrawn_at": "2026-11-20T10:00:00+00:00"})

    def change_role(person):
        projects.write_record("participant", person, {"role": rng.choice(("child", "young_person", "other"))})

    def erase(person):
        erase_participant(person)
        erased.add(person)

    steps = [answer] * 6 + [rate, equality, give_feedback, give_feedback, link, link, unlink_or_delete]
    steps += [batch, batch, edit_or_move_feedback, link_ahead, withdraw, change_role, erase]
    seen: set[str] = set()
    for _ in range(90):
        live = [p for p in people if p not in erased]
        if not live:
            break
        rng.choice(steps)(rng.choice(live))
        db.session.flush()
        kept = _stage_counts(pid)
        assert kept == _recounted(pid)
        seen.update(measure for _, measure, _, _ in kept)
    db.session.commit()
    assert _stage_counts(pid) == _recounted(pid)
    # The history did reach every count.
    assert seen == {
        "statement",
        "took_part",
        "agreed",
        "rung",
        "equality",
        "gave_none",
        "feedback",
        "response",
        "answering",
    }


def test_stage_counts_follow_what_a_push_cannot_see_in_its_own_rows(app, two_projects):
    """The merge counts a person again from the rows it read and wrote (no second read),
    except where those rows cannot tell: each case here must still equal a recount."""
    from server.domain import projects
    from server.domain.types import consent_id
    from tests.staff.conftest import add_feedback

    pid = two_projects["project_id"]
    person = add_participant(pid, "child")

    def feedback(fid, stage):
        values = {"participant_id": person, "project_id": pid, "stage": stage, "text": "Quieter rooms."}
        projects.write_record("feedback", fid, {**values, "principle": None, "mode": "self", "recorded_by": None})
        assert _stage_counts(pid) == _recounted(pid)

    # An action names feedback the server has not received; then the feedback comes: answered.
    ahead, aid = str(uuid.uuid4()), str(uuid.uuid4())
    action = {"project_id": pid, "stage": "design", "heard": "Later", "done": "", "status": "planned"}
    projects.write_record("action", aid, {**action, "feedback_ids": [ahead], "timeline": []})
    feedback(ahead, "design")
    assert _stage_counts(pid)[("design", "answering", "planned", aid)] == 1
    # Feedback moved to another stage takes its counts with it.
    moved = str(uuid.uuid4())
    feedback(moved, "design")
    feedback(moved, "delivery")
    assert ("delivery", "feedback", "", "") in _stage_counts(pid)
    # After withdrawal, new feedback is not counted.
    projects.write_record("consent", consent_id(person, pid), {"withdrawn_at": "2026-11-20T10:00:00+00:00"})
    before = _stage_counts(pid)
    add_feedback(pid, person, "After withdrawal.", stage="review")
    assert _stage_counts(pid) == before == _recounted(pid)


# SQLite has one writer at a time: nothing runs in parallel there.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_merges_touching_one_person_take_turns_on_postgresql(db_url, app, two_projects):
    """On PostgreSQL pushes run in parallel: while one merge counts a person, another waits."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from server.domain import stage_counts
    from server.extensions import db

    person, other = str(uuid.uuid4()), str(uuid.uuid4())
    with db.engine.connect() as first, db.engine.connect() as second:
        with first.begin():
            stage_counts._lock(first, {person})
            with second.begin():
                second.execute(text("SET LOCAL lock_timeout = '50ms'"))
                stage_counts._lock(second, {other})  # someone else: no wait
                with pytest.raises(OperationalError, match="lock timeout"):
                    stage_counts._lock(second, {person})
        with second.begin():  # the first merge committed: the person is free
            stage_counts._lock(second, {person})


# SQLite has one writer at a time: nothing runs in parallel there.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_merges_in_flight_add_to_counts_without_waiting_for_each_other(db_url, app, two_projects):
    """Every merge of a project adds to the same counts (its feedback, say): each in flight
    takes a shard of them that no other holds, so none waits on another's rows; only when
    every shard is taken does one wait."""
    from collections import Counter

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    from server.domain import stage_counts
    from server.extensions import db

    key = (two_projects["project_id"], "design", "feedback", "", "")
    engine = create_engine(db.engine.url, poolclass=NullPool)  # one connection per merge
    with contextlib.ExitStack() as stack:
        stack.callback(engine.dispose)
        merges = [stack.enter_context(engine.connect()) for _ in range(stage_counts.SHARDS + 1)]
        for conn in merges:
            conn.begin()
            conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
        for conn in merges[:-1]:
            stage_counts._add(conn, Counter({key: 1}))  # would time out if it met another's row
        shards = {
            conn.execute(text("SELECT min(shard) FROM stage_counts WHERE count > 0")).scalar() for conn in merges[:-1]
        }
        assert len(shards) == stage_counts.SHARDS  # one shard each
        with pytest.raises(OperationalError, match="lock timeout"):
            stage_counts._add(merges[-1], Counter({key: 1}))  # every shard taken: it waits
        for conn in merges[:-1]:
            conn.commit()
    with db.engine.connect() as conn:
        total = conn.execute(text("SELECT sum(count) FROM stage_counts")).scalar()
    assert total == stage_counts.SHARDS


# SQLite has one writer at a time: nothing runs in parallel there.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_parallel_pushes_for_one_person_keep_the_counts_right(db_url, app, two_projects):
    """Several pushes for the same people at once (PostgreSQL runs them in parallel):
    the counts still equal a recount."""
    import threading

    from server.domain import projects
    from server.domain.models import Statement
    from server.domain.types import checklist_answer_id, ladder_rating_id
    from server.extensions import db

    pid = two_projects["project_id"]
    statements = db.session.execute(select(Statement.id).where(Statement.project_id == pid).limit(4)).scalars().all()
    people = [add_participant(pid, "parent_carer") for _ in range(3)]
    db.session.commit()

    def items(person, k):
        if k < len(statements):
            values = {"participant_id": person, "project_id": pid, "stage": "design", "statement_id": statements[k]}
            rid = checklist_answer_id(person, pid, "design", statements[k])
            return [("checklist_answer", rid, {**values, "value": "agree", "mode": "self", "recorded_by": None})]
        if k == len(statements):
            values = {"participant_id": person, "project_id": pid, "stage": "design", "rung": 3, "mode": "self"}
            return [("ladder_rating", ladder_rating_id(person, pid, "design"), values)]
        values = {"participant_id": person, "project_id": pid, "stage": "design", "text": "More clubs", "mode": "self"}
        return [("feedback", str(uuid.uuid4()), {**values, "principle": None, "recorded_by": None})]

    errors = []
    for person in people:
        start = threading.Barrier(len(statements) + 2)

        def push(k, person=person, start=start):
            with app.app_context():
                try:
                    start.wait()
                    projects.write_records(items(person, k))
                    db.session.commit()
                except Exception as error:  # noqa: BLE001 - reported below, with the others
                    errors.append(error)
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=push, args=(k,)) for k in range(len(statements) + 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    kept = _stage_counts(pid)
    assert kept == _recounted(pid)
    assert kept[("design", "took_part", "parent_carer", "")] == len(people)
    assert kept[("design", "agreed", "parent_carer", str(len(statements)))] == len(people)
