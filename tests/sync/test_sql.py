"""The shared SQL constructs (sync/sql.py), on SQLite and PostgreSQL."""

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from sync import sql
from sync.records import json_text
from sync.schema import records
from sync.sql import in_ids, upsert

SELECT_BY_IDS = sa.select(records.c.id).where(in_ids(records.c.id)).order_by(records.c.id)


def _row(rid: str, number: int, fields: str = "{}") -> dict:
    return {"id": rid, "type": "note", "fields": fields, "deleted": None, "change_no": number, "txid": 0}


def test_in_ids_finds_exactly_the_ids_given(engine):
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row(f"r{i}", i) for i in range(1, 8)])
        assert conn.execute(SELECT_BY_IDS, {"ids": ["r2", "r5", "not-there"]}).scalars().all() == ["r2", "r5"]
        assert conn.execute(SELECT_BY_IDS, {"ids": []}).scalars().all() == []
        # An id with a quote and a comma is one id, not SQL and not two ids.
        assert conn.execute(SELECT_BY_IDS, {"ids": ["r1', 'r3", "r7"]}).scalars().all() == ["r7"]


def test_in_ids_takes_ids_with_any_characters_as_themselves(engine):
    # On PostgreSQL the ids travel as an array's text form: quotes, backslashes, braces,
    # commas and spaces must come through as part of the id they are in.
    awkward = ['a"b', "c\\d", 'e\\"f', "{g}", "h,i", " j ", "", "NULL", "k\u00e9"]
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row(rid, i) for i, rid in enumerate(awkward, start=1)])
        conn.execute(records.insert(), [_row("plain", 99)])
        found = conn.execute(SELECT_BY_IDS, {"ids": awkward}).scalars().all()
    assert sorted(found) == sorted(awkward)


def test_in_ids_sends_one_statement_text_whatever_the_count(engine):
    # The point of in_ids: PostgreSQL reuses one prepared statement for every batch size.
    sent = []
    sa.event.listen(
        engine, "before_cursor_execute", lambda *args: args[2].startswith("SELECT") and sent.append(args[2])
    )
    with engine.begin() as conn:
        for count in (1, 3, 40):
            conn.execute(SELECT_BY_IDS, {"ids": [f"r{i}" for i in range(count)]})
    assert len(sent) == 3
    assert len(set(sent)) == 1


def test_in_ids_reaches_postgresql_as_a_text_array_read_once(engine):
    # Typed as text and cast in the statement, the list was read again wherever a generic
    # plan evaluated it (per row where it filters a join): 16% of PostgreSQL's CPU.
    if engine.dialect.name != "postgresql":
        return  # SQLite reads a JSON array, with nothing prepared
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row(f"r{i}", i) for i in range(1, 4)])
        cursor = conn.connection.dbapi_connection.cursor()
        compiled = SELECT_BY_IDS.compile(conn)
        query, params = compiled.string, compiled.construct_params({"ids": ["r1", "r3"]})
        params = {name: compiled.binds[name].type.process_bind_param(v, conn.dialect) for name, v in params.items()}
        cursor.execute(query, params, prepare=True)
        assert [row[0] for row in cursor.fetchall()] == ["r1", "r3"]
        types = (
            conn.exec_driver_sql(
                "SELECT parameter_types::text FROM pg_prepared_statements WHERE statement LIKE '%%= ANY(%%'"
            )
            .scalars()
            .all()
        )
    assert types == ["{text[]}"]


def test_upsert_inserts_new_rows_and_updates_only_the_named_columns(engine):
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row("a", 1, '{"x":1}')])
        upsert(
            conn,
            records,
            [_row("a", 10, '{"x":2}'), _row("b", 11, '{"y":1}')],
            ("id",),
            {"fields": None},  # take the incoming fields, keep the stored change number
        )
        rows = conn.execute(sa.select(records.c.id, records.c.fields, records.c.change_no).order_by("id")).all()
    assert [tuple(r) for r in rows] == [("a", '{"x":2}', 1), ("b", '{"y":1}', 11)]


def test_upsert_can_compute_the_new_value_from_the_stored_one(engine):
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row("a", 5)])
        upsert(conn, records, [_row("a", 7)], ("id",), {"change_no": "sync_records.change_no + excluded.change_no"})
        assert conn.execute(sa.select(records.c.change_no)).scalar_one() == 12


def test_upsert_without_columns_to_set_leaves_the_stored_row(engine):
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row("a", 5, '{"kept":true}')])
        upsert(conn, records, [_row("a", 6, "{}"), _row("c", 8)], ("id",), {})
        rows = conn.execute(sa.select(records.c.id, records.c.fields).order_by("id")).all()
    assert [tuple(r) for r in rows] == [("a", '{"kept":true}'), ("c", "{}")]


def test_held_writes_to_several_tables_go_as_one_statement_when_flushed(engine):
    from sync.schema import counter

    with engine.begin() as conn:
        conn.execute(records.insert(), [_row("a", 1, '{"x":1}')])
        conn.execute(counter.insert(), [{"id": 1, "value": 5}])
        sent = []
        sa.event.listen(conn, "before_cursor_execute", lambda *args: sent.append(args[2]))
        writes = sql.Writes(conn)
        writes.upsert(records, [_row("a", 10, '{"x":2}'), _row("b", 11)], ("id",), {"fields": None})
        writes.upsert(counter, [{"id": 1, "value": 2}], ("id",), {"value": "sync_counter.value + excluded.value"})
        if engine.dialect.name == "postgresql":  # SQLite runs each as it comes
            assert sent == []
        writes.flush()
        writes.flush()  # nothing held: nothing sent
        assert len(sent) == (1 if engine.dialect.name == "postgresql" else 2)
        rows = conn.execute(sa.select(records.c.id, records.c.fields, records.c.change_no).order_by("id")).all()
        value = conn.execute(sa.select(counter.c.value)).scalar_one()
    assert [tuple(r) for r in rows] == [("a", '{"x":2}', 1), ("b", "{}", 11)]
    assert value == 7


