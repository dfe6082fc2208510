"""Push, pull, purge and local writes on SQLAlchemy Core, on SQLite and PostgreSQL."""

import json
import uuid

import pytest
import sqlalchemy as sa

from sync import store
from sync.hlc import Clock, parse
from sync.records import Record, Register, WireError
from sync.schema import records
from sync.store import APPLIED, REJECTED, UNCHANGED, CursorExpired, Hooks, RecordRejected, Rejection, Scope
from tests.sync.helpers import full_rows, head_value, positions, pull_all, push_batch, state

NODE = "9f1c2a9d4e5b6c7d"


def t(wall, counter=0, node=NODE):
    return f"{wall:013d}-{counter:04x}-{node}"


def rid(n):
    return str(uuid.UUID(int=n, version=4))


def rec(n, deleted=None, type="feedback", **fields):
    return Record(type, rid(n), {k: Register(*v) for k, v in fields.items()}, deleted)


def stored(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(records).order_by(records.c.id)).all()


def statuses(outcomes):
    return [o.status for o in outcomes]


def test_push_applies_then_a_resend_is_unchanged(engine):
    batch = [rec(1, text=("a", t(10))), rec(2, text=("b", t(10)))]
    assert statuses(push_batch(engine, batch)) == [APPLIED, APPLIED]
    assert head_value(engine) == 2
    before = full_rows(engine)
    assert statuses(push_batch(engine, batch)) == [UNCHANGED, UNCHANGED]
    assert head_value(engine) == 2
    assert full_rows(engine) == before


def test_duplicates_in_one_batch_merge_in_order(engine):
    batch = [
        rec(1, text=("x", t(10))),
        rec(1, text=("y", t(11)), principle=("equality", t(9))),
        rec(1, text=("x", t(10))),
    ]
    assert statuses(push_batch(engine, batch)) == [APPLIED, APPLIED, UNCHANGED]
    assert head_value(engine) == 1  # one changed record, one change number
    (only,) = pull_all(engine)[0].values()
    assert only.values() == {"text": "y", "principle": "equality"}


def test_fields_merge_one_by_one(engine):
    push_batch(engine, [rec(1, value=("agree", t(10)), comment=("ok", t(10)))])
    push_batch(engine, [rec(1, comment=("better", t(12)))])
    push_batch(engine, [rec(1, value=("disagree", t(11)), comment=("stale", t(11)))])
    (only,) = pull_all(engine)[0].values()
    assert only.values() == {"value": "disagree", "comment": "better"}


def test_change_numbers_move_to_the_end_on_update(engine):
    push_batch(engine, [rec(1, a=(1, t(1))), rec(2, a=(1, t(1)))])
    push_batch(engine, [rec(1, a=(2, t(2)))])
    with engine.begin() as conn:
        page = store.pull(conn, 0, 10)
    assert [r.id for r in page.records] == [rid(2), rid(1)]
    newest = positions(engine)[-1]
    assert page.cursor == newest and not page.more
    assert head_value(engine) == 3
    with engine.begin() as conn:
        assert store.head(conn) >= newest


def test_clock_ahead_names_the_field_and_spares_the_rest(engine):
    limit = 1_000_000
    batch = [
        rec(1, text=("a", t(limit)), later=("b", t(limit + 1))),
        rec(2, deleted=t(limit + 5)),
        rec(3, text=("c", t(limit))),
    ]
    out = push_batch(engine, batch, max_wall_ms=limit)
    assert statuses(out) == [REJECTED, REJECTED, APPLIED]
    assert (out[0].error.code, out[0].error.field) == ("clock_ahead", "later")
    assert (out[1].error.code, out[1].error.field) == ("clock_ahead", "deleted")
    assert out[0].to_wire()["error"]["code"] == "clock_ahead"
    assert out[2].to_wire() == {"id": rid(3), "status": "applied"}
    assert set(state(engine)) == {rid(3)}


