"""Push and pull on SQLAlchemy Core: a set-based merge, the change feed, tombstone purge.

Every function takes a ``Connection`` inside a transaction that the caller
commits, so a push and the server's own writes (projections, notifications)
commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from sync.hlc import Clock, parse, wall_of
from sync.records import (
    MAX_TYPE_LENGTH,
    UUID_PATTERN,
    Record,
    merge_changed,
    records_to_wire_json,
)
from sync.schema import counter, records

APPLIED, UNCHANGED, REJECTED = "applied", "unchanged", "rejected"
COUNTER_ID = 1
# Stay well below SQLite's bound-parameter limit when reading a batch's rows.
_SELECT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Scope:
    """Keys the server derives from a record's merged state, so pulls filter in SQL."""

    project_id: str | None = None
    subject_id: str | None = None
    author_id: str | None = None
    # True while the record lacks required fields: stored, merged, never pulled.
    pending: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one record was refused: code invalid|forbidden|unknown_type|clock_ahead."""

    code: str
    field: str | None
    message: str

    def to_wire(self) -> dict[str, Any]:
        """Return the protocol's ``error`` object."""
        return {"code": self.code, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one pushed record: applied, unchanged or rejected."""

    id: str
    status: str
    error: Rejection | None = None

    def to_wire(self) -> dict[str, Any]:
        """Return the protocol's entry in ``results``."""
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.error is not None:
            out["error"] = self.error.to_wire()
        return out


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the change feed; ``cursor`` is the last change number it holds."""

    records: list[Record]
    cursor: int
    more: bool

    def records_json(self) -> str:
        """The records as a JSON array for the response, spliced from the stored JSON."""
        return records_to_wire_json(self.records)


class CursorExpired(Exception):
    """The cursor is older than purged tombstones: the client must resync from 0."""

    def __init__(self, purged_through: int) -> None:
        super().__init__(f"Changes up to {purged_through} were purged; resync from 0.")
        self.purged_through = purged_through


class RecordRejected(Exception):
    """write_local was refused by the hooks."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"{rejection.code} ({rejection.field}): {rejection.message}")
        self.rejection = rejection


class Hooks:
    """What the server plugs into a push. The defaults accept everything."""

    def screen(self, incoming: Record) -> Rejection | None:
        """Check what needs no stored state (shape, type, permissions), before the lock.

        Runs outside the writers' lock, so validation by many requests proceeds in
        parallel; ``check`` then sees only records that passed.
        """
        return None

    def prepare(
        self,
        conn: Connection,
        batch: Sequence[Record],
        current: dict[str, Record],
        stored_scopes: dict[str, Scope],
    ) -> None:
        """Load in bulk what ``check`` will need, once per batch, under the lock.

        Writers hold the lock one at a time, so a query per record in ``check``
        would stretch every other device's wait.
        """

    def check(self, incoming: Record, current: Record | None) -> Rejection | None:
        """Validate and authorise ``incoming`` against the current merged state (locked)."""
        return None

    def scope(self, merged: Record) -> Scope:
        """Return the scope keys of a merged state (a tombstone keeps its stored keys)."""
        return Scope()

    def after_merge(self, conn: Connection, changed: list[Record]) -> None:
        """Update the server's projections of the changed records, in the same transaction."""


_DEFAULT_HOOKS = Hooks()

_SELECT_CURRENT = select(
    records.c.id,
    records.c.type,
    records.c.fields,
    records.c.deleted,
    records.c.project_id,
    records.c.subject_id,
    records.c.author_id,
).where(records.c.id.in_(bindparam("ids", expanding=True)))

# PostgreSQL: a row lock on the counter, held until commit.
_LOCK_COUNTER_PG = (
    select(counter.c.value, counter.c.purged_through)
    .where(counter.c.id == COUNTER_ID)
    .with_for_update()
)
# SQLite locks the whole file. A write as the first statement takes the write
# lock at once, even in the sqlite3 module's legacy mode, which runs SELECTs
# outside any transaction and begins one only at the first write: reading the
# records first would then merge against a state another writer can change
# before we write (lost updates).
_LOCK_COUNTER_SQLITE = (
    counter.update()
    .where(counter.c.id == COUNTER_ID)
    .values(value=counter.c.value)
    .returning(counter.c.value, counter.c.purged_through)
)

_BUMP_COUNTER = (
    counter.update()
    .where(counter.c.id == COUNTER_ID)
    .values(value=counter.c.value + bindparam("n"))
    .returning(counter.c.value)
)

_PULL_COLUMNS = (
    records.c.id,
    records.c.type,
    records.c.fields,
    records.c.deleted,
    records.c.change_no,
)


_PULL_ALL = (
    select(*_PULL_COLUMNS)
    .where(records.c.change_no > bindparam("cursor"), records.c.pending.is_(False))
    .order_by(records.c.change_no)
    .limit(bindparam("limit"))
)

_PURGED = select(counter.c.purged_through).where(counter.c.id == COUNTER_ID)


def _dialect_insert(conn: Connection):
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"The sync engine supports SQLite and PostgreSQL, not {name}.")


