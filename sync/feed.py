"""The change feed: how writers are ordered and how a pull reads past a cursor without skipping.

Two modes behind one API (``sync.cursor`` says what a cursor holds in each):

- **global**: a writer takes the counter row's lock first and holds it to commit, so
  change numbers become visible in number order. SQLite always works this way (it
  has one writer anyway); PostgreSQL does when the engine's execution option
  ``sync_feed`` is ``"global"`` (kept for comparison in ``bench.load``).
- **parallel** (PostgreSQL's default): writers lock only the records they write
  (transaction-scoped advisory locks on the ids, taken in one sorted order, so two
  pushes touching one record serialise on it and nothing else), number rows from a
  sequence and stamp them with their transaction id. A pull first reads the oldest
  transaction still running (``pg_snapshot_xmin``), then only rows of transactions
  below it, ordered by (txid, number): every such transaction has ended, so nothing
  can later appear behind the cursor. A transaction left open holds every pull's
  horizon back, so the server bounds them (``idle_in_transaction_session_timeout``)
  and ``/healthz`` reports the horizon's lag.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, and_, bindparam, literal_column, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from sync import sql
from sync.cursor import Cursor
from sync.schema import change_numbers, counter, records
from sync.sql import text_array

COUNTER_ID = 1
GLOBAL, PARALLEL = "global", "parallel"

# PostgreSQL: a row lock on the counter, held until commit.
_LOCK_COUNTER_PG = select(counter.c.value, counter.c.purged_through).where(counter.c.id == COUNTER_ID).with_for_update()
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
# Transaction-scoped advisory locks on keys made from ids, taken in one sorted order by
# every writer (no deadlock); the salt keeps one kind of lock apart from another.
# It also answers the oldest transaction still running as the statement starts (the
# whole server's, as _XMIN_PG): a push reports it as the feed's head, a round trip saved.
_LOCK_KEYS_PG = sql.once(
    text(
        "SELECT count(pg_advisory_xact_lock(k)), pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
        "FROM (SELECT DISTINCT hashtextextended(i, :salt) AS k "
        "FROM unnest(CAST(:ids AS text[])) AS i ORDER BY k) AS s"
    )
)
RECORD_LOCKS = 1729  # the salt of the locks a push takes on the records it writes
# The oldest transaction still running in THIS database (else the next to start): a
# transaction of another database on the same server never writes our rows, so it must
# not hold our pulls back (pg_snapshot_xmin alone counts the whole server). An id that
# pg_stat_activity cannot place (finished since, or hidden from us) counts as ours.
_HORIZON_SQL = """
    WITH snap AS (SELECT pg_current_snapshot() AS s),
    elsewhere AS (
        SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
    )
    SELECT COALESCE(
        (SELECT min(x::text::bigint) FROM snap, pg_snapshot_xip(snap.s) AS x
         WHERE x::text::bigint % 4294967296 NOT IN (SELECT xid FROM elsewhere)),
        (SELECT pg_snapshot_xmax(s)::text::bigint FROM snap)
    )
"""
_HORIZON_PG = sql.once(text(_HORIZON_SQL))
# The same, as a column another statement can carry (a round trip saved): the snapshot
# it reads is its statement's, taken as that statement starts.
HORIZON_PG = literal_column(f"({_HORIZON_SQL})", BigInteger)
_XMIN_PG = sql.once(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
_PURGED = sql.once(select(counter.c.purged_txid, counter.c.purged_through).where(counter.c.id == COUNTER_ID))
# What a parallel writer stamps on each row it writes, as SQL run per row (sync.sql.upsert):
# a number from the sequence and the writing transaction's id.
STAMPS_PG = {"change_no": f"nextval('{change_numbers.name}')", "txid": "pg_current_xact_id()::text::bigint"}
NEXT_NUMBER = change_numbers.next_value()
_NEXT_NUMBER = sql.once(select(NEXT_NUMBER))


def mode(conn: Connection) -> str:
    """The feed this connection writes and reads: parallel on PostgreSQL unless told otherwise."""
    if conn.dialect.name != "postgresql":
        return GLOBAL
    return conn.get_execution_options().get("sync_feed", PARALLEL)


def insert_for(conn: Connection):
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"The sync engine supports SQLite and PostgreSQL, not {name}.")


def lock_counter(conn: Connection) -> tuple[int, int]:
    """Take the counter row's lock (creating the row on first use); return value, purged."""
    lock = _LOCK_COUNTER_PG if conn.dialect.name == "postgresql" else _LOCK_COUNTER_SQLITE
    row = conn.execute(lock).first()
    if row is None:
        conn.execute(
            insert_for(conn)(counter)
            .values(id=COUNTER_ID, value=0, purged_through=0, purged_txid=0)
            .on_conflict_do_nothing(index_elements=[counter.c.id])
        )
        row = conn.execute(lock).one()
    return row[0], row[1]


