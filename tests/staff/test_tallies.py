"""The running tallies stay equal to a plain count of the answers, through any history of writes."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, select

from tests.staff.conftest import add_answer, add_participant, statement_ids

VALUES = ("agree", "not_sure", "disagree")


def _tallies(project_id):
    from server.domain.models import PartnerTally, StatementTally
    from server.extensions import db

    # A count may be spread over a few rows (tallies.SHARDS): what counts is their sum.
    total = func.sum(StatementTally.count)
    statements = {
        (sid, v): n
        for sid, v, n in db.session.execute(
            select(StatementTally.statement_id, StatementTally.value, total)
            .where(StatementTally.project_id == project_id)
            .group_by(StatementTally.statement_id, StatementTally.value)
            .having(total != 0)
        )
    }
    partners = {
        pid: (answered, agreed)
        for pid, answered, agreed in db.session.execute(
            select(PartnerTally.participant_id, PartnerTally.answered, PartnerTally.agreed).where(
                PartnerTally.project_id == project_id,
                (PartnerTally.answered != 0) | (PartnerTally.agreed != 0),
            )
        )
    }
    return statements, partners


def test_tallies_follow_new_changed_and_deleted_answers(app, two_projects):
    """Write, rewrite and delete answers at random; the tallies equal a count of what is left."""
    from server.domain import projects
    from server.domain.types import checklist_answer_id
    from server.extensions import db

    pid = two_projects["project_id"]
    statements = statement_ids(pid, limit=4)
    people = [add_participant(pid, role) for role in ("child", "parent_carer", "professional")]
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
    expected_partners = {
        p: (
            sum(1 for (q, _) in truth if q == p),
            sum(1 for (q, _), v in truth.items() if q == p and v == "agree"),
        )
        for p in {p for p, _ in truth}
    }
    assert _tallies(pid) == (dict(expected_statements), expected_partners)


def test_rebuild_gives_the_same_tallies_as_projecting(app, two_projects):
    from server.domain import tallies
    from server.extensions import db

    pid = two_projects["project_id"]
    [statement] = statement_ids(pid, limit=1)
    child, pro = add_participant(pid, "child"), add_participant(pid, "professional")
    add_answer(pid, child, statement, "agree")
    add_answer(pid, pro, statement, "disagree")
    add_answer(pid, pro, statement, "agree")
    db.session.commit()
    projected = _tallies(pid)
    assert projected == ({(statement, "agree"): 2}, {child: (1, 1), pro: (1, 1)})
    tallies.rebuild(db.session.connection(), pid)
    assert _tallies(pid) == projected