def _build_upsert(insert):
    stmt = insert(records)
    return stmt.on_conflict_do_update(
        index_elements=[records.c.id],
        set_={
            name: stmt.excluded[name]
            for name in (
                "type",
                "fields",
                "deleted",
                "change_no",
                "project_id",
                "subject_id",
                "author_id",
                "pending",
            )
        },
    )


_UPSERT = {"postgresql": _build_upsert(postgresql.insert), "sqlite": _build_upsert(sqlite.insert)}


def _lock_counter(conn: Connection) -> tuple[int, int]:
    """Take the counter row's lock (creating the row on first use); return value, purged."""
    lock = _LOCK_COUNTER_PG if conn.dialect.name == "postgresql" else _LOCK_COUNTER_SQLITE
    row = conn.execute(lock).first()
    if row is None:
        conn.execute(
            _dialect_insert(conn)(counter)
            .values(id=COUNTER_ID, value=0, purged_through=0)
            .on_conflict_do_nothing(index_elements=[counter.c.id])
        )
        row = conn.execute(lock).one()
    return row[0], row[1]


def head(conn: Connection) -> int:
    """Return the newest change number (0 before the first change)."""
    value = conn.execute(select(counter.c.value).where(counter.c.id == COUNTER_ID)).scalar()
    return value or 0


def _clock_ahead(record: Record, max_wall_ms: int) -> Rejection | None:
    if record.deleted is not None and wall_of(record.deleted) > max_wall_ms:
        return Rejection("clock_ahead", "deleted", "Stamped ahead of the server's clock.")
    for name, reg in record.fields.items():
        if wall_of(reg.t) > max_wall_ms:
            return Rejection("clock_ahead", name, "Stamped ahead of the server's clock.")
    return None


def _max_stamp(record: Record) -> str:
    stamps = [reg.t for reg in record.fields.values()]
    if record.deleted is not None:
        stamps.append(record.deleted)
    return max(stamps, default="")


def push(
    conn: Connection,
    records_in: Sequence[Record],
    hooks: Hooks | None = None,
    *,
    max_wall_ms: int | None = None,
    clock: Clock | None = None,
) -> list[Outcome]:
    """Merge a batch into the store; one outcome per record, in order.

    ``max_wall_ms`` rejects records stamped later than that (``clock_ahead``).
    ``clock``, when given, folds in the greatest accepted stamp, so the server's
    next stamp (its ``server_hlc``) is above everything it stores.
    """
    return _push(conn, records_in, hooks or _DEFAULT_HOOKS, max_wall_ms, clock)[0]


def _screen(record: Record, hooks: Hooks, max_wall_ms: int | None) -> Rejection | None:
    if max_wall_ms is not None:
        rejection = _clock_ahead(record, max_wall_ms)
        if rejection is not None:
            return rejection
    # from_wire checks these; records built in code are checked here, as the
    # columns and the JSON splicing of pulls depend on them.
    if not UUID_PATTERN.match(record.id):
        return Rejection("invalid", "id", "Must be a UUID in lowercase canonical form.")
    if not 0 < len(record.type) <= MAX_TYPE_LENGTH:
        return Rejection("invalid", "type", "Must be 1 to 40 characters.")
    return hooks.screen(record)