def test_records_built_in_code_are_checked_too(engine):
    bad_id = Record("feedback", "not-a-uuid", {"text": Register("a", t(1))})
    long_type = Record("x" * 41, rid(2), {"text": Register("a", t(1))})
    out = push_batch(engine, [bad_id, long_type, rec(3, text=("c", t(1)))])
    assert statuses(out) == [REJECTED, REJECTED, APPLIED]
    assert (out[0].error.code, out[0].error.field) == ("invalid", "id")
    assert (out[1].error.code, out[1].error.field) == ("invalid", "type")


def test_a_record_cannot_change_type(engine):
    push_batch(engine, [rec(1, text=("a", t(1)))])
    out = push_batch(engine, [rec(1, type="action", text=("b", t(2))), rec(2, text=("c", t(1)))])
    assert statuses(out) == [REJECTED, APPLIED]
    assert (out[0].error.code, out[0].error.field) == ("invalid", "type")


class Recording(Hooks):
    def __init__(self):
        self.seen = []
        self.changed = []

    def check(self, incoming, current, merged):
        self.seen.append(None if current is None else current.values())
        if incoming.fields.get("text", Register(None, "")).v == "poison":
            return Rejection("invalid", "text", "No poison.")
        return None

    def scope(self, merged):
        return Scope(project_id="p1", subject_id=merged.id, author_id="u7")

    def after_merge(self, conn, changed):
        # Same transaction: the upserted rows are already visible here.
        stored = conn.execute(sa.select(sa.func.count()).select_from(records)).scalar()
        self.changed.append(([r.id for r in changed], stored))


NOTE_TYPES = sa.select(sa.literal("types"), records.c.id, records.c.type, *[sa.null()] * 6).where(
    records.c.type == sa.bindparam("wanted")
)


class ReadingWithCurrent(Hooks):
    """Reads the stored records of one type in the store's own read of the batch."""

    def __init__(self):
        self.rows, self.order = None, []

    def read_with_current(self, conn, batch):
        self.order.append("read")
        return (NOTE_TYPES,), {"wanted": "note"}

    def read_with_current_rows(self, rows):
        self.order.append("rows")
        self.rows = sorted((row[0], row[1], row[2]) for row in rows)

    def prepare(self, conn, batch, current, stored_scopes):
        self.order.append(("prepare", sorted(current)))


def test_a_hook_reads_in_the_statement_that_reads_the_batch(engine):
    push_batch(engine, [rec(1, type="note", text=("a", t(1))), rec(2, text=("b", t(1)))])
    hooks = ReadingWithCurrent()
    sent = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    push_batch(engine, [rec(2, text=("c", t(2))), rec(3, type="note", text=("d", t(2)))], hooks)
    # Its rows came before prepare, which saw the batch's stored record (2, not yet 3).
    assert hooks.order == ["read", "rows", ("prepare", [rid(2)])]
    assert hooks.rows == [("types", rid(1), "note")]
    # One statement read both: the batch's stored and purged records, and the hook's.
    mine = [statement for statement in sent if "sync_records.type =" in statement]
    assert len(mine) == 1 and "sync_purged" in mine[0]


def test_hooks_see_the_running_state_and_a_rejection_spares_the_rest(engine):
    hooks = Recording()
    batch = [
        rec(1, text=("first", t(1))),
        rec(1, text=("poison", t(2))),
        rec(1, text=("second", t(3))),
        rec(2, text=("other", t(1))),
    ]
    out = push_batch(engine, batch, hooks)
    assert statuses(out) == [APPLIED, REJECTED, APPLIED, APPLIED]
    assert out[1].error == Rejection("invalid", "text", "No poison.")
    assert hooks.seen == [None, {"text": "first"}, {"text": "first"}, None]
    assert hooks.changed == [([rid(1), rid(2)], 2)]
    rows = {r.id: r for r in stored(engine)}
    assert (rows[rid(1)].project_id, rows[rid(1)].subject_id, rows[rid(1)].author_id) == (
        "p1",
        rid(1),
        "u7",
    )
    push_batch(engine, batch, hooks)
    assert hooks.changed == [([rid(1), rid(2)], 2)]  # nothing changed: no call


