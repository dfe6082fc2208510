"""The shared SQL constructs (sync/sql.py), on SQLite and PostgreSQL."""

import sqlalchemy as sa

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
