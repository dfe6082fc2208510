"""Projections: keep the typed read tables equal to the merged sync records.

Runs inside the merge's transaction (``DomainHooks.after_merge``), so a record
and its projection row commit together. A tombstone deletes the row.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from server.auth.models import utcnow
from server.domain import stage_counts, types
from server.domain.models import ActionFeedback
from sync.records import Record
from sync.sql import Writes, writing


def project(
    conn: Connection,
    changed: list[Record],
    locked: frozenset[str] = frozenset(),
    writes: Writes | None = None,
    counted: stage_counts.Prefetched | None = None,
) -> None:
    """Bring the projection tables up to date with these merged records (set-based per type).

    ``locked``: ids whose record locks the push already holds (see stage_counts).
    ``writes``: the caller's held writes, which it flushes; without them, the rows are
    written in one statement here (``sync.sql.Writes``). ``counted``: the stage counts'
    rows as the caller read them before the merge (``stage_counts.before``).
    """
    pending = stage_counts.before(conn, changed, locked, counted)  # before the rows change: the old rows
    live: dict[str, list[Record]] = defaultdict(list)
    gone: dict[str, list[str]] = defaultdict(list)
    for record in changed:
        rtype = types.get(record.type)
        if rtype is None:
            continue
        if record.deleted is not None or rtype.missing(record.values()) is not None:
            # Deleted, or still waiting for its creation: no projection row (protocol 1.1).
            gone[record.type].append(record.id)
        else:
            live[record.type].append(record)
    now = utcnow()
    _drop_rows(conn, gone)
    with writing(conn, writes) as held:
        written = _upsert_rows(conn, live, now, held)
        stage_counts.after(conn, pending, written, gone, held)


def _drop_rows(conn: Connection, gone: dict[str, list[str]]) -> None:
    """Delete the projection rows of deleted (or incomplete) records, and their action links."""
    for name, ids in gone.items():
        table = types.TYPES[name].model.__table__
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            conn.execute(delete(table).where(table.c.id.in_(chunk)))
            if name == "action":
                conn.execute(delete(ActionFeedback.__table__).where(ActionFeedback.action_id.in_(chunk)))
            elif name == "feedback":
                conn.execute(delete(ActionFeedback.__table__).where(ActionFeedback.feedback_id.in_(chunk)))


def _upsert_rows(conn: Connection, live: dict[str, list[Record]], now, writes: Writes) -> dict[str, list[dict]]:
    """Insert or update the projection rows of live records, one statement per type; return
    the rows by type."""
    written = {}
    for name, recs in live.items():
        rtype = types.TYPES[name]
        table = rtype.model.__table__
        rows = [rtype.project(r.id, r.values()) for r in recs]
        for column in ("created_at", "received_at", "updated_at"):
            if column in table.c:
                for row in rows:
                    row[column] = now
        keep = set(rtype.insert_only) | {"id"}
        writes.upsert(table, rows, ("id",), dict.fromkeys(col for col in rows[0] if col not in keep))
        if name == "action":
            _link_feedback(conn, recs, now, writes)
        written[name] = rows
    return written


def _link_feedback(conn: Connection, actions: list[Record], now, writes: Writes) -> None:
    """Keep action_feedback equal to each action's feedback_ids (linked_at kept for old links)."""
    table = ActionFeedback.__table__
    ids = [a.id for a in actions]
    existing: dict[str, set[str]] = defaultdict(set)
    for action_id, feedback_id in conn.execute(
        select(table.c.action_id, table.c.feedback_id).where(table.c.action_id.in_(ids))
    ):
        existing[action_id].add(feedback_id)
    add = []
    for action in actions:
        wanted = set(action.values().get("feedback_ids") or [])
        have = existing.get(action.id, set())
        drop = have - wanted
        if drop:
            conn.execute(delete(table).where(table.c.action_id == action.id, table.c.feedback_id.in_(drop)))
        add.extend({"action_id": action.id, "feedback_id": f, "linked_at": now} for f in sorted(wanted - have))
    writes.upsert(table, add, ("action_id", "feedback_id"), {})
