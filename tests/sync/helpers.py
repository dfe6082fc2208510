"""Shared helpers and hypothesis strategies for the merge engine's tests."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sync import feed, hlc
from sync.cursor import Cursor
from sync.records import Record, Register, fields_to_json, merge
from sync.schema import change_numbers, counter, metadata, records
from sync.store import Hooks, Scope, pull, push, sqlite_begin_immediate

# Generation of nested JSON values can be slow on a busy 2-core machine.
PURE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# One database per test function; each example starts from empty tables.
DB_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

T0 = 1_764_147_600_000  # 2025-11-26 09:00 UTC
NODES = ["9f1c2a9d4e5b6c7d", "0000000000000001", "ffffffffffffff00"]
IDS = [str(uuid.UUID(int=(i + 1) * 7919, version=4)) for i in range(6)]
TYPE_OF = {rid: ("feedback", "checklist_answer", "ladder_rating")[i % 3] for i, rid in enumerate(IDS)}
FIELD_NAMES = ["value", "comment", "mode", "p"]


def make_engine(url: str) -> sa.Engine:
    """Create an engine with the sync tables; SQLite gets BEGIN IMMEDIATE and WAL."""
    eng = sa.create_engine(url)
    sqlite_begin_immediate(eng)
    metadata.create_all(eng)
    return eng


def reset(engine: sa.Engine) -> None:
    """Empty the sync tables between hypothesis examples."""
    with engine.begin() as conn:
        conn.execute(records.delete())
        conn.execute(counter.delete())
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER SEQUENCE sync_change_numbers RESTART"))


def push_batch(engine: sa.Engine, batch, hooks=None, **kwargs):
    """Push one batch in its own transaction."""
    with engine.begin() as conn:
        return push(conn, batch, hooks, **kwargs)


def state(engine: sa.Engine) -> dict[str, tuple]:
    """The stored merged state: id -> (type, fields JSON, deleted), without change numbers."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(records.c.id, records.c.type, records.c.fields, records.c.deleted)).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def full_rows(engine: sa.Engine) -> list[tuple]:
    """Every stored column of every row, in id order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(records).order_by(records.c.id))]


def head_value(engine: sa.Engine) -> int:
    """How many change numbers were taken: the counter (global feed) or the sequence (parallel)."""
    with engine.connect() as conn:
        if feed.mode(conn) == feed.PARALLEL:
            last, called = conn.execute(sa.text("SELECT last_value, is_called FROM sync_change_numbers")).one()
            return last - change_numbers.start + 1 if called else 0
        return conn.execute(sa.select(counter.c.value)).scalar() or 0


def positions(engine: sa.Engine) -> list[Cursor]:
    """The feed position of every stored record, in feed order."""
    with engine.connect() as conn:
        order = feed.order(conn)
        rows = conn.execute(sa.select(records.c.txid, records.c.change_no).order_by(*order)).all()
    return [Cursor(txid, number, number) for txid, number in rows]


def pull_all(engine: sa.Engine, cursor: int = 0, limit: int = 4) -> tuple[dict[str, Record], int]:
    """Page through the feed from ``cursor``; return the records seen (latest wins) and cursor."""
    seen: dict[str, Record] = {}
    while True:
        with engine.begin() as conn:
            page = pull(conn, cursor, limit)
        assert page.cursor >= cursor
        assert len({r.id for r in page.records}) == len(page.records)
        for record in page.records:
            seen[record.id] = record
        cursor = page.cursor
        if not page.more:
            return seen, cursor


def as_state(recs: dict[str, Record] | list[Record]) -> dict[str, tuple]:
    """Records in the shape of state()."""
    items = recs.values() if isinstance(recs, dict) else recs
    return {r.id: (r.type, fields_to_json(r.fields), r.deleted) for r in items}


def fold(batch) -> dict[str, Record]:
    """The pure merge of every record, in order: what the store must hold."""
    out: dict[str, Record] = {}
    for record in batch:
        out[record.id] = merge(out.get(record.id), record)
    return out


class ScopeHooks(Hooks):
    """Derives a project scope from field ``p`` so scope columns get exercised."""

    def scope(self, merged):
        p = merged.fields.get("p")
        if p is not None and isinstance(p.v, str):
            return Scope(project_id=p.v[:36], subject_id=merged.type, author_id="a")
        return Scope()


# ---- strategies -----------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["agree", "not_sure", "disagree", "é😀", ""])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=4,
)
# A narrow range of stamps, so equal stamps (ties) and near misses are common.
stamps = st.builds(
    hlc.format,
    st.integers(T0, T0 + 3),
    st.integers(0, 2),
    st.sampled_from(NODES),
)
registers = st.builds(Register, json_values, stamps)


@st.composite
def records_st(draw, ids=IDS, tombstone_chance=True):
    """A record of one of a few ids (each id keeps one type), some fields, maybe a tombstone."""
    rid = draw(st.sampled_from(ids))
    fields = draw(st.dictionaries(st.sampled_from(FIELD_NAMES), registers, max_size=4))
    deleted = None
    if tombstone_chance and draw(st.integers(0, 9)) == 0:
        deleted = draw(stamps)
    if not fields and deleted is None:
        fields = {"value": draw(registers)}
    return Record(TYPE_OF.get(rid, "feedback"), rid, fields, deleted)


batches = st.lists(records_st(), min_size=0, max_size=12)
