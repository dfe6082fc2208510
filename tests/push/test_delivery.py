"""Notifications reach the linked contributor, decrypted, and nobody else."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import func, select

from server.extensions import db
from server.push.models import FAILED, SENT, SKIPPED, Notification, PushSubscription
from server.push.outbox import enqueue
from tests.push.conftest import action_done


def test_linked_feedback_reaches_its_contributor_and_nobody_else(push_app, drain, push_service, subscribed):
    alice, bob = subscribed(), subscribed()
    action_id, feedback_id = str(uuid.uuid4()), str(uuid.uuid4())

    written = enqueue(
        db.session,
        [alice["participant_id"]],
        action_id,
        "linked",
        "planned",
        feedback_ids={alice["participant_id"]: feedback_id},
    )
    db.session.commit()
    assert written == 1

    stats = drain()
    assert stats.sent == 1 and stats.failed == 0

    (message,) = push_service.messages(alice["client_hash"])
    assert message == {
        "title": "Your feedback was heard",
        "body": "It is now part of an action. Tap to see what is happening.",
        "line": "linked",  # the phone shows this line in the family's language
        "contribution": feedback_id,
        "action_id": action_id,
    }
    raw = json.dumps(message)
    assert alice["participant_id"] not in raw and len(raw.encode()) <= 3 * 1024
    assert push_service.messages(bob["client_hash"]) == []

    row = db.session.execute(select(Notification)).scalar_one()
    assert (row.state, row.attempts, row.last_error) == (SENT, 1, None)
    assert row.sent_at is not None


def test_status_change_honours_done_only_at_send_time(push_app, drain, push_service, subscribed):
    everything, done_only = subscribed(notify="all"), subscribed(notify="done_only")
    people = [everything["participant_id"], done_only["participant_id"]]
    action_id = str(uuid.uuid4())

    enqueue(db.session, people, action_id, "status", "in_progress")
    db.session.commit()
    stats = drain()
    assert (stats.sent, stats.skipped) == (1, 1)
    assert [m["title"] for m in push_service.messages(everything["client_hash"])] == ["Work has started"]
    assert push_service.messages(done_only["client_hash"]) == []
    states = db.session.execute(select(Notification.participant_id, Notification.state)).all()
    assert dict(states)[done_only["participant_id"]] == SKIPPED

    enqueue(db.session, people, action_id, "status", "done")
    db.session.commit()
    stats = drain()
    assert stats.sent == 2
    (done,) = push_service.messages(done_only["client_hash"])
    assert done["title"] == "Your contribution made a difference" and done["contribution"] == action_id


def test_expired_subscription_is_deleted(push_app, drain, push_service, subscribed):
    gone, kept = subscribed(), subscribed()
    push_service.expire(gone["client_hash"])
    action_id = str(uuid.uuid4())

    enqueue(db.session, [gone["participant_id"], kept["participant_id"]], action_id, "status", "done")
    enqueue(db.session, [gone["participant_id"]], action_id, "status", "done")
    db.session.commit()
    stats = drain()

    assert stats.gone == 1 and stats.sent == 1
    endpoints = db.session.execute(select(PushSubscription.endpoint)).scalars().all()
    assert endpoints == [kept["endpoint"]]
    failed = db.session.execute(select(Notification.last_error).where(Notification.state == FAILED)).scalars().all()
    # The 410 row, and the second row queued for the same subscription (never sent).
    assert sorted(failed) == ["http_410", "unsubscribed"]
    assert len(push_service.messages(kept["client_hash"])) == 1


def test_enqueue_does_not_commit(push_app, drain, subscribed):
    person = subscribed()
    enqueue(db.session, [person["participant_id"]], str(uuid.uuid4()), "linked", "planned")
    db.session.rollback()  # the domain change failed: no notification either
    assert db.session.execute(select(func.count()).select_from(Notification)).scalar() == 0


def test_revoked_devices_get_nothing(push_app, drain, push_service, subscribed):
    from server.push.models import utcnow

    person = subscribed()
    person["device"].revoked_at = utcnow()
    db.session.commit()
    assert enqueue(db.session, [person["participant_id"]], str(uuid.uuid4()), "linked", None) == 0


def test_cli_once_sends_and_exits(push_app, drain, push_service, subscribed):
    person = subscribed()
    action_done(person)
    from server import push

    push.init_app(push_app)  # what the app factory calls: the blueprint once, the commands
    if "push-worker" not in push_app.cli.commands:  # pragma: no cover - wiring check
        raise AssertionError("push-worker is not registered")
    result = push_app.test_cli_runner().invoke(args=["push-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    assert len(push_service.messages(person["client_hash"])) == 1


def test_settled_rows_are_purged_after_the_retention(push_app, drain, push_service, subscribed):
    from datetime import timedelta

    from server.push.models import PENDING, utcnow
    from server.push.worker import purge

    person = subscribed()
    action_done(person)
    drain()
    # A pending row, however old, is kept: only settled rows go.
    action_done(person, now=utcnow() + timedelta(days=40))
    assert purge(db.engine, 30, now=utcnow() + timedelta(days=29)) == 0
    assert purge(db.engine, 30, now=utcnow() + timedelta(days=31)) == 1
    states = db.session.execute(select(Notification.state)).scalars().all()
    assert states == [PENDING]


def test_the_worker_loop_sends_as_rows_arrive_and_stops(push_app, push_service, subscribed):
    import threading
    import time

    from server.push.worker import Worker

    person = subscribed()
    db.session.rollback()
    push_app.config["PUSH_IDLE_SECONDS"] = 0.05
    worker = Worker(push_app)
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        for _ in range(3):
            action_done(person)
        deadline = time.monotonic() + 20
        while len(push_service.messages(person["client_hash"])) < 3:
            assert time.monotonic() < deadline, "the worker loop did not send"
            time.sleep(0.05)
    finally:
        worker.stop.set()
        thread.join(timeout=20)
        worker.close()
    assert not thread.is_alive()
    assert len(push_service.messages(person["client_hash"])) == 3