def _push(
    conn: Connection,
    batch: Sequence[Record],
    hooks: Hooks,
    max_wall_ms: int | None,
    clock: Clock | None,
) -> tuple[list[Outcome], dict[str, Record]]:
    # The counter row lock comes first, before reading any record. Holding it
    # until commit serialises writers, which buys two things:
    # - each merge reads the state the previous writer committed, so two
    #   concurrent pushes to one record cannot overwrite each other's fields;
    # - change numbers become visible in number order: a writer allocates its
    #   numbers only after the previous holder committed, so a puller that has
    #   seen number n can never later find a newly committed number below n
    #   (no skip). Pushes of 500 records take milliseconds, so one writer at a
    #   time is cheap. Needs READ COMMITTED on PostgreSQL (its default): each
    #   statement sees what the previous holder committed.
    # On SQLite the same statement takes the file's write lock (see _LOCK_COUNTER_SQLITE).
    _dialect_insert(conn)  # fails clearly on an unsupported backend
    if not batch:
        return [], {}
    # What needs no stored state is checked before the lock, so concurrent
    # requests validate in parallel and the lock is held only for the merge.
    early = [_screen(record, hooks, max_wall_ms) for record in batch]
    _lock_counter(conn)

    state: dict[str, Record] = {}
    stored_scope: dict[str, tuple[Any, Any, Any]] = {}
    ids = list(dict.fromkeys(record.id for record in batch))
    for start in range(0, len(ids), _SELECT_CHUNK):
        chunk = ids[start : start + _SELECT_CHUNK]
        for row in conn.execute(_SELECT_CURRENT, {"ids": chunk}):
            state[row[0]] = Record.stored(row[1], row[0], row[2], row[3])
            stored_scope[row[0]] = (row[4], row[5], row[6])
    hooks.prepare(conn, batch, state, {rid: Scope(*keys) for rid, keys in stored_scope.items()})

    outcomes: list[Outcome] = []
    dirty: dict[str, None] = {}  # ordered set of changed ids
    greatest = ""
    for record, rejection in zip(batch, early, strict=True):
        current = state.get(record.id)
        if rejection is None and current is not None and current.type != record.type:
            rejection = Rejection("invalid", "type", "The record already exists with another type.")
        if rejection is None:
            rejection = hooks.check(record, current)
        if rejection is not None:
            outcomes.append(Outcome(record.id, REJECTED, rejection))
            continue
        if clock is not None:
            greatest = max(greatest, _max_stamp(record))
        merged, changed = merge_changed(current, record)
        if changed:
            state[record.id] = merged
            dirty[record.id] = None
            outcomes.append(Outcome(record.id, APPLIED))
        else:
            outcomes.append(Outcome(record.id, UNCHANGED))

    if dirty:
        end = conn.execute(_BUMP_COUNTER, {"n": len(dirty)}).scalar_one()
        change_no = end - len(dirty)
        rows = []
        changed_records = []
        for rid in dirty:
            merged = state[rid]
            changed_records.append(merged)
            change_no += 1
            scope = hooks.scope(merged)
            project_id, subject_id, author_id = scope.project_id, scope.subject_id, scope.author_id
            if merged.deleted is not None and rid in stored_scope:
                # A tombstone has no fields to derive a scope from; it must still reach
                # the devices that saw the record. The domain's hooks derive it from the
                # identifying fields every write carries; hooks that give none keep the stored keys.
                old = stored_scope[rid]
                project_id = project_id if project_id is not None else old[0]
                subject_id = subject_id if subject_id is not None else old[1]
                author_id = author_id if author_id is not None else old[2]
            rows.append(
                {
                    "id": rid,
                    "type": merged.type,
                    "fields": merged.fields_json(),
                    "deleted": merged.deleted,
                    "change_no": change_no,
                    "project_id": project_id,
                    "subject_id": subject_id,
                    "author_id": author_id,
                    "pending": scope.pending,
                }
            )
        conn.execute(_UPSERT[conn.dialect.name], rows)
        hooks.after_merge(conn, changed_records)
    if clock is not None and greatest:
        clock.receive(greatest)
    return outcomes, state


