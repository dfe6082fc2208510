"""Properties 1, 2, 3, 6 and 8 of sync-protocol.md, through the store on both backends."""

from hypothesis import given
from hypothesis import strategies as st

from sync.records import Record
from sync.store import APPLIED, REJECTED, UNCHANGED, Hooks, Rejection
from tests.sync.helpers import (
    DB_SETTINGS,
    IDS,
    T0,
    TYPE_OF,
    ScopeHooks,
    as_state,
    batches,
    fold,
    full_rows,
    head_value,
    pull_all,
    push_batch,
    records_st,
    reset,
    stamps,
    state,
)


@DB_SETTINGS
@given(batch=batches)
def test_1_idempotence(engine, batch):
    reset(engine)
    push_batch(engine, batch, ScopeHooks())
    once, counter = full_rows(engine), head_value(engine)
    again = push_batch(engine, batch, ScopeHooks())
    assert all(o.status == UNCHANGED for o in again)
    assert full_rows(engine) == once
    assert head_value(engine) == counter  # a resend takes no change numbers
    assert state(engine) == as_state(fold(batch))


@DB_SETTINGS
@given(a=batches, b=batches)
def test_2_commutativity(engine, a, b):
    reset(engine)
    push_batch(engine, a)
    push_batch(engine, b)
    ab = state(engine)
    reset(engine)
    push_batch(engine, b)
    push_batch(engine, a)
    assert state(engine) == ab
    assert ab == as_state(fold(a + b))


@DB_SETTINGS
@given(batch=batches, data=st.data())
def test_3_batch_split_invariance(engine, batch, data):
    reset(engine)
    push_batch(engine, batch)
    whole = state(engine)
    reset(engine)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(batch)), max_size=4)))
    start = 0
    for cut in [*cuts, len(batch)]:
        push_batch(engine, batch[start:cut])
        start = cut
    assert state(engine) == whole


@DB_SETTINGS
@given(before=batches, tomb=stamps, after=batches, data=st.data())
def test_6_tombstones_stick(engine, before, tomb, after, data):
    reset(engine)
    victim = data.draw(st.sampled_from(IDS))
    push_batch(engine, before)
    push_batch(engine, [Record(TYPE_OF[victim], victim, {}, tomb)])
    for record in after:  # later writes, one request each, stamped before or after the tombstone
        push_batch(engine, [record])
    seen, _ = pull_all(engine)
    dead = seen[victim]
    assert dead.deleted is not None and dead.deleted >= tomb
    assert dead.fields == {}
    assert state(engine)[victim] == (TYPE_OF[victim], "{}", dead.deleted)


class Poison(Hooks):
    """Rejects every record that writes the value "agree" or the field "p"."""

    def check(self, incoming, current, merged):
        if "p" in incoming.fields:
            return Rejection("forbidden", "p", "Not yours.")
        if any(reg.v == "agree" for reg in incoming.fields.values()):
            return Rejection("invalid", "value", "No.")
        return None


def poisoned(record, max_wall):
    late = record.deleted is not None and int(record.deleted[:13]) > max_wall
    late = late or any(int(reg.t[:13]) > max_wall for reg in record.fields.values())
    return late or "p" in record.fields or any(r.v == "agree" for r in record.fields.values())


@DB_SETTINGS
@given(batch=st.lists(records_st(), max_size=15), max_wall=st.integers(T0, T0 + 3))
def test_8_liveness(engine, batch, max_wall):
    reset(engine)
    out = push_batch(engine, batch, Poison(), max_wall_ms=max_wall)
    good = [r for r in batch if not poisoned(r, max_wall)]
    assert [o.status == REJECTED for o in out] == [poisoned(r, max_wall) for r in batch]
    assert all(o.status in (APPLIED, UNCHANGED) for o in out if o.status != REJECTED)
    assert [o.id for o in out] == [r.id for r in batch]
    with_poison = state(engine)
    reset(engine)
    push_batch(engine, good)
    assert state(engine) == with_poison == as_state(fold(good))
