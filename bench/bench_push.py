"""Push throughput: notifications per second from the outbox to the local push service.

    .venv/bin/python -m bench.bench_push                 # SQLite
    .venv/bin/python -m bench.bench_push --postgresql    # and PostgreSQL (127.0.0.1:5432)
    .venv/bin/python -m bench.bench_push --notifications 3000 --workers 1 2 4

For each database it prints:
  * encryption alone: pywebpush's per-message work done in this process without
    any network or database (ECDH + aes128gcm encryption + VAPID signature),
  * one worker process: claim, encrypt, POST to web-push-testing, record, with the
    share of that time the encryption alone accounts for (the ratio),
  * 2..4 worker processes side by side on the same outbox, with a check that every
    notification arrived exactly once.
Target: at least 200 notifications/s per worker process. The local push service
(Node, one thread) decrypts every message and verifies every VAPID JWT, so with
several workers on a 2-core machine it, not the workers, sets the ceiling.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SUBSCRIBERS = 100


def _app(db_url: str, instance: str):
    os.environ["WITHUS_INSTANCE_PATH"] = instance
    from server import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": db_url,
            "PUSH_ALLOW_TEST_SERVICE": True,
            "PUSH_BATCH_SIZE": 50,
        }
    )


def _setup(app, service, subscribers: int):
    """Participants with a device and a real test-service subscription each; quiet hours off."""
    from flask_migrate import upgrade

    from server.auth.devices import PARTICIPANT, issue_device
    from server.extensions import db
    from server.push.models import PushSubscription, QuietHours
    from server.push.vapid import get_keys

    with app.app_context():
        upgrade()
        db.create_all()
        public_key = get_keys().public_key
        people = []
        for _ in range(subscribers):
            participant_id = str(uuid.uuid4())
            device, _ = issue_device(kind=PARTICIPANT, participant_id=participant_id, project_id=str(uuid.uuid4()))
            db.session.flush()
            sub = service.subscribe(public_key)
            db.session.add(
                PushSubscription(
                    device_id=device.id,
                    endpoint=sub["endpoint"],
                    p256dh=sub["keys"]["p256dh"],
                    auth=sub["keys"]["auth"],
                )
            )
            db.session.add(QuietHours(participant_id=participant_id, start="00:00", end="00:00"))
            people.append((participant_id, sub))
        db.session.commit()
    return people


def _enqueue(app, people, total: int) -> list[str]:
    from server.extensions import db
    from server.push.outbox import enqueue

    actions = [str(uuid.uuid4()) for _ in range(max(1, total // len(people)))]
    with app.app_context():
        for action_id in actions:
            enqueue(db.session, [p for p, _ in people], action_id, "status", "done")
        db.session.commit()
    return actions


def _encryption_alone(app, people, count: int) -> float:
    """Seconds for ``count`` messages of pywebpush's crypto: ECDH, aes128gcm, VAPID JWT."""
    from pywebpush import WebPusher

    from server.push.sender import payload_for
    from server.push.vapid import get_keys

    keys = get_keys(app)
    payload = payload_for("status", "done", str(uuid.uuid4()), str(uuid.uuid4()))
    start = time.perf_counter()
    for index in range(count):
        sub = people[index % len(people)][1]
        WebPusher({"endpoint": sub["endpoint"], "keys": sub["keys"]}).encode(payload, "aes128gcm")
        keys.vapid.sign({"sub": keys.subject, "aud": "http://localhost", "exp": int(time.time()) + 3600})
    return time.perf_counter() - start


def _worker_process(db_url, instance, go, results):
    app = _app(db_url, instance)
    from server.push.worker import Worker

    worker = Worker(app)
    go.wait()
    start, cpu = time.perf_counter(), time.process_time()
    stats = worker.drain()
    end, cpu = time.perf_counter(), time.process_time() - cpu
    results.put((stats.sent, stats.failed + stats.gone + stats.retried, start, end, cpu))
    worker.close()