def pull(
    conn: Connection,
    cursor: int,
    limit: int,
    visible: ColumnElement[bool] | None = None,
) -> Page:
    """Return up to ``limit`` records changed after ``cursor`` that ``visible`` lets through."""
    if cursor < 0:
        raise ValueError("The cursor is a change number, 0 or more.")
    if limit < 1:
        raise ValueError("The limit is at least 1.")
    params = {"cursor": cursor, "limit": limit + 1}
    if visible is None:
        rows = conn.execute(_PULL_ALL, params).all()
    else:
        rows = conn.execute(_PULL_ALL.where(visible), params).all()
    if cursor:
        # Checked after reading: a purge that commits while we read is still caught.
        purged = conn.execute(_PURGED).scalar()
        if purged and cursor < purged:
            raise CursorExpired(purged)
    more = len(rows) > limit
    if more:
        rows = rows[:limit]
    stored = Record.stored
    page = [stored(row[1], row[0], row[2], row[3]) for row in rows]
    return Page(page, rows[-1][4] if rows else cursor, more)


def purge_tombstones(conn: Connection, before_hlc: str) -> int:
    """Delete tombstones stamped before ``before_hlc``; return how many went."""
    parse(before_hlc)
    _, purged_through = _lock_counter(conn)
    old = (records.c.deleted.is_not(None)) & (records.c.deleted < before_hlc)
    count, top = conn.execute(select(func.count(), func.max(records.c.change_no)).where(old)).one()
    if count:
        conn.execute(records.delete().where(old))
        conn.execute(
            counter.update()
            .where(counter.c.id == COUNTER_ID)
            .values(purged_through=max(purged_through, top))
        )
    return count


def write_local(
    conn: Connection,
    clock: Clock,
    type: str,
    id: str,
    values: dict[str, Any],
    hooks: Hooks | None = None,
    delete: bool = False,
) -> Record:
    """Write values (or a deletion) stamped by ``clock`` and return the merged record.

    One stamp covers the whole write: its fields were set together. The clock
    first folds in the stamps already stored on the record (under the lock), so
    the write beats every value it replaces, even one stamped by a phone whose
    clock runs a little ahead. Raises WireError for a malformed write and
    RecordRejected when the hooks refuse it.
    """
    _dialect_insert(conn)
    _lock_counter(conn)
    row = conn.execute(
        select(records.c.fields, records.c.deleted).where(records.c.id == id)
    ).first()
    if row is not None:
        seen = Record.stored("", id, row[0], row[1])
        greatest = _max_stamp(seen)
        if greatest:
            clock.receive(greatest)
    stamp = clock.tick()
    record = Record.from_wire(
        {
            "type": type,
            "id": id,
            "fields": {name: {"v": value, "t": stamp} for name, value in values.items()},
            "deleted": stamp if delete else None,
        }
    )
    outcomes, state = _push(conn, [record], hooks or _DEFAULT_HOOKS, None, None)
    if outcomes[0].status == REJECTED:
        raise RecordRejected(outcomes[0].error)
    return state[id]


def sqlite_begin_immediate(engine: Engine, *, busy_timeout_ms: int = 10_000) -> None:
    """Make an SQLite engine take the write lock at BEGIN, in WAL mode; no-op elsewhere.

    SQLite's default deferred BEGIN takes a read lock first and upgrades it on
    the first write; two such transactions cannot both upgrade, and the loser
    fails with "database is locked" at once, whatever the busy timeout. BEGIN
    IMMEDIATE queues writers at BEGIN instead, where busy_timeout applies. WAL
    lets readers run beside the writer. A connection may opt out for a read
    with ``execution_options(sqlite_begin="DEFERRED")``. Install before the
    engine's first connection.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        # Stop the sqlite3 module from issuing its own BEGIN; ours comes below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"Unknown SQLite BEGIN mode: {mode}")
        conn.exec_driver_sql(f"BEGIN {mode}")
