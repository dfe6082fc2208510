"""SQL constructs the hot paths share: a list of ids as ONE parameter, on both backends.

``column.in_(ids)`` renders one placeholder per id, so the statement's text changes
with the batch's size: PostgreSQL plans it afresh each time (planning can cost more
than running it) and no prepared statement is ever reused. ``in_ids(column)`` sends
the ids as one parameter instead, so the text is the same for every batch:

- PostgreSQL: ``column = ANY(:ids::TEXT[])``, the array sent as its text form
  (psycopg prepares the statement after a few runs on a connection, and PostgreSQL
  keeps its plan). The parameter itself is typed TEXT[], so the server reads the text
  once, when the statement is bound;
- SQLite: ``column IN (SELECT value FROM json_each(:ids))`` with the ids as a JSON
  array (one bound parameter, whatever the count, so no chunking under SQLite's limit).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator, UserDefinedType

from sync.records import json_text


def text_array(ids) -> str:
    """PostgreSQL's text form of an array of these strings, for ``CAST(... AS TEXT[])``.

    psycopg sends a Python list element by element in Python: 134 us for 50 ids, against
    6 us for this, and a push and its pull send half a dozen such lists.
    """
    ids = [str(item) for item in ids]
    plain = "".join(ids)
    if '"' not in plain and "\\" not in plain:
        return '{"' + '","'.join(ids) + '"}' if ids else "{}"
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in ids)
    return "{" + ",".join(quoted) + "}"


class _TextArrayParameter(UserDefinedType):
    """PostgreSQL: a parameter holding the text of a text array, bound as ``:name::TEXT[]``.

    The cast on the parameter makes the parameter itself a TEXT[]: PostgreSQL reads the
    text once, as it binds the statement. Bound as VARCHAR (SQLAlchemy's cast for text)
    and then cast, ``CAST(:ids::VARCHAR AS TEXT[])`` was an expression that a generic plan
    evaluates wherever it is used: once per row where the list filters a join. Measured
    with perf: reading those arrays (array_in) was 16% of PostgreSQL's CPU in a push and
    its pull.
    """

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **_kw) -> str:
        return "TEXT[]"


class IdList(TypeDecorator):
    """A list of string ids bound as one parameter: the text of a text array (``text_array``),
    or a JSON array on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_TextArrayParameter())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return text_array(value)
        return json.dumps([str(item) for item in value])


class in_ids(FunctionElement):  # noqa: N801 (used like a SQL function)
    """``in_ids(column, "ids")``: the column's value is one of the ids bound as ``ids``."""

    # No Boolean type: SQLite would compare the test with 1 (and skip the index).
    type = NullType()
    inherit_cache = True
    name = "in_ids"

    def __init__(self, column, name: str = "ids"):
        super().__init__(column, bindparam(name, type_=IdList()))


@compiles(in_ids)
def _in_json_each(element, compiler, **kw):
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} IN (SELECT value FROM json_each({compiler.process(ids, **kw)}))"


@compiles(in_ids, "postgresql")
def _any_array(element, compiler, **kw):
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)})"


