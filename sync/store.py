"""Push and pull on SQLAlchemy Core: a set-based merge, the change feed, tombstone purge.

Every function takes a ``Connection`` inside a transaction that the caller
commits, so a push and the server's own writes (projections, notifications)
commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import bindparam, event, func, literal, null, select, union_all
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from sync import feed, sql
from sync.cursor import Cursor
from sync.hlc import MAX_COUNTER, MAX_WALL, Clock, parse
from sync.hlc import format as format_stamp
from sync.records import (
    MAX_TYPE_LENGTH,
    UUID_PATTERN,
    Record,
    merge_changed,
    records_to_wire_json,
)
from sync.schema import counter, purged, records
from sync.sql import in_ids, upsert

APPLIED, UNCHANGED, REJECTED = "applied", "unchanged", "rejected"
COUNTER_ID = feed.COUNTER_ID


# The values made for every record a push carries are named tuples: immutable like a
# frozen dataclass, and made in a third of the time (a frozen dataclass sets each field
# through object.__setattr__), which a 50-record push does a few hundred times.


class Scope(NamedTuple):
    """Keys the server derives from a record's merged state, so pulls filter in SQL."""

    project_id: str | None = None
    subject_id: str | None = None
    author_id: str | None = None
    # True while the record lacks required fields: stored, merged, never pulled.
    pending: bool = False


class Rejection(NamedTuple):
    """Why one record was refused: code invalid|forbidden|unknown_type|clock_ahead."""

    code: str
    field: str | None
    message: str

    def to_wire(self) -> dict[str, Any]:
        """Return the protocol's ``error`` object."""
        return {"code": self.code, "field": self.field, "message": self.message}


