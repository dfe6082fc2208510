"""Running counts of checklist answers, kept as answers are projected.

The results page used to recount every answer of a stage on each view (4 s for
a million answers). Instead, the projection calls ``count_answers`` once per
merge, before it writes the answers' rows, and two small tables keep:

- ``statement_tallies``: per project, stage, statement and value, how many answers;
- ``partner_tallies``: per project, stage and partner, how many statements they
  answered and how many they agreed with.

Both are plain sums over ``checklist_answers`` (one answer row, one count), so
``rebuild`` can always make them again from the answers, and a test can compare
the two. Consent withdrawal does not touch the tallies: the readers leave out
withdrawn partners when they read (few rows).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from server.domain import types
from server.domain.models import ChecklistAnswer, PartnerTally, StatementTally
from sync.records import Record

ANSWER = "checklist_answer"
_CHUNK = 500


def count_answers(conn: Connection, changed: list[Record]) -> None:
    """Move the tallies from the stored answers to these merged ones (call before projecting)."""
    answers = [r for r in changed if r.type == ANSWER]
    if not answers:
        return
    statements: Counter = Counter()
    partners: Counter = Counter()  # (project, stage, participant, "answered" | "agreed")
    a = ChecklistAnswer.__table__
    ids = [r.id for r in answers]
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            select(a.c.project_id, a.c.stage, a.c.participant_id, a.c.statement_id, a.c.value).where(
                a.c.id.in_(ids[start : start + _CHUNK])
            )
        ).all()
        for row in rows:
            _add(statements, partners, row, -1)
    rtype = types.TYPES[ANSWER]
    for record in answers:
        # A deleted answer, or one still waiting for its creation (protocol 1.1), counts for nothing.
        if record.deleted is None and rtype.missing(record.values()) is None:
            row = rtype.project(record.id, record.values())
            _add(
                statements,
                partners,
                (row["project_id"], row["stage"], row["participant_id"], row["statement_id"], row["value"]),
                +1,
            )
    _apply(conn, statements, partners)


def _add(statements: Counter, partners: Counter, row, sign: int) -> None:
    project_id, stage, participant_id, statement_id, value = row
    statements[(project_id, stage, statement_id, value)] += sign
    partners[(project_id, stage, participant_id, "answered")] += sign
    if value == "agree":
        partners[(project_id, stage, participant_id, "agreed")] += sign


def _apply(conn: Connection, statements: Counter, partners: Counter) -> None:
    """Add the changes to the tallies; rows in key order, so two merges lock them in one order."""
    s_rows = [
        {"project_id": p, "stage": st, "statement_id": sid, "value": v, "count": n}
        for (p, st, sid, v), n in sorted(statements.items())
        if n
    ]
    per_partner: dict[tuple, dict[str, int]] = {}
    for (p, st, pid, what), n in partners.items():
        per_partner.setdefault((p, st, pid), {"answered": 0, "agreed": 0})[what] += n
    p_rows = [
        {"project_id": p, "stage": st, "participant_id": pid, **counts}
        for (p, st, pid), counts in sorted(per_partner.items())
        if any(counts.values())
    ]
    upsert_add(conn, StatementTally.__table__, s_rows, ("count",))
    upsert_add(conn, PartnerTally.__table__, p_rows, ("answered", "agreed"))


def upsert_add(conn: Connection, table, rows: list[dict], counters: tuple[str, ...]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={c: table.c[c] + stmt.excluded[c] for c in counters},
    )
    for start in range(0, len(rows), _CHUNK):
        conn.execute(stmt, rows[start : start + _CHUNK])


def rebuild(conn: Connection, project_id: str | None = None) -> None:
    """Make the tallies and stage counts again from the stored rows (after a bulk load that skipped projection)."""
    from server.domain import stage_counts

    stage_counts.rebuild(conn, project_id)
    a = ChecklistAnswer.__table__
    s, p = StatementTally.__table__, PartnerTally.__table__
    where = [] if project_id is None else [a.c.project_id == project_id]
    for table in (s, p):
        clear = delete(table)
        if project_id is not None:
            clear = clear.where(table.c.project_id == project_id)
        conn.execute(clear)
    conn.execute(
        insert(s).from_select(
            ["project_id", "stage", "statement_id", "value", "count"],
            select(a.c.project_id, a.c.stage, a.c.statement_id, a.c.value, func.count())
            .where(*where)
            .group_by(a.c.project_id, a.c.stage, a.c.statement_id, a.c.value),
        )
    )
    agreed = func.sum(case((a.c.value == "agree", 1), else_=0))
    conn.execute(
        insert(p).from_select(
            ["project_id", "stage", "participant_id", "answered", "agreed"],
            select(a.c.project_id, a.c.stage, a.c.participant_id, func.count(), agreed)
            .where(*where)
            .group_by(a.c.project_id, a.c.stage, a.c.participant_id),
        )
    )


# ---------------------------------------------------------------- reading


def statement_counts(
    conn, project_id: str, stage: str, excluded: ColumnElement | None = None
) -> dict[tuple[str, str], int]:
    """Return answers per (statement id, value), leaving out the partners ``excluded`` selects."""
    s = StatementTally.__table__
    counts: Counter = Counter()
    for sid, value, n in conn.execute(
        select(s.c.statement_id, s.c.value, s.c.count).where(
            s.c.project_id == project_id, s.c.stage == stage, s.c.count > 0
        )
    ):
        counts[(sid, value)] += n
    if excluded is not None:
        a = ChecklistAnswer.__table__
        for sid, value, n in conn.execute(
            select(a.c.statement_id, a.c.value, func.count())
            .where(a.c.project_id == project_id, a.c.stage == stage, a.c.participant_id.in_(excluded))
            .group_by(a.c.statement_id, a.c.value)
        ):
            counts[(sid, value)] -= n
    return {k: n for k, n in counts.items() if n > 0}