def upsert(
    conn,
    table,
    rows: list[dict],
    key: tuple[str, ...],
    set_: dict[str, str | None],
    computed: dict[str, str] | None = None,
    returning: tuple[str, ...] = (),
) -> list[tuple]:
    """Insert ``rows`` (dicts with the same keys) into ``table``, or on a clash of ``key``
    set each column of ``set_`` to its SQL, or to the incoming value where that is None
    (in SQL, ``excluded.name`` is the incoming value). Returns the ``returning`` columns
    of each row written (PostgreSQL only: what ``computed`` gave them, say).

    PostgreSQL: ONE statement whatever the number of rows (an executemany runs the
    statement once per row: 50 executions for a 50-record push). The rows go as one
    JSON text, read back with ``json_to_recordset``: arrays of text would need every
    quote in every value escaped by the driver, row by row, in Python. ``computed``
    adds columns whose value is SQL run per row there (a sequence's next value, say).
    SQLite: an executemany, which is cheap in-process. Rows must not repeat a key (one
    statement cannot change a row twice).
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    if conn.dialect.name == "postgresql":
        stmt = _recordset_upsert(table, columns, key, tuple(set_.items()), tuple((computed or {}).items()), returning)
        # One JSON text: a push sends about 150 rows this way (json_text: 120 -> 10 us).
        params = {"rows": json_text(rows)}
        if returning:
            return _fetch(conn, stmt, params)
        run(conn, stmt, params)
        return []
    if computed or returning:
        raise ValueError("Computed and returned columns are for PostgreSQL; give the values on SQLite.")
    conn.execute(_sqlite_upsert(table, key, tuple(set_.items())), rows)
    return []


@cache
def _recordset_upsert(table, columns, key, set_, computed, returning):
    return once(text(_recordset_upsert_sql(table, columns, key, set_, computed, returning)))


def _recordset_upsert_sql(table, columns, key, set_, computed, returning, rows: str = "rows") -> str:
    """The upsert's SQL, reading its rows from the JSON parameter named ``rows``."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    shape = ", ".join(f"{quote(name)} {table.c[name].type.compile(dialect)}" for name in columns)
    names = ", ".join(quote(name) for name in (*columns, *(name for name, _ in computed)))
    values = ", ".join([*(f"u.{quote(name)}" for name in columns), *(sql for _, sql in computed)])
    conflict = ", ".join(quote(name) for name in key)
    action = "NOTHING"
    if set_:
        action = "UPDATE SET " + ", ".join(
            f"{quote(name)} = {sql if sql is not None else 'excluded.' + quote(name)}" for name, sql in set_
        )
    return (
        f"INSERT INTO {quote(table.name)} ({names}) "
        f"SELECT {values} FROM json_to_recordset(CAST(:{rows} AS json)) AS u({shape}) "
        f"ON CONFLICT ({conflict}) DO {action}"
        + (" RETURNING " + ", ".join(quote(name) for name in returning) if returning else "")
    )


class Writes:
    """Upserts held back to go to PostgreSQL as ONE statement when flushed.

    A push ends with a write to each of a few tables (its projections, the counts, what
    the device holds), none of which the push reads again: one statement each cost a round
    trip each, and PostgreSQL's start-up of each (about 0.1 ms of CPU a statement on both
    sides). Held here, they go as the data-modifying WITH clauses of one statement, which
    PostgreSQL runs to completion whether or not the statement reads them. Flush before
    anything reads those tables again, and before commit. A table written twice is
    flushed in between (two clauses must not touch one row). On SQLite each upsert runs
    as it comes, as ``upsert`` does.
    """

    def __init__(self, conn) -> None:
        self.conn = conn
        self._held: list[tuple] = []  # (the upsert's shape, its rows as JSON text)

    def upsert(self, table, rows: list[dict], key: tuple[str, ...], set_: dict, computed: dict | None = None) -> None:
        """``upsert(conn, table, rows, key, set_, computed)``, held until ``flush``."""
        if not rows:
            return
        if self.conn.dialect.name != "postgresql":
            upsert(self.conn, table, rows, key, set_, computed)
            return
        if any(shape[0] is table for shape, _ in self._held):
            self.flush()
        shape = (table, tuple(rows[0]), key, tuple(set_.items()), tuple((computed or {}).items()))
        self._held.append((shape, json_text(rows)))

    def flush(self) -> None:
        """Run what is held, in one statement."""
        if not self._held:
            return
        held, self._held = self._held, []
        params = {f"rows_{i}": rows for i, (_, rows) in enumerate(held)}
        run(self.conn, _together(tuple(shape for shape, _ in held)), params)


@contextmanager
def writing(conn, writes: Writes | None = None):
    """The caller's held writes, or writes of one's own, flushed as the block ends."""
    if writes is not None:
        yield writes
        return
    own = Writes(conn)
    yield own
    own.flush()


@cache
def _together(shapes: tuple) -> object:
    """One statement of these upserts: each but the last a WITH clause, the last its body."""
    parts = [_recordset_upsert_sql(*shape, (), rows=f"rows_{i}") for i, shape in enumerate(shapes)]
    clauses = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts[:-1]))
    return once(text((f"WITH {clauses} " if clauses else "") + parts[-1]))


@cache
def _sqlite_upsert(table, key, set_):
    stmt = sqlite.insert(table)
    if not set_:
        return stmt.on_conflict_do_nothing(index_elements=list(key))
    values = {name: stmt.excluded[name] if sql is None else text(sql) for name, sql in set_}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=values)


