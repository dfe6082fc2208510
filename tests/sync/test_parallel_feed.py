"""Issue 16: writers commit side by side, and an incremental puller still never skips a change.

A writer takes its change number (PostgreSQL: its transaction id and a sequence
number) and then sleeps 2 s before committing, while other writers commit around
it. A puller pulling from its cursor all the while must end with exactly what a
fresh full pull gives. Without the horizon (reading every committed row, as a
feed ordered by a plain sequence would) the puller's cursor passes the sleeper's
number before it commits, and the sleeper's record is never seen: the second
test shows that this scenario catches exactly that.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from sync import feed
from sync.cursor import Cursor
from sync.hlc import Clock
from sync.records import Record, Register
from sync.store import pull, push
from tests.sync.helpers import as_state, pull_all

SLEEP_S = 2.0
OTHERS = 6


def _record(clock: Clock, text: str) -> Record:
    return Record("feedback", str(uuid.uuid4()), {"text": Register(text, clock.tick())}, None)


def _run(engine) -> tuple[dict, dict, dict]:
    """Return (incremental replica, fresh full pull, when things happened)."""
    clock = Clock("00000000000000aa")
    lock = threading.Lock()
    timeline: dict = {"others_committed": []}
    sleeper_has_number = threading.Event()
    done = threading.Event()

    def sleeper():
        with engine.connect() as conn, conn.begin():
            with lock:
                record = _record(clock, "the slow one")
            push(conn, [record])  # its change number (and txid) is taken here
            timeline["sleeper_numbered"] = time.monotonic()
            sleeper_has_number.set()
            time.sleep(SLEEP_S)
        timeline["sleeper_committed"] = time.monotonic()

    def other(k):
        sleeper_has_number.wait(10)
        time.sleep(0.05 * k)
        with engine.begin() as conn:
            with lock:
                record = _record(clock, f"quick {k}")
            push(conn, [record])
        timeline["others_committed"].append(time.monotonic())

    replica: dict[str, Record] = {}

    def puller():
        cursor = 0
        while True:
            finished = done.is_set()
            with engine.begin() as conn:
                page = pull(conn, cursor, 2)
            assert page.cursor >= cursor, "the cursor went back"
            for record in page.records:
                replica[record.id] = record
            cursor = page.cursor
            if finished and not page.more:
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=sleeper)] + [threading.Thread(target=other, args=(k,)) for k in range(OTHERS)]
    reader = threading.Thread(target=puller)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    done.set()
    reader.join(60)
    full, _ = pull_all(engine, 0, 100)
    return replica, full, timeline


def test_a_slow_writer_is_never_skipped(engine):
    replica, full, timeline = _run(engine)
    assert len(full) == OTHERS + 1
    assert as_state(replica) == as_state(full)
    with engine.connect() as conn:
        parallel = feed.mode(conn) == feed.PARALLEL
    if parallel:
        # The others did not wait for the sleeper: they committed while it slept.
        assert min(timeline["others_committed"]) < timeline["sleeper_committed"] - SLEEP_S / 2


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_without_the_horizon_the_slow_writer_is_skipped(engine, monkeypatch):
    # Only PostgreSQL's parallel feed has a horizon; SQLite orders writers by its one lock.
    # A horizon beyond every transaction: the puller reads every committed row.
    monkeypatch.setattr(feed, "horizon", lambda conn, precise=True: Cursor(2**62, 0))
    replica, full, _ = _run(engine)
    missed = set(full) - set(replica)
    assert [full[rid].values()["text"] for rid in missed] == ["the slow one"]