class Outcome(NamedTuple):
    """What became of one pushed record: applied, unchanged or rejected."""

    id: str
    status: str
    error: Rejection | None = None
    # The change number an applied record was stored at: the version of it the pushing
    # device now holds (the server's own bookkeeping; not sent).
    version: int | None = None

    def to_wire(self) -> dict[str, Any]:
        """Return the protocol's entry in ``results``."""
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.error is not None:
            out["error"] = self.error.to_wire()
        return out


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the change feed; ``cursor`` is the position of the last record it holds."""

    records: list[Record]
    cursor: int
    more: bool
    # The change number (the record's version) of each record, in the same order.
    numbers: tuple[int, ...] = ()
    # The ids of ``pull(left=...)``, sorted.
    left: tuple[str, ...] = ()

    def records_json(self) -> str:
        """The records as a JSON array for the response, spliced from the stored JSON."""
        return records_to_wire_json(self.records)


class CursorExpired(Exception):
    """The cursor is older than purged tombstones: the client must resync from 0."""

    def __init__(self, purged_through: Cursor) -> None:
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

    def also_lock(self, batch: Sequence[Record]) -> list[str]:
        """Ids to lock with the batch's own, in the same sorted order, before anything is read.

        For what the merge's projections will read and write under a record's lock
        (a person's counts, say): taken with the batch's locks, it costs no extra
        statement and cannot be taken in a second order.
        """
        return []

    def read_with_current(self, conn: Connection, batch: Sequence[Record]) -> tuple[tuple, dict] | None:
        """Selects (built once, nine columns each, the first a tag other than "stored" and
        "purged") and their parameters (any but ``ids``) to run in the statement that reads
        the batch's stored records, under the lock; their rows go to
        ``read_with_current_rows`` before ``prepare``. A round trip fewer than a read of
        the hook's own."""
        return None

    def read_with_current_rows(self, rows: list[tuple]) -> None:
        """The rows of ``read_with_current``'s selects, as read."""

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

    def check(self, incoming: Record, current: Record | None, merged: Record) -> Rejection | None:
        """Validate and authorise ``incoming`` against the current merged state (locked);
        ``merged`` is what the merge would store (kept only if this returns None)."""
        return None

    def scope(self, merged: Record) -> Scope:
        """Return the scope keys of a merged state (a tombstone keeps its stored keys)."""
        return Scope()

    def after_merge(self, conn: Connection, changed: list[Record]) -> None:
        """Update the server's projections of the changed records, in the same transaction."""


_DEFAULT_HOOKS = Hooks()

# The stored rows of a batch's ids and, in the same round trip, the remembered
# tombstones of purged ones; the first column says which a row is. Nine columns, so a
# hook's own reads (``Hooks.read_with_current``) can go in the same statement.
_CURRENT_PARTS = (
    select(
        literal("stored"),
        records.c.id,
        records.c.type,
        records.c.fields,
        records.c.deleted,
        records.c.project_id,
        records.c.subject_id,
        records.c.author_id,
        null(),
    ).where(in_ids(records.c.id)),
    select(
        literal("purged"),
        purged.c.id,
        purged.c.type,
        literal("{}"),
        purged.c.deleted,
        null(),
        null(),
        null(),
        null(),
    ).where(in_ids(purged.c.id)),
)


@cache
def _current_with(parts: tuple) -> object:
    """The read of a batch's stored records, with a hook's selects in the same statement."""
    return sql.once(union_all(*_CURRENT_PARTS, *parts))


_PULL_COLUMNS = (
    records.c.id,
    records.c.type,
    records.c.fields,
    records.c.deleted,
    records.c.change_no,
)


# What a merge changes in a stored row (every column but the id).
_SET_ON_MERGE = dict.fromkeys(
    ("type", "fields", "deleted", "change_no", "project_id", "subject_id", "author_id", "pending", "txid")
)


def head(conn: Connection, *, precise: bool = True) -> Cursor:
    """The feed position a pull may read up to now (global feed: the newest change number)."""
    return feed.horizon(conn, precise=precise)


def _latest_allowed(max_wall_ms: int | None) -> str | None:
    """The greatest stamp of a wall clock at most ``max_wall_ms`` (None: no bound). Stamps
    are fixed width, so they order as text: one above it has a later wall clock."""
    if max_wall_ms is None or max_wall_ms > MAX_WALL:
        return None
    return format_stamp(max_wall_ms, MAX_COUNTER, "f" * 16)


def _clock_ahead(record: Record, latest: str) -> Rejection | None:
    if _max_stamp(record) <= latest:  # the common case, in one pass of max()
        return None
    if record.deleted is not None and record.deleted > latest:
        return Rejection("clock_ahead", "deleted", "Stamped ahead of the server's clock.")
    for name, reg in record.fields.items():
        if reg.t > latest:
            return Rejection("clock_ahead", name, "Stamped ahead of the server's clock.")
    return None


def _max_stamp(record: Record) -> str:
    greatest = max([reg.t for reg in record.fields.values()], default="")
    deleted = record.deleted
    return deleted if deleted is not None and deleted > greatest else greatest


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


def push_and_head(
    conn: Connection,
    records_in: Sequence[Record],
    hooks: Hooks | None = None,
    *,
    max_wall_ms: int | None = None,
    clock: Clock | None = None,
) -> tuple[list[Outcome], Cursor]:
    """``push``, and a head for its answer (``head(precise=False)``, read before commit).

    In the parallel feed the head comes from the statement that took the locks: a
    statement fewer than reading it after.
    """
    outcomes, _state, locked_at = _push(conn, records_in, hooks or _DEFAULT_HOOKS, max_wall_ms, clock)
    return outcomes, locked_at if locked_at is not None else head(conn, precise=False)


def _screen(record: Record, hooks: Hooks, latest: str | None) -> Rejection | None:
    if latest is not None:
        rejection = _clock_ahead(record, latest)
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
) -> tuple[list[Outcome], dict[str, Record], Cursor | None]:
    feed.insert_for(conn)  # fails clearly on an unsupported backend
    if not batch:
        return [], {}, None
    # What needs no stored state is checked before any lock, so concurrent
    # requests validate in parallel and locks are held only for the merge.
    latest = _latest_allowed(max_wall_ms)
    early = [_screen(record, hooks, latest) for record in batch]
    ids = list(dict.fromkeys(record.id for record in batch))
    # Lock before reading any record, and hold it to commit: each merge then reads
    # what the previous writer of the same records committed, so two concurrent
    # pushes to one record cannot overwrite each other's fields. The global feed
    # locks every writer out (which also orders change numbers by commit); the
    # parallel feed only the writers of these ids (sync/feed.py). Needs READ
    # COMMITTED on PostgreSQL (its default): each statement sees what the previous
    # holder committed.
    locked_at = feed.lock_for_write(conn, ids + hooks.also_lock(batch))
    state, stored_scope = _read_current(conn, ids, hooks, batch)
    hooks.prepare(conn, batch, state, {rid: Scope(*keys) for rid, keys in stored_scope.items()})
    outcomes, dirty, greatest = _merge_batch(batch, early, state, hooks, clock is not None)
    if dirty:
        changed = [state[rid] for rid in dirty]
        versions = _store_changed(conn, changed, stored_scope, hooks)
        outcomes = [Outcome(o.id, APPLIED, None, versions[o.id]) if o.status is APPLIED else o for o in outcomes]
        hooks.after_merge(conn, changed)
    if clock is not None and greatest:
        clock.receive(greatest)
    return outcomes, state, locked_at