# ---------------------------------------------------------------- lean execution
#
# A push and its pull run about seventeen statements, nearly all built once. Through
# SQLAlchemy's Connection.execute each run also builds the statement's cache key (a
# walk of its whole tree), looks the compiled form up, makes an execution context and
# a result with its row metadata: under py-spy that was 31% of a request's Python,
# more than psycopg's 24% and more than our own code. A statement marked ``once`` (a
# module constant, or the product of a cached builder) runs instead straight on the
# DBAPI cursor of the same connection, so in the same transaction, compiled once per
# backend. Errors go through SQLAlchemy's own handling, so they are the exceptions the
# app already answers (OperationalError: 503, ...) and a lost connection still leaves
# the pool. Engine events fire as before (bench.push_cost counts statements by them).
# Anything else, and everything on SQLite, takes the ordinary path. This leans on a few
# of SQLAlchemy 2's internals (_bind_processors, _handle_dbapi_exception): the tests of
# tests/sync/test_sql.py hold each behaviour, so an upgrade that moves them fails there.

_once: dict = {}  # statement -> its _Compiled, or None before its first run


def once(stmt):
    """Mark a statement as built once, to run lean on PostgreSQL; return it.

    Only for statements that live as long as the process: each is compiled and kept.
    """
    _once.setdefault(stmt, None)
    return stmt


def is_once(stmt) -> bool:
    """Whether a statement was marked ``once``."""
    return stmt in _once


def rows(conn, stmt, params: dict | None = None) -> list[tuple]:
    """Run a statement that returns rows; return them as tuples (in its column order)."""
    cursor = _lean(conn, stmt, params)
    if cursor is None:
        return [tuple(row) for row in conn.execute(stmt, params or {})]
    # Not through cursor.description: it builds an object per column (2% of a request).
    found = cursor.fetchall()
    cursor.close()
    return found


def first(conn, stmt, params: dict | None = None) -> tuple | None:
    """Run a statement; return its first row as a tuple, or None."""
    found = rows(conn, stmt, params)
    return found[0] if found else None


def scalar(conn, stmt, params: dict | None = None):
    """Run a statement; return the first column of its first row, or None."""
    row = first(conn, stmt, params)
    return row[0] if row is not None else None


_fetch = rows  # for upsert, whose own argument is called rows


def run(conn, stmt, params: dict | None = None) -> None:
    """Run a statement for its effect."""
    cursor = _lean(conn, stmt, params)
    if cursor is None:
        conn.execute(stmt, params or {})
    else:
        cursor.close()


def _lean(conn, stmt, params):
    """The statement run on the DBAPI cursor, or None where it takes the ordinary path."""
    if stmt not in _once or conn.dialect.name != "postgresql":
        return None
    entry = _once[stmt]
    if entry is None or entry.dialect is not type(conn.dialect):
        entry = _once[stmt] = _Compiled(stmt, conn.dialect)
    sql, values, processors = entry.sql_and_values(params or {})
    for name, process in processors.items():
        if name in values:
            values[name] = process(values[name])
    cursor = conn.connection.dbapi_connection.cursor()
    events = conn._has_events or conn.engine._has_events
    if events:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
    try:
        cursor.execute(sql, values)
    except Exception as error:
        conn._handle_dbapi_exception(error, sql, values, cursor, None)
    if events:
        conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
    return cursor


class _Compiled:
    """A statement built once, compiled for one dialect, with what each run needs."""

    def __init__(self, stmt, dialect) -> None:
        self.dialect = type(dialect)
        self.compiled = compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.processors = compiled._bind_processors
        # A list written into the statement (``type IN ('a', 'b')``) is expanded into one
        # placeholder per item. SQLAlchemy redoes that on every run (a pass over the whole
        # text: 7% of a participant's pull); a list fixed in the statement expands the
        # same way every time, so the first run's expansion is kept.
        late = compiled.post_compile_params
        self.late = bool(late or compiled.literal_execute_params)
        self.fixed_lists = (
            self.late
            and not compiled.literal_execute_params
            and all(bind.expanding and not bind.required and bind.callable is None for bind in late)
        )
        self.expanded = None  # (SQL, {list's name: its placeholders' names}, processors)

    def sql_and_values(self, params: dict) -> tuple[str, dict, dict]:
        compiled = self.compiled
        if not self.late:
            return self.sql, compiled.construct_params(params), self.processors
        if self.expanded is not None:
            sql, expansion, processors = self.expanded
            values = compiled.construct_params(params, _no_postcompile=True)
            if all(len(values[name]) == len(names) for name, names in expansion.items()):
                for name, names in expansion.items():
                    values.update(zip(names, values.pop(name), strict=True))
                return sql, values, processors
        state = compiled.construct_expanded_state(params)
        if self.fixed_lists and self.expanded is None:
            self.expanded = (state.statement, dict(state.parameter_expansion), dict(state.processors))
        return state.statement, dict(state.parameters), state.processors
