"""Records on the wire and the pure merge: a join over a total order."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.records import (
    Record,
    Register,
    WireError,
    canonical_json,
    fields_from_json,
    fields_to_json,
    merge,
)
from tests.sync.helpers import IDS, PURE_SETTINGS, as_state, records_st, registers, stamps

RID = IDS[0]
T = "1764147600000-0000-9f1c2a9d4e5b6c7d"
T2 = "1764147600001-0000-9f1c2a9d4e5b6c7d"
one_id = records_st(ids=[RID])


def wire(**overrides):
    data = {"type": "feedback", "id": RID, "fields": {"text": {"v": "Hi", "t": T}}, "deleted": None}
    data.update(overrides)
    return data


def test_from_wire_and_back():
    record = Record.from_wire(wire())
    assert record == Record("feedback", RID, {"text": Register("Hi", T)}, None)
    assert record.to_wire() == wire()
    assert record.values() == {"text": "Hi"}


def test_a_tombstone_alone_is_a_record():
    record = Record.from_wire({"type": "feedback", "id": RID, "deleted": T})
    assert record.fields == {} and record.deleted == T


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], None),
        (wire(type=""), "type"),
        (wire(type=3), "type"),
        (wire(type="x" * 41), "type"),
        (wire(id="not-a-uuid"), "id"),
        (wire(id=RID.upper()), "id"),
        (wire(id=None), "id"),
        (wire(deleted="yesterday"), "deleted"),
        (wire(fields=[]), "fields"),
        (wire(fields={}), "fields"),
        (wire(fields={"text": {"v": "Hi"}}), "text"),
        (wire(fields={"text": {"v": "Hi", "t": T, "x": 1}}), "text"),
        (wire(fields={"text": "Hi"}), "text"),
        (wire(fields={"text": {"v": "Hi", "t": "1764147600000"}}), "text"),
        (wire(fields={"text": {"v": float("nan"), "t": T}}), "text"),
        (wire(fields={"text": {"v": [1, {"a": float("inf")}], "t": T}}), "text"),
        (wire(fields={"text": {"v": "\ud800", "t": T}}), "text"),
        (wire(fields={"text": {"v": {"\udfff": 1}, "t": T}}), "text"),
        (wire(fields={"text": {"v": {1: 1}, "t": T}}), "text"),
        (wire(fields={"text": {"v": object(), "t": T}}), "text"),
        (wire(fields={"": {"v": 1, "t": T}}), ""),
        (wire(extra=1), "extra"),
    ],
)
def test_from_wire_rejects_bad_shapes(data, field):
    with pytest.raises(WireError) as err:
        Record.from_wire(data)
    assert err.value.field == field
    assert err.value.message


def test_deeply_nested_values_are_refused_not_crashing():
    value = 1
    for _ in range(100):
        value = [value]
    with pytest.raises(WireError):
        Record.from_wire(wire(fields={"text": {"v": value, "t": T}}))


def test_canonical_json():
    assert canonical_json({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


@PURE_SETTINGS
@given(st.dictionaries(st.sampled_from(["a", "b", "é"]), registers, max_size=4))
def test_fields_json_round_trip(fields):
    text = fields_to_json(fields)
    assert fields_to_json(fields_from_json(text)) == text
    assert text == canonical_json(json.loads(text))


@PURE_SETTINGS
@given(one_id)
def test_wire_round_trip(record):
    assert as_state([Record.from_wire(record.to_wire())]) == as_state([record])


@PURE_SETTINGS
@given(one_id, one_id)
def test_merge_commutes(a, b):
    assert as_state([merge(merge(None, a), b)]) == as_state([merge(merge(None, b), a)])


@PURE_SETTINGS
@given(one_id, one_id, one_id)
def test_merge_associates(a, b, c):
    left = merge(merge(merge(None, a), b), c)
    right = merge(merge(None, a), merge(merge(None, b), c))
    assert as_state([left]) == as_state([right])


@PURE_SETTINGS
@given(one_id, one_id)
def test_merge_is_idempotent(a, b):
    ab = merge(merge(None, a), b)
    assert as_state([merge(ab, b)]) == as_state([ab])
    assert as_state([merge(ab, a)]) == as_state([ab])


def test_greater_stamp_wins_per_field():
    a = Record("feedback", RID, {"text": Register("old", T), "principle": Register("x", T2)})
    b = Record("feedback", RID, {"text": Register("new", T2), "principle": Register("y", T)})
    merged = merge(a, b)
    assert merged.fields == {"text": Register("new", T2), "principle": Register("x", T2)}


def test_tie_goes_to_greater_canonical_json():
    a = Record("feedback", RID, {"n": Register(1, T)})
    b = Record("feedback", RID, {"n": Register(True, T)})
    # "true" > "1": both orders agree even though 1 == True in Python.
    assert merge(a, b).fields["n"].v is True
    assert merge(b, a).fields["n"].v is True


def test_tombstone_wins_and_drops_values():
    live = Record("feedback", RID, {"text": Register("Hi", T2)})
    dead = Record("feedback", RID, {}, T)
    assert merge(live, dead) == Record("feedback", RID, {}, T)
    assert merge(dead, live) == Record("feedback", RID, {}, T)
    later = Record("feedback", RID, {}, T2)
    assert merge(merge(dead, later), dead).deleted == T2


def test_new_record_born_deleted_keeps_no_values():
    born = Record("feedback", RID, {"text": Register("Hi", T)}, T)
    assert merge(None, born).fields == {}


@PURE_SETTINGS
@given(one_id, st.lists(one_id, max_size=6), stamps)
def test_pure_tombstones_stick(first, later, tomb):
    current = merge(merge(None, first), Record(first.type, RID, {}, tomb))
    for record in later:
        current = merge(current, record)
        assert current.deleted is not None and current.deleted >= tomb
        assert current.fields == {}


@PURE_SETTINGS
@given(one_id)
def test_stored_records_decode_lazily_to_the_same_record(record):
    stored = Record.stored(record.type, record.id, fields_to_json(record.fields), record.deleted)
    assert stored.to_wire() == record.to_wire()
    assert json.loads(stored.to_wire_json()) == json.loads(record.to_wire_json())
    assert json.loads(record.to_wire_json()) == json.loads(canonical_json(record.to_wire()))
    assert stored == record
    assert Record.from_wire(json.loads(stored.to_wire_json())) == record