def _read_current(
    conn: Connection, ids: list[str], hooks: Hooks | None = None, batch: Sequence[Record] = ()
) -> tuple[dict[str, Record], dict[str, tuple]]:
    """The stored state of these ids (purged ones as their remembered tombstones), and scope
    keys; the rows of ``hooks.read_with_current`` go to its ``read_with_current_rows``."""
    state: dict[str, Record] = {}
    stored_scope: dict[str, tuple[Any, Any, Any]] = {}
    remembered: dict[str, Record] = {}
    extra = hooks.read_with_current(conn, batch) if hooks is not None else None
    parts, params = extra if extra is not None else ((), {})
    theirs = []
    for row in sql.rows(conn, _current_with(tuple(parts)), {**params, "ids": ids}):
        kind = row[0]
        if kind == "stored":
            state[row[1]] = Record.stored(row[2], row[1], row[3], row[4])
            stored_scope[row[1]] = (row[5], row[6], row[7])
        elif kind == "purged":
            remembered[row[1]] = Record(row[2], row[1], {}, row[4])
        else:
            theirs.append(row)
    for rid, tombstone in remembered.items():
        state.setdefault(rid, tombstone)
    if extra is not None:
        hooks.read_with_current_rows(theirs)
    return state, stored_scope


def _merge_batch(batch, early, state, hooks: Hooks, stamps: bool):
    """Merge each record into ``state`` in order; return outcomes, changed ids, greatest stamp."""
    outcomes: list[Outcome] = []
    dirty: dict[str, None] = {}  # ordered set of changed ids
    greatest = ""
    for record, rejection in zip(batch, early, strict=True):
        current = state.get(record.id)
        if rejection is None and current is not None and current.type != record.type:
            rejection = Rejection("invalid", "type", "The record already exists with another type.")
        if rejection is None:
            merged, changed = merge_changed(current, record)
            rejection = hooks.check(record, current, merged)
        if rejection is not None:
            outcomes.append(Outcome(record.id, REJECTED, rejection))
            continue
        if stamps:
            greatest = max(greatest, _max_stamp(record))
        if changed:
            state[record.id] = merged
            dirty[record.id] = None
            outcomes.append(Outcome(record.id, APPLIED))
        else:
            outcomes.append(Outcome(record.id, UNCHANGED))
    return outcomes, dirty, greatest


def _scope_keys(merged: Record, hooks: Hooks, stored: tuple | None) -> tuple[Scope, tuple]:
    scope = hooks.scope(merged)
    keys = (scope.project_id, scope.subject_id, scope.author_id)
    if merged.deleted is not None and stored is not None:
        # A tombstone has no fields to derive a scope from; it must still reach
        # the devices that saw the record. The domain's hooks derive it from the
        # identifying fields every write carries; hooks that give none keep the stored keys.
        keys = tuple(new if new is not None else old for new, old in zip(keys, stored, strict=True))
    return scope, keys