def test_a_tombstone_keeps_its_scope(engine):
    class ByProject(Hooks):
        def scope(self, merged):
            p = merged.fields.get("project_id")
            return Scope(project_id=p.v if p else None)

    hooks = ByProject()
    push_batch(engine, [rec(1, project_id=("p9", t(1)), text=("x", t(1)))], hooks)
    push_batch(engine, [rec(1, deleted=t(2))], hooks)
    (row,) = stored(engine)
    assert (row.fields, row.deleted, row.project_id) == ("{}", t(2), "p9")
    with engine.begin() as conn:
        (seen,) = store.pull(conn, 0, 10, visible=records.c.project_id == "p9").records
    assert seen == Record("feedback", rid(1), {}, t(2))


def test_tombstones_stick_and_drop_values(engine):
    push_batch(engine, [rec(1, text=("x", t(5)))])
    assert statuses(push_batch(engine, [rec(1, deleted=t(3))])) == [APPLIED]
    assert statuses(push_batch(engine, [rec(1, text=("back", t(99)))])) == [UNCHANGED]
    assert statuses(push_batch(engine, [rec(1, deleted=t(2))])) == [UNCHANGED]
    assert statuses(push_batch(engine, [rec(1, deleted=t(4))])) == [APPLIED]
    assert state(engine) == {rid(1): ("feedback", "{}", t(4))}


def test_pull_pages_and_filters(engine):
    push_batch(
        engine,
        [rec(n, text=(n, t(1)), p=("A" if n % 2 else "B", t(1))) for n in range(1, 8)],
        Recording(),
    )
    at = positions(engine)
    with engine.begin() as conn:
        first = store.pull(conn, 0, 3)
        assert [r.values()["text"] for r in first.records] == [1, 2, 3]
        assert (first.cursor, first.more) == (at[2], True)
        second = store.pull(conn, first.cursor, 3)
        third = store.pull(conn, second.cursor, 3)
        assert [r.values()["text"] for r in third.records] == [7]
        assert (third.cursor, third.more) == (at[6], False)
        empty = store.pull(conn, at[6], 3)
        assert (empty.records, empty.cursor, empty.more) == ([], at[6], False)
        exact = store.pull(conn, at[3], 3)
        assert (exact.cursor, exact.more) == (at[6], False)
        assert json.loads(first.records_json()) == [r.to_wire() for r in first.records]
        odd = store.pull(conn, 0, 100, visible=records.c.id.in_([rid(1), rid(3)]))
        assert [r.id for r in odd.records] == [rid(1), rid(3)] and odd.cursor == at[2]
        with pytest.raises(ValueError):
            store.pull(conn, -1, 3)
        with pytest.raises(ValueError):
            store.pull(conn, 0, 0)


def test_pull_reads_left_ids_with_the_page_in_one_statement(engine):
    # Written in an order that is neither id order nor the reverse of it.
    push_batch(engine, [rec(n, text=(n, t(1)), p=("A" if n % 2 else "B", t(1))) for n in (5, 2, 7, 1, 4)])
    push_batch(engine, [rec(3, text=(3, t(2)), p=("B", t(2)))])
    at = positions(engine)
    changed_in_b = sa.select(records.c.id).where(
        records.c.fields.like('%"B"%'), *store.feed.window(store.feed.mode(engine))
    )
    sent = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with engine.begin() as conn:
        page = store.pull(
            conn, at[0], 3, visible=records.c.fields.like('%"A"%'), left=changed_in_b, horizon=store.head(conn)
        )
    # The page in feed order (7 and 1, after the first record: 5), the left ids sorted.
    assert [r.id for r in page.records] == [rid(7), rid(1)]
    assert page.left == tuple(sorted([rid(2), rid(4), rid(3)]))
    assert sum(1 for statement in sent if "sync_records" in statement) == 1


def test_pull_on_an_empty_store(engine):
    with engine.begin() as conn:
        page = store.pull(conn, 0, 10)
        assert (page.records, page.cursor, page.more) == ([], 0, False)
        assert store.head(conn) >= 0