def _run_workers(db_url, instance, count: int) -> tuple[int, int, float, float]:
    ctx = mp.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker_process, args=(db_url, instance, go, results)) for _ in range(count)]
    for proc in procs:
        proc.start()
    time.sleep(3.0)  # let every process import and build its app before the start
    go.set()
    rows = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    sent = sum(r[0] for r in rows)
    problems = sum(r[1] for r in rows)
    wall = max(r[3] for r in rows) - min(r[2] for r in rows)
    cpu = sum(r[4] for r in rows)
    return sent, problems, wall, cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _check_exactly_once(service, people, actions) -> bool:
    got = Counter()
    for _, sub in people:
        for message in service.messages(sub["clientHash"]):
            got[(sub["clientHash"], message["action_id"])] += 1
    expected = {(sub["clientHash"], a) for _, sub in people for a in actions}
    return set(got) == expected and set(got.values()) == {1}


def bench(label: str, db_url: str, total: int, worker_counts: list[int]) -> None:
    from tests.push.service import PushService

    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    instance = str(work / "instance")
    service = PushService(work).start()
    try:
        app = _app(db_url, instance)
        people = _setup(app, service, SUBSCRIBERS)
        print(f"\n== {label}: {SUBSCRIBERS} subscriptions on web-push-testing, {total} notifications per run ==")

        cpu = time.process_time()
        enc = _encryption_alone(app, people, total)
        enc_cpu = time.process_time() - cpu
        print(
            f"encryption alone (ECDH + aes128gcm + VAPID JWT): {total / enc:8.0f} /s "
            f"({enc / total * 1000:.2f} ms wall, {enc_cpu / total * 1000:.2f} ms CPU each)"
        )

        for count in worker_counts:
            # A fresh service per run, so the exactly-once check sees only this run.
            service.stop()
            service = PushService(work).start()
            people = _refresh_subscriptions(app, service, people)
            actions = _enqueue(app, people, total)
            rows = len(actions) * len(people)
            node_cpu = _cpu_seconds(service.pid)
            sent, problems, wall, cpu = _run_workers(db_url, instance, count)
            node_cpu = _cpu_seconds(service.pid) - node_cpu
            once = _check_exactly_once(service, people, actions)
            rate = sent / wall
            per_msg_ms = cpu / max(sent, 1) * 1000
            print(
                f"{count} worker process{'es' if count > 1 else '  '}: {rate:7.0f} /s total, "
                f"{rate / count:6.0f} /s per worker ({sent}/{rows} sent in {wall:.2f} s, "
                f"problems={problems}, exactly once={'yes' if once else 'NO'})"
            )
            capacity = 1000 / per_msg_ms
            print(
                f"    worker CPU {per_msg_ms:.2f} ms/notification (= {capacity:.0f} /s per "
                f"worker process on a free core), of which encryption alone "
                f"{enc_cpu / total * 1000 / per_msg_ms * 100:.0f}%; push service CPU "
                f"{node_cpu / max(sent, 1) * 1000:.2f} ms/notification"
            )
    finally:
        service.stop()
        shutil.rmtree(work, ignore_errors=True)


def _refresh_subscriptions(app, service, people):
    """Point every subscription at a new subscription on a restarted service."""
    from sqlalchemy import update

    from server.extensions import db
    from server.push.models import PushSubscription
    from server.push.vapid import get_keys

    fresh = []
    with app.app_context():
        public_key = get_keys().public_key
        for participant_id, old in people:
            sub = service.subscribe(public_key)
            db.session.execute(
                update(PushSubscription)
                .where(PushSubscription.endpoint == old["endpoint"])
                .values(endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"])
            )
            fresh.append((participant_id, sub))
        db.session.commit()
    return fresh


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notifications", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--postgresql", action="store_true", help="also run on PostgreSQL")
    args = parser.parse_args(argv)
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    work = Path(tempfile.mkdtemp(prefix="bench-push-db-"))
    try:
        bench("SQLite", f"sqlite:///{work / 'bench.sqlite'}", args.notifications, args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.postgresql:
        from tests.backends import create_pg_database, drop_pg_database

        url = create_pg_database()
        try:
            bench("PostgreSQL", url, args.notifications, args.workers)
        finally:
            drop_pg_database(url)


if __name__ == "__main__":
    main()