def _store_changed(conn: Connection, changed: list[Record], stored_scope: dict, hooks: Hooks) -> dict[str, int]:
    """Write the changed records, each with a new change number (from the counter or the
    sequence); return each one's number."""
    first = feed.take_numbers(conn, len(changed))
    rows = []
    for i, merged in enumerate(changed):
        scope, (project_id, subject_id, author_id) = _scope_keys(merged, hooks, stored_scope.get(merged.id))
        row = {
            "id": merged.id,
            "type": merged.type,
            "fields": merged.fields_json(),
            "deleted": merged.deleted,
            "project_id": project_id,
            "subject_id": subject_id,
            "author_id": author_id,
            "pending": scope.pending,
        }
        if first is not None:
            row["change_no"] = first + i + 1
            row["txid"] = 0
        rows.append(row)
    if first is not None:
        upsert(conn, records, rows, ("id",), _SET_ON_MERGE)
        return {row["id"]: row["change_no"] for row in rows}
    # The sequence numbers each row as it is written: they come back with it.
    return dict(upsert(conn, records, rows, ("id",), _SET_ON_MERGE, feed.STAMPS_PG, ("id", "change_no")))


def _build_feed_query(mode: str):
    """The feed's page query for one mode, built once (building a query costs more than a page)."""
    query = select(*_PULL_COLUMNS, records.c.txid).where(*feed.window(mode), records.c.pending.is_(False))
    return query.order_by(*feed.ORDER[mode]).limit(bindparam("limit"))


_FEED_QUERY = {mode: _build_feed_query(mode) for mode in (feed.GLOBAL, feed.PARALLEL)}


def feed_query(mode: str, visible: ColumnElement[bool] | None = None):
    """The feed's page query in this mode (``feed.mode``), cut by ``visible``.

    For ``pull(query=...)``: a caller that builds it once, with ``visible``'s values as
    parameters, saves building it (and its cache key) on every pull.
    """
    query = _FEED_QUERY[mode]
    return query if visible is None else query.where(visible)


def pull(
    conn: Connection,
    cursor: Cursor | int,
    limit: int,
    visible: ColumnElement[bool] | None = None,
    *,
    horizon: Cursor | None = None,
    query=None,
    params: dict[str, Any] | None = None,
    left=None,
) -> Page:
    """Return up to ``limit`` records changed after ``cursor`` that ``visible`` lets through.

    ``horizon`` (from ``head``) bounds the read in the parallel feed; read it before
    anything else in the transaction. Without it, it is read here. ``query`` (from
    ``feed_query``, built once) replaces ``visible``, with ``params`` for its own parameters.
    ``left``: a query of record ids in the same window (those that left a device's view,
    say), read in the same statement; its ids come back sorted in ``Page.left``.
    """
    if isinstance(cursor, int):
        if cursor < 0:
            raise ValueError("The cursor is a change number, 0 or more.")
        cursor = Cursor.of_number(cursor)
    if limit < 1:
        raise ValueError("The limit is at least 1.")
    mode = feed.mode(conn)
    if mode == feed.PARALLEL and horizon is None:
        horizon = feed.horizon(conn)
    params = {**feed.window_params(cursor, horizon), "limit": limit + 1, **(params or {})}
    page_query = query if query is not None else feed_query(mode, visible)
    found, left_ids, purged_to = [], [], Cursor()
    # One statement, so one snapshot: the purge mark read with the page is the one that
    # page was read under (a purge committing meanwhile is in neither, and caught next time).
    for row in sql.rows(conn, _page_statement(page_query, left), params):
        if row[0] == "r":
            found.append(row[1:])
        elif row[0] == "l":
            left_ids.append(row[1])
        else:
            purged_to = Cursor(row[6], row[5])
    if not cursor.is_start and not purged_to.is_start and cursor < purged_to:
        raise CursorExpired(purged_to)
    # The parts of one statement come in no promised order: put the page in feed order
    # ((txid, change number); the global feed's rows all have txid 0).
    found.sort(key=_feed_position)
    more = len(found) > limit
    if more:
        found = found[:limit]
    stored = Record.stored
    page = [stored(row[1], row[0], row[2], row[3]) for row in found]
    last = Cursor(found[-1][5], found[-1][4], found[-1][4]) if found else cursor
    return Page(page, last, more, tuple(row[4] for row in found), tuple(sorted(left_ids)))


