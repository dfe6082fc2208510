"""Property 5: paginated pulls stay complete while pushes commit concurrently.

Several threads push, each batch in its own connection and transaction, while
several pullers page through the feed with small limits. No puller may skip a
committed change (it would miss that record's final state), repeat a record
within a page, or see its cursor go back. Runs on PostgreSQL (row lock on the
counter) and on SQLite (BEGIN IMMEDIATE, WAL readers).
"""

import random
import threading
import uuid

import pytest
import sqlalchemy as sa

from sync.hlc import Clock
from sync.records import Record, Register
from sync.schema import metadata
from sync.store import pull, push, sqlite_begin_immediate
from tests.sync.helpers import as_state, state

PUSHERS, PULLERS, BATCHES = 4, 3, 25
SHARED = [str(uuid.UUID(int=n + 1, version=4)) for n in range(8)]


def test_5_pull_completeness_under_concurrent_pushes(engine):
    stop = threading.Event()
    errors: list[BaseException] = []
    results: list[tuple[dict, int]] = []

    def pusher(k):
        rng = random.Random(k)
        clock = Clock(f"{k + 1:016x}")
        try:
            for _ in range(BATCHES):
                batch = []
                for _ in range(rng.randint(1, 6)):
                    if rng.random() < 0.3:
                        rid = rng.choice(SHARED)
                    else:
                        rid = str(uuid.uuid4())
                    stamp = clock.tick()
                    fields = {"value": Register(rng.randint(0, 9), stamp), "by": Register(k, stamp)}
                    deleted = stamp if rng.random() < 0.05 else None
                    batch.append(Record("feedback", rid, fields, deleted))
                with engine.begin() as conn:
                    push(conn, batch)
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    def puller(k):
        rng = random.Random(100 + k)
        cursor, seen, pages = 0, {}, 0
        try:
            while True:
                finished = stop.is_set()  # read before the page: then it sees every commit
                with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                    with conn.begin():
                        page = pull(conn, cursor, rng.randint(1, 4))
                pages += 1
                assert page.cursor >= cursor, "the cursor went back"
                ids = [r.id for r in page.records]
                assert len(set(ids)) == len(ids), "a record repeats within a page"
                for record in page.records:
                    seen[record.id] = record
                cursor = page.cursor
                if finished and not page.more:
                    results.append((seen, pages))
                    return
        except BaseException as err:
            errors.append(err)

    pushers = [threading.Thread(target=pusher, args=(k,)) for k in range(PUSHERS)]
    pullers = [threading.Thread(target=puller, args=(k,)) for k in range(PULLERS)]
    for thread in pullers + pushers:
        thread.start()
    for thread in pushers:
        thread.join(timeout=120)
    stop.set()
    for thread in pullers:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == PULLERS
    final = state(engine)
    assert len(final) > PUSHERS * BATCHES  # the pushes really happened
    for seen, pages in results:
        assert pages > 10  # the pullers really ran beside the pushers
        assert as_state(seen) == final, "a puller missed a committed change"


def _hammer_one_record(engine, threads=4, writes=25):
    """Each thread writes its own fields of one record, one push per transaction."""
    rid = SHARED[0]
    errors: list[BaseException] = []

    def work(k):
        clock = Clock(f"{k + 1:016x}")
        try:
            for i in range(writes):
                with engine.begin() as conn:
                    push(conn, [Record("feedback", rid, {f"f{k}_{i}": Register(i, clock.tick())})])
        except BaseException as err:  # reported by the main thread
            errors.append(err)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not errors, errors
    with engine.begin() as conn:
        (record,) = pull(conn, 0, 10).records
    return len(record.fields), threads * writes


def test_concurrent_pushes_to_one_record_lose_no_field(engine):
    kept, written = _hammer_one_record(engine)
    assert kept == written


def test_sqlite_pushes_are_safe_even_without_the_begin_hook(tmp_path):
    # The sqlite3 module runs SELECTs outside a transaction unless told otherwise;
    # push must still read and write under one lock.
    plain = sa.create_engine(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    metadata.create_all(plain)
    try:
        kept, written = _hammer_one_record(plain)
    finally:
        plain.dispose()
    assert kept == written


def test_sqlite_begin_immediate_hook(tmp_path):
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'hook.sqlite'}")
    sqlite_begin_immediate(eng, busy_timeout_ms=1234)
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        holder = eng.connect()
        holder.begin()  # BEGIN IMMEDIATE: holds the write lock from the start
        try:
            with eng.connect().execution_options(sqlite_begin="DEFERRED") as reader:
                with reader.begin():
                    assert reader.exec_driver_sql("SELECT 1").scalar() == 1
            with eng.connect().execution_options(sqlite_begin="NOPE") as bad:
                with pytest.raises(ValueError):
                    bad.begin()
        finally:
            holder.rollback()
            holder.close()
    finally:
        eng.dispose()


def test_sqlite_begin_immediate_leaves_other_backends_alone():
    eng = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    connect_hooks = len(eng.pool.dispatch.connect)
    sqlite_begin_immediate(eng)  # no listener, no connection attempt
    assert len(eng.dispatch.begin) == 0
    assert len(eng.pool.dispatch.connect) == connect_hooks
    eng.dispose()