def test_purge_tombstones_and_expire_old_cursors(engine):
    push_batch(engine, [rec(1, text=("a", t(1))), rec(2, text=("b", t(1))), rec(3, text=("c", t(1)))])
    push_batch(engine, [rec(1, deleted=t(10)), rec(2, deleted=t(20))])  # change numbers 4, 5
    push_batch(engine, [rec(4, text=("d", t(30)))])  # 6
    at = positions(engine)  # records 3, 1 (tombstone), 2 (tombstone), 4
    with engine.begin() as conn:
        with pytest.raises(ValueError):
            store.purge_tombstones(conn, "soon")
        assert store.purge_tombstones(conn, t(15)) == 1  # only the tombstone of record 1 (no. 4)
    assert set(state(engine)) == {rid(2), rid(3), rid(4)}
    with engine.begin() as conn:
        with pytest.raises(CursorExpired) as err:
            store.pull(conn, at[0], 10)
        assert err.value.purged_through == at[1]
        assert [r.id for r in store.pull(conn, 0, 10).records] == [rid(3), rid(2), rid(4)]
        assert [r.id for r in store.pull(conn, at[1], 10).records] == [rid(2), rid(4)]
        assert store.purge_tombstones(conn, t(15)) == 0
        with pytest.raises(CursorExpired):
            store.pull(conn, at[0], 10)


def test_write_local_stamps_with_the_server_clock(engine):
    now = [1_764_147_600_000]
    clock = Clock("5e7e7e7e7e7e7e7e", now_ms=lambda: now[0])
    with engine.begin() as conn:
        first = store.write_local(conn, clock, "project", rid(1), {"title": "Play", "target_rung": 3})
        assert first.values() == {"title": "Play", "target_rung": 3}
        stamp = first.fields["title"].t
        assert parse(stamp).node == "5e7e7e7e7e7e7e7e"
        second = store.write_local(conn, clock, "project", rid(1), {"title": "Play 2"})
        assert second.values() == {"title": "Play 2", "target_rung": 3}
        assert second.fields["title"].t > stamp
        gone = store.write_local(conn, clock, "project", rid(1), {}, delete=True)
        assert gone.fields == {} and gone.deleted > second.fields["title"].t
        with pytest.raises(WireError):
            store.write_local(conn, clock, "project", rid(2), {"title": float("nan")})
        with pytest.raises(RecordRejected) as err:
            store.write_local(conn, clock, "feedback", rid(3), {"text": "poison"}, Recording())
        assert err.value.rejection.field == "text"


def test_write_local_beats_a_value_stamped_ahead_of_the_server(engine):
    clock = Clock("5e7e7e7e7e7e7e7e", now_ms=lambda: 1_000)
    push_batch(engine, [rec(1, text=("phone", t(1_200, 5, "ffffffffffffffff")))])
    with engine.begin() as conn:
        mine = store.write_local(conn, clock, "feedback", rid(1), {"text": "staff"})
    assert mine.values() == {"text": "staff"}
    assert mine.fields["text"].t > t(1_200, 5, "ffffffffffffffff")
    with engine.begin() as conn:
        gone = store.write_local(conn, clock, "feedback", rid(1), {}, delete=True)
        again = store.write_local(conn, clock, "feedback", rid(1), {"text": "back"})
    assert again.fields == {} and again.deleted == gone.deleted  # tombstones stick


def test_push_folds_accepted_stamps_into_the_server_clock(engine):
    clock = Clock("5e7e7e7e7e7e7e7e", now_ms=lambda: 5)
    ahead = t(2_000_000, 3, "ffffffffffffffff")
    push_batch(
        engine,
        [rec(1, text=("a", ahead)), rec(2, text=("b", t(9_000_000)))],
        clock=clock,
        max_wall_ms=2_000_000,
    )
    assert clock.tick() > ahead
    assert parse(clock.last).wall == 2_000_000  # the rejected stamp was not folded in


def test_a_rolled_back_push_leaves_nothing(engine):
    with engine.connect() as conn:
        with conn.begin() as tx:
            store.push(conn, [rec(1, text=("a", t(1)))])
            tx.rollback()
    assert state(engine) == {} and pull_all(engine)[0] == {}
    assert statuses(push_batch(engine, [rec(1, text=("a", t(1)))])) == [APPLIED]
    assert list(pull_all(engine)[0]) == [rid(1)]


def test_empty_batch(engine):
    assert push_batch(engine, []) == []
