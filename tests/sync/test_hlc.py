"""Hybrid logical clock: format, parse and the laws of property 7."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import hlc
from sync.hlc import Clock, new_node_id, parse

nodes = st.text("0123456789abcdef", min_size=16, max_size=16)
walls = st.integers(0, 10**13 - 1)
counters = st.integers(0, 0xFFFF)
stamps = st.builds(hlc.format, walls, counters, nodes)


@given(walls, counters, nodes)
def test_format_parse_round_trip(wall, counter, node):
    text = hlc.format(wall, counter, node)
    assert len(text) == 35
    assert parse(text) == (wall, counter, node)


@given(stamps, stamps)
def test_string_order_is_tuple_order(a, b):
    assert (a < b) == (parse(a) < parse(b))
    assert (a == b) == (parse(a) == parse(b))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1764147600000-0000-9f1c2a9d4e5b6c7",  # short node
        "1764147600000-0000-9F1C2A9D4E5B6C7D",  # uppercase
        "176414760000-0000-9f1c2a9d4e5b6c7d",  # 12-digit wall
        "1764147600000-000g-9f1c2a9d4e5b6c7d",
        "1764147600000_0000_9f1c2a9d4e5b6c7d",
        "1764147600000-0000-9f1c2a9d4e5b6c7d\n",
        "١٧٦٤١٤٧٦٠٠٠٠٠-0000-9f1c2a9d4e5b6c7d",  # non-ASCII digits
        None,
        1764147600000,
    ],
)
def test_parse_rejects_malformed(bad):
    with pytest.raises(ValueError):
        parse(bad)


@pytest.mark.parametrize(
    "args",
    [
        (-1, 0, "0" * 16),
        (10**13, 0, "0" * 16),
        (0, 0x10000, "0" * 16),
        (0, 0, "XYZ"),
        (0, -1, "0" * 16),
    ],
)
def test_format_rejects_out_of_range(args):
    with pytest.raises(ValueError):
        hlc.format(*args)


def test_new_node_id_is_valid_and_random():
    ids = {new_node_id() for _ in range(50)}
    assert len(ids) == 50
    for node in ids:
        hlc.format(0, 0, node)


def test_clock_rejects_bad_node():
    with pytest.raises(ValueError):
        Clock("not-a-node")


def _clock(times, node="00000000000000aa", last=None):
    feed = iter(times)
    return Clock(node, now_ms=lambda: next(feed), last=last)


@settings(max_examples=200)
@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=40))
def test_tick_strictly_increases_even_when_the_wall_goes_back(times):
    clock = _clock(times)
    issued = [clock.tick() for _ in times]
    assert issued == sorted(issued)
    assert len(set(issued)) == len(issued)
    assert clock.last == issued[-1]


def test_tick_follows_the_protocol():
    clock = _clock([1000, 1000, 999, 2000])
    assert clock.tick() == hlc.format(1000, 0, "00000000000000aa")
    assert clock.tick() == hlc.format(1000, 1, "00000000000000aa")
    assert clock.tick() == hlc.format(1000, 2, "00000000000000aa")  # wall went back
    assert clock.tick() == hlc.format(2000, 0, "00000000000000aa")


def test_counter_overflow_bumps_the_wall():
    node = "00000000000000aa"
    clock = _clock([5, 5], last=hlc.format(5, 0xFFFF, node))
    assert clock.tick() == hlc.format(6, 0, node)
    assert clock.tick() == hlc.format(6, 1, node)


def test_receive_overflow_bumps_the_wall():
    clock = _clock([5], last=hlc.format(5, 3, "00000000000000aa"))
    remote = hlc.format(5, 0xFFFF, "ffffffffffffffff")
    got = clock.receive(remote)
    assert got > remote
    assert parse(got)[:2] == (6, 0)


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 3000), stamps.filter(lambda s: parse(s).wall < 10**13 - 2)),
        min_size=1,
        max_size=30,
    ),
    st.one_of(st.none(), stamps.filter(lambda s: parse(s).wall < 10**13 - 2)),
)
def test_receive_yields_a_stamp_above_remote_and_last(steps, last):
    wall = [0]
    clock = Clock("00000000000000aa", now_ms=lambda: wall[0], last=last)
    previous = last
    for is_receive, now, remote in steps:
        wall[0] = now
        if is_receive:
            got = clock.receive(remote)
            assert got > remote
        else:
            got = clock.tick()
        if previous is not None:
            assert parse(got)[:2] > parse(previous)[:2]
        previous = got


def test_receive_from_far_ahead_then_local_writes_stay_above():
    clock = _clock([100, 100, 100])
    seen = clock.receive(hlc.format(10**12, 7, "ffffffffffffffff"))
    assert seen == hlc.format(10**12, 8, "00000000000000aa")
    assert clock.tick() > seen


def test_clock_accepts_last_from_another_node():
    clock = _clock([1], last=hlc.format(50, 2, "ffffffffffffffff"))
    assert clock.tick() == hlc.format(50, 3, "00000000000000aa")
