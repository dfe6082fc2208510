"""Several workers never send a notification twice; a dead worker's rows are not lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from server.extensions import db
from server.push.models import SENDING, SENT, Notification
from server.push.outbox import enqueue
from server.push.worker import Worker, counts_by_state

ROOT = Path(__file__).resolve().parents[2]


def _queue(subscribed, people: int, actions: int):
    """``people`` subscribed participants, each with one notification per action."""
    persons = [subscribed() for _ in range(people)]
    action_ids = [str(uuid.uuid4()) for _ in range(actions)]
    for action_id in action_ids:
        enqueue(db.session, [p["participant_id"] for p in persons], action_id, "status", "done")
    db.session.commit()
    return persons, action_ids


def _received(push_service, persons) -> Counter:
    got = Counter()
    for person in persons:
        for message in push_service.messages(person["client_hash"]):
            got[(person["client_hash"], message["action_id"])] += 1
    return got


def test_parallel_workers_send_each_notification_exactly_once(push_app, push_service, subscribed):
    persons, action_ids = _queue(subscribed, people=12, actions=5)  # 60 rows
    push_app.config["PUSH_BATCH_SIZE"] = 4
    workers = [Worker(push_app) for _ in range(3)]
    start = threading.Barrier(len(workers))
    results, errors = {}, []

    def run(worker):
        try:
            start.wait()
            results[worker.token] = worker.drain()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
        finally:
            worker.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    got = _received(push_service, persons)
    expected = {(p["client_hash"], a) for p in persons for a in action_ids}
    assert set(got) == expected
    assert set(got.values()) == {1}, [k for k, v in got.items() if v != 1]
    assert sum(s.sent for s in results.values()) == 60
    assert sum(s.claimed for s in results.values()) == 60
    assert counts_by_state(db.engine) == {SENT: 60}
    # Each row was claimed once: no row needed a second attempt.
    assert set(db.session.execute(select(Notification.attempts)).scalars()) == {1}


@pytest.mark.parametrize("in_flight", [1, 4])
def test_killed_worker_loses_nothing(push_app, push_service, subscribed, db_url, in_flight):
    """A real worker process is SIGKILLed after recording 4 of its 10 claimed sends.
    With one send in flight the kill falls between two sends, so nothing is sent twice;
    with more in flight, those already accepted are sent again after the lease (at most
    in_flight - 1 of them). Either way nothing is lost."""
    persons, _ = _queue(subscribed, people=10, actions=1)
    lease = 3.0  # the child sends for up to lease - timeout - 1 s after its claim
    push_app.config.update(PUSH_LEASE_SECONDS=lease, PUSH_TIMEOUT_SECONDS=0.5)
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SECRET_KEY": "test-secret",
        "PUSH_ALLOW_TEST_SERVICE": True,
        "PUSH_LEASE_SECONDS": lease,
        "PUSH_TIMEOUT_SECONDS": 0.5,
        "PUSH_BATCH_SIZE": 10,
        "PUSH_SEND_CONCURRENCY": in_flight,
    }
    # The child shares the instance folder (so the VAPID keys) through the environment.
    child = subprocess.run(
        [sys.executable, "-m", "tests.push.dying_worker", json.dumps(config), "4"],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    killed_at = time.monotonic()
    assert child.returncode == -9, child.stderr[-2000:]

    db.session.expire_all()
    states = Counter(db.session.execute(select(Notification.state)).scalars())
    db.session.rollback()  # end the read: on SQLite every transaction holds the write lock
    assert states == {SENT: 4, SENDING: 6}
    delivered_before = sum(_received(push_service, persons).values())
    assert 4 <= delivered_before <= 4 + (in_flight - 1)

    # Within the lease the dead worker's rows stay claimed...
    worker = Worker(push_app)
    try:
        assert worker.drain().claimed == 0
        # ...and once it has passed they are claimed again and sent (poll against a deadline).
        deadline = killed_at + lease + 15
        while (stats := worker.drain()).claimed == 0:
            assert time.monotonic() < deadline, "the dead worker's rows were never claimed again"
            time.sleep(0.05)
    finally:
        worker.close()
    assert (stats.claimed, stats.sent) == (6, 6)
    got = _received(push_service, persons)
    assert len(got) == 10  # every contributor got theirs
    assert sum(got.values()) == delivered_before + 6
    if in_flight == 1:
        assert set(got.values()) == {1}
    assert counts_by_state(db.engine) == {SENT: 10}