def lock_keys(conn: Connection, ids, salt: int) -> Cursor:
    """PostgreSQL: hold a lock on each id (of the kind ``salt`` names) until commit.

    Returns ``horizon(precise=False)`` as the statement began: a head no later than
    what the transaction may write, so still safe to report.
    """
    row = sql.first(conn, _LOCK_KEYS_PG, {"ids": text_array(sorted(ids)), "salt": salt})
    return Cursor(row[1], 0)


def lock_for_write(conn: Connection, ids: list[str]) -> Cursor | None:
    """Before reading the records a push merges into: serialise with every other writer of them.

    The parallel feed also returns its cheap horizon as the locks were asked for (see
    ``lock_keys``); the global feed, None (its head moves as the push takes numbers).
    """
    if mode(conn) == GLOBAL:
        lock_counter(conn)
        return None
    return lock_keys(conn, ids, RECORD_LOCKS)


def take_numbers(conn: Connection, n: int) -> int | None:
    """Global feed: reserve ``n`` change numbers, return the first minus one. Parallel: None.

    In the parallel feed each row takes its number from the sequence as it is written
    (``STAMPS_PG``), stamped with its transaction's id.
    """
    if mode(conn) == PARALLEL:
        return None
    return conn.execute(_BUMP_COUNTER, {"n": n}).scalar_one() - n


def horizon(conn: Connection, *, precise: bool = True) -> Cursor:
    """The position every pull may read up to now; nothing can later appear at or before it.

    ``precise=False`` (parallel feed) takes the whole server's oldest running
    transaction instead of this database's: never later, so still safe, and cheaper.
    """
    if mode(conn) == GLOBAL:
        value = conn.execute(select(counter.c.value).where(counter.c.id == COUNTER_ID)).scalar()
        return Cursor.of_number(value or 0)
    # Read in its own statement (or as HORIZON_PG in the first one), before the feed: every
    # transaction below it had ended when this ran, so the feed query's later snapshot
    # sees all its rows.
    return Cursor(sql.scalar(conn, _HORIZON_PG if precise else _XMIN_PG), 0)


def fresh_ack(conn: Connection, cursor: Cursor) -> Cursor:
    """A cursor at the same feed position that no earlier response gave (to be acknowledged)."""
    if mode(conn) == GLOBAL:
        lock_counter(conn)
        return Cursor.of_number(conn.execute(_BUMP_COUNTER, {"n": 1}).scalar_one())
    return Cursor(cursor.txid, cursor.change_no, sql.scalar(conn, _NEXT_NUMBER))


# A cursor's window on the feed, as expressions with parameters (``window_params``), so a
# query built once serves every pull: rows past the cursor's position, and (parallel) only
# rows of transactions that have ended.
AFTER = {
    # Global rows all have txid 0; saying so, as a literal, lets PostgreSQL and SQLite read
    # them from the change-number index that holds only them (sync/schema.py).
    GLOBAL: and_(records.c.txid == literal_column("0"), records.c.change_no > bindparam("after_no")),
    # A row comparison PostgreSQL answers from any index ending in (txid, change_no): the
    # feed's own, or one that first picks a participant's or a project's records.
    PARALLEL: tuple_(records.c.txid, records.c.change_no) > tuple_(bindparam("after_txid"), bindparam("after_no")),
}
ORDER = {GLOBAL: (records.c.change_no,), PARALLEL: (records.c.txid, records.c.change_no)}
SETTLED = records.c.txid < bindparam("horizon")


def order(conn: Connection) -> tuple:
    """The feed order of rows: change number (global), or (txid, change number) (parallel)."""
    return ORDER[mode(conn)]


def after(conn: Connection) -> ColumnElement[bool]:
    """Rows past the cursor's position (parameters from ``window_params``)."""
    return AFTER[mode(conn)]


def window(mode_: str) -> list[ColumnElement[bool]]:
    """The conditions of a pull's window in this mode (parameters from ``window_params``):
    rows past the cursor and, in the parallel feed, of transactions that have ended."""
    conditions = [AFTER[mode_]]
    if mode_ == PARALLEL:
        conditions.append(SETTLED)
    return conditions


def window_params(cursor: Cursor, horizon_: Cursor | None) -> dict[str, int]:
    """The parameters of ``after`` and ``window`` for this cursor and horizon."""
    params = {"after_no": cursor.change_no, "after_txid": cursor.txid}
    if horizon_ is not None:
        params["horizon"] = horizon_.txid
    return params


def purged_through(conn: Connection) -> Cursor:
    row = sql.first(conn, _PURGED)
    return Cursor(row[0], row[1]) if row is not None else Cursor()