def _feed_position(row) -> tuple[int, int]:
    return row[5], row[4]


def _page_statement(page_query, left):
    """The page query, ``left``'s ids and the purge mark as one statement of tagged rows
    ("r" the page's (id, type, fields, deleted, change_no, txid), "l" an id, "x" the mark);
    built once for statements built once (``sql.once``), else on each call."""
    if sql.is_once(page_query) and (left is None or sql.is_once(left)):
        return _page_statement_once(page_query, left)
    return _build_page_statement(page_query, left)


@cache
def _page_statement_once(page_query, left):
    return sql.once(_build_page_statement(page_query, left))


def _build_page_statement(page_query, left):
    page = page_query.subquery("page")
    parts = [select(literal("r"), *page.c)]
    if left is not None:
        gone = left.subquery("gone")
        parts.append(select(literal("l"), next(iter(gone.c)), *[null()] * 5))
    mark = (literal("x"), *[null()] * 4, counter.c.purged_through, counter.c.purged_txid)
    parts.append(select(*mark).where(counter.c.id == feed.COUNTER_ID))
    return union_all(*parts)


def fresh_ack(conn: Connection, cursor: Cursor | None = None) -> Cursor:
    """A cursor at ``cursor``'s feed position that no earlier response gave; return it.

    A pull that tells a device of access changes (removals, records it may now
    see) needs a cursor no earlier response gave, so the device's next pull
    says whether it received that response. The global feed takes a change number
    (holding the writers' lock until commit); the parallel one a sequence number.
    """
    return feed.fresh_ack(conn, cursor or feed.horizon(conn))


def purge_tombstones(conn: Connection, before_hlc: str) -> int:
    """Delete tombstones stamped before ``before_hlc``; return how many went."""
    parse(before_hlc)
    feed.lock_counter(conn)
    if feed.mode(conn) == feed.PARALLEL:
        # Keep every writer out while the tombstones go (a nightly job, seconds at most).
        conn.exec_driver_sql("LOCK TABLE sync_records IN SHARE ROW EXCLUSIVE MODE")
    purged_to = feed.purged_through(conn)
    old = (records.c.deleted.is_not(None)) & (records.c.deleted < before_hlc)
    count = conn.execute(select(func.count()).where(old)).scalar_one()
    if count:
        newest_first = [column.desc() for column in feed.order(conn)]
        top = conn.execute(
            select(records.c.txid, records.c.change_no).where(old).order_by(*newest_first).limit(1)
        ).one()
        remembered = select(records.c.id, records.c.type, records.c.deleted).where(old)
        known = select(purged.c.id)
        conn.execute(
            purged.insert().from_select(["id", "type", "deleted"], remembered.where(records.c.id.not_in(known)))
        )
        conn.execute(records.delete().where(old))
        newest = max(purged_to, Cursor(top[0], top[1]))
        conn.execute(
            counter.update()
            .where(counter.c.id == feed.COUNTER_ID)
            .values(purged_txid=newest.txid, purged_through=newest.change_no)
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
    feed.insert_for(conn)
    feed.lock_for_write(conn, [id])
    row = conn.execute(select(records.c.fields, records.c.deleted).where(records.c.id == id)).first()
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
    outcomes, state, _ = _push(conn, [record], hooks or _DEFAULT_HOOKS, None, None)
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