def test_held_writes_to_one_table_twice_keep_their_order(engine):
    # Two clauses of one statement must not touch one row: the first goes before the second is held.
    with engine.begin() as conn:
        writes = sql.Writes(conn)
        writes.upsert(records, [_row("a", 1, '{"v":1}')], ("id",), {"fields": None})
        writes.upsert(records, [_row("a", 2, '{"v":2}')], ("id",), {"fields": None})
        writes.flush()
        assert conn.execute(sa.select(records.c.fields)).scalar_one() == '{"v":2}'


def test_json_text_sends_times_as_iso_and_any_whole_number_exactly():
    moment = datetime(2026, 11, 30, 22, 15, 1, 250000, tzinfo=UTC)
    rows = [
        {"id": "a", "at": moment, "day": date(2026, 11, 30), "n": 2**70, "text": 'é "quoted" \\ \u2028'},
        {"id": "b", "at": datetime(2026, 1, 2, 3, 4, 5), "day": None, "n": -1, "text": ""},
    ]
    assert json.loads(json_text(rows)) == [
        {
            "id": "a",
            "at": "2026-11-30T22:15:01.250000+00:00",
            "day": "2026-11-30",
            "n": 2**70,
            "text": 'é "quoted" \\ \u2028',
        },
        {"id": "b", "at": "2026-01-02T03:04:05", "day": None, "n": -1, "text": ""},
    ]
    assert json.loads(json_text(rows[1:])) == [
        {"id": "b", "at": "2026-01-02T03:04:05", "day": None, "n": -1, "text": ""}
    ]


# Statements marked once: run on the DBAPI cursor on PostgreSQL, the ordinary way on SQLite.
BY_IDS_AND_TYPES = sql.once(
    sa.select(records.c.id, records.c.change_no, sa.literal("x"))
    .where(in_ids(records.c.id), records.c.type.in_(["note", "memo"]), records.c.change_no > sa.bindparam("after"))
    .order_by(records.c.id)
)


def test_a_statement_built_once_reads_as_the_ordinary_path_does(engine):
    rows = [_row("a'1", 1), _row("b", 2), _row("c", 3), {**_row("d", 4), "type": "other"}]
    with engine.begin() as conn:
        conn.execute(records.insert(), rows)
        params = {"ids": ["a'1", "b", "c", "d", "zz"], "after": 1}
        ordinary = [tuple(row) for row in conn.execute(BY_IDS_AND_TYPES, params)]
        assert sql.rows(conn, BY_IDS_AND_TYPES, params) == ordinary == [("b", 2, "x"), ("c", 3, "x")]
        assert sql.first(conn, BY_IDS_AND_TYPES, {"ids": ["c"], "after": 0}) == ("c", 3, "x")
        assert sql.scalar(conn, BY_IDS_AND_TYPES, {"ids": ["zz"], "after": 0}) is None
        sql.run(conn, sql.once(records.delete().where(in_ids(records.c.id))), {"ids": ["b"]})
        assert sql.rows(conn, BY_IDS_AND_TYPES, params) == [("c", 3, "x")]


def test_a_statement_built_once_is_seen_by_engine_events(engine):
    seen = []
    sa.event.listen(engine, "after_cursor_execute", lambda *args: "sync_records" in args[2] and seen.append(args[2]))
    with engine.begin() as conn:
        sql.rows(conn, BY_IDS_AND_TYPES, {"ids": ["a"], "after": 0})
    assert len(seen) == 1 and "sync_records.change_no >" in seen[0]


NUMBERED = sql.once(sa.select(records.c.id).where(records.c.change_no == sa.cast(sa.bindparam("n"), sa.Integer)))
ADD = sql.once(sa.text("INSERT INTO sync_records (id, type, fields, change_no) VALUES (:id, 'note', '{}', :n)"))


def test_a_failing_statement_built_once_raises_what_sqlalchemy_raises(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            with pytest.raises(sa.exc.DataError):
                sql.rows(conn, NUMBERED, {"n": "not a number"})
            conn.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            with conn.begin():
                conn.execute(records.insert(), [_row("same", 1)])
                sql.run(conn, ADD, {"id": "same", "n": 2})
        # Nothing half-written: the transaction went back whole, and the connection works.
        assert sql.rows(conn, BY_IDS_AND_TYPES, {"ids": ["same"], "after": 0}) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lost_connection_under_a_statement_built_once_leaves_the_pool(engine):
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(sa.exc.OperationalError) as lost:
            sql.rows(conn, BY_IDS_AND_TYPES, {"ids": ["a"], "after": 0})
        assert lost.value.connection_invalidated
    with engine.connect() as conn:  # a new connection, not the dead one
        assert sql.rows(conn, BY_IDS_AND_TYPES, {"ids": ["a"], "after": 0}) == []


def test_a_list_given_per_run_to_a_statement_built_once_is_expanded_each_time(engine):
    wanted = sql.once(
        sa.select(records.c.id).where(records.c.id.in_(sa.bindparam("wanted", expanding=True))).order_by(records.c.id)
    )
    with engine.begin() as conn:
        conn.execute(records.insert(), [_row(rid, i) for i, rid in enumerate("abcd", start=1)])
        assert sql.rows(conn, wanted, {"wanted": ["b", "c"]}) == [("b",), ("c",)]
        assert sql.rows(conn, wanted, {"wanted": ["a", "b", "d"]}) == [("a",), ("b",), ("d",)]
        assert sql.rows(conn, wanted, {"wanted": ["d"]}) == [("d",)]
