"""Property 4: devices with skewed clocks and a lossy, repeating network converge.

Each simulated device keeps the server-confirmed state it pulled and an outbox
of its own writes, like the PWA. Batches are duplicated, reordered, lost on the
way or lost on the way back (then retried). Devices whose clocks run hours
ahead are refused with ``clock_ahead``, correct their offset and re-stamp
their pending writes, as the protocol prescribes.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from sync.hlc import Clock
from sync.records import Record, Register, merge
from sync.store import REJECTED, pull, push
from tests.sync.helpers import (
    DB_SETTINGS,
    FIELD_NAMES,
    IDS,
    T0,
    TYPE_OF,
    as_state,
    fold,
    pull_all,
    reset,
    state,
)

HOUR = 3_600_000
WINDOW = 5 * 60 * 1000  # the server refuses stamps more than 5 minutes ahead
SERVER_NODE = "5e7e7e7e7e7e7e7e"
SKEWS = [-5 * HOUR, -HOUR, 0, 10_000, 2 * HOUR, 7 * HOUR]
MODES = ["normal", "duplicate", "reorder", "drop_before", "drop_after"]


class Server:
    def __init__(self, engine):
        self.engine = engine
        self.now = T0
        self.clock = Clock(SERVER_NODE, now_ms=lambda: self.now)
        self.accepted: list[Record] = []

    def push(self, batch):
        with self.engine.begin() as conn:
            out = push(conn, batch, max_wall_ms=self.now + WINDOW, clock=self.clock)
        self.accepted += [r for r, o in zip(batch, out, strict=True) if o.status != REJECTED]
        return out, self.clock.tick()

    def pull(self, cursor, limit):
        with self.engine.begin() as conn:
            page = pull(conn, cursor, limit)
        return page, self.clock.tick()


class Device:
    def __init__(self, server: Server, index: int, skew: int):
        self.server = server
        self.node = f"{index + 1:016x}"
        self.skew = skew
        self.clock = Clock(self.node, now_ms=self.now)
        self.base: dict[str, Record] = {}
        self.outbox: list[Record] = []
        self.cursor = 0

    def now(self) -> int:
        return self.server.now + self.skew

    def write(self, rid, values, delete):
        stamp = self.clock.tick()
        fields = {name: Register(value, stamp) for name, value in values.items()}
        self.outbox.append(Record(TYPE_OF[rid], rid, fields, stamp if delete else None))

    def sync(self, mode="normal", size=3):
        batches = [self.outbox[i : i + size] for i in range(0, len(self.outbox), size)]
        if mode == "reorder":
            batches.reverse()
        acked, refused = set(), None
        for i, batch in enumerate(batches):
            if mode == "drop_before" and i == 0:
                continue  # lost on the way: stays in the outbox
            out, server_hlc = self.server.push(batch)
            if mode == "duplicate":
                out, server_hlc = self.server.push(batch)
            self.clock.receive(server_hlc)
            if mode == "drop_after" and i == 0:
                continue  # applied, but the answer was lost: resent later
            for record, outcome in zip(batch, out, strict=True):
                if outcome.status != REJECTED:
                    acked.add(id(record))
                else:
                    assert outcome.error.code == "clock_ahead"
                    refused = server_hlc
        self.outbox = [r for r in self.outbox if id(r) not in acked]
        if refused is not None:
            event("a device corrected its clock")
            self.correct(refused)
        self.pull_all()

    def correct(self, server_hlc):
        """Adopt the server's time and re-stamp the writes stamped in the future."""
        self.skew = 0
        self.clock = Clock(self.node, now_ms=self.now, last=server_hlc)
        limit = self.server.now + WINDOW
        pending = []
        for record in self.outbox:
            stamps = [r.t for r in record.fields.values()] + [record.deleted or ""]
            if max(int(s[:13]) for s in stamps if s) > limit:
                stamp = self.clock.tick()
                fields = {name: Register(reg.v, stamp) for name, reg in record.fields.items()}
                record = Record(record.type, record.id, fields, stamp if record.deleted else None)
            pending.append(record)
        self.outbox = pending

    def pull_all(self):
        while True:
            page, server_hlc = self.server.pull(self.cursor, 3)
            assert page.cursor >= self.cursor
            assert len({r.id for r in page.records}) == len(page.records)
            for record in page.records:
                self.base[record.id] = merge(self.base.get(record.id), record)
            self.cursor = page.cursor
            self.clock.receive(server_hlc)
            if not page.more:
                return


values_st = st.dictionaries(
    st.sampled_from(FIELD_NAMES),
    st.none() | st.integers(0, 4) | st.sampled_from(["agree", "not_sure", "disagree", "é😀"]),
    min_size=1,
    max_size=3,
)


def ops_st(devices):
    device = st.integers(0, devices - 1)
    return st.lists(
        st.one_of(
            st.tuples(st.just("write"), device, st.sampled_from(IDS), values_st, st.integers(0, 9)),
            st.tuples(st.just("sync"), device, st.sampled_from(MODES), st.integers(1, 4)),
            st.tuples(st.just("wait"), st.integers(0, 20 * 60_000)),
        ),
        min_size=20,
        max_size=80,
    )


@st.composite
def worlds(draw):
    n = draw(st.integers(2, 4))
    skews = draw(st.lists(st.sampled_from(SKEWS), min_size=n, max_size=n))
    return skews, draw(ops_st(n))


@settings(DB_SETTINGS, max_examples=50)
@given(world=worlds())
def test_4_convergence(engine, world):
    reset(engine)
    skews, ops = world
    server = Server(engine)
    devices = [Device(server, i, skew) for i, skew in enumerate(skews)]
    for op in ops:
        if op[0] == "write":
            _, d, rid, values, dice = op
            devices[d].write(rid, values, delete=dice == 0)
        elif op[0] == "sync":
            _, d, mode, size = op
            devices[d].sync(mode, size)
        else:
            server.now += op[1]
    for device in devices:  # everyone reconnects and drains the outbox
        for _ in range(3):
            if device.outbox:
                device.sync()
        assert device.outbox == []
    for device in devices:
        device.pull_all()
    event(f"records accepted: {min(len(server.accepted) // 10 * 10, 40)}+")
    fresh, _ = pull_all(engine, 0, 5)
    server_state = as_state(fresh)
    assert state(engine) == server_state
    assert server_state == as_state(fold(server.accepted))
    for device in devices:
        assert as_state(device.base) == server_state
