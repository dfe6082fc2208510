"""The push worker: claim due outbox rows, send them, record what happened.

Claiming
--------
One statement claims a batch and stamps it with this worker's token::

    UPDATE push_notifications
       SET state='sending', claimed_by=:token, claimed_at=:now, attempts=attempts+1
     WHERE id IN (SELECT id FROM push_notifications WHERE <due> ORDER BY id LIMIT :n
                  [FOR UPDATE SKIP LOCKED])          -- PostgreSQL only
       AND <due>
    RETURNING id

``<due>`` is "pending and next_attempt_at has come" or "sending and the lease
ran out" (its worker died). On PostgreSQL ``SKIP LOCKED`` lets workers claim
disjoint batches without waiting; the repeated ``<due>`` makes a row that
another worker claimed and committed meanwhile drop out. On SQLite the single
UPDATE runs under the database's one write lock, so two workers can never both
match a row; the rows RETURNING gives are exactly the ones this worker owns.
The claim is the first statement of its transaction (SQLite must take the write
lock before reading, or a busy wait cannot help).

Every later write is conditional on ``claimed_by = :token AND state = 'sending'``,
so a worker whose lease was taken over records nothing. A worker does not start
a send that could end after its lease (``timeout`` before the lease end); it
hands the rest of the batch back instead. Rows claimed by a worker that died
are claimed again after ``PUSH_LEASE_SECONDS``. A worker that dies after a push
service accepted a message but before it committed the result sends those
messages again after the lease: results are committed as each send completes
(``PUSH_COMMIT_EVERY``, default 1), so the window is the sends in flight
(``PUSH_SEND_CONCURRENCY``, default 4). That is the only case of a second send.

Sending
-------
A batch's rows are grouped by subscription. Groups go out side by side on
``PUSH_SEND_CONCURRENCY`` threads, each with its own HTTP session, so one
message's encryption overlaps the push service's handling of another; within a
group rows go in id order, one at a time, so a newer status arrives last and a
404/410 settles the rest. Only the main thread touches the database.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import random
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from server.extensions import db
from server.push.models import (
    FAILED,
    NOTIFY_DONE_ONLY,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    Notification,
    PushSubscription,
    utcnow,
)
from server.push.quiet import quiet_until, settings_for
from server.push.sender import Outcome, Sender, SendSettings, payload_for, topic_for
from server.push.vapid import get_keys

log = logging.getLogger("withus.push")

N = Notification.__table__
S = PushSubscription.__table__

DEFAULTS = {
    "PUSH_BATCH_SIZE": 50,
    "PUSH_LEASE_SECONDS": 120,
    "PUSH_TIMEOUT_SECONDS": 10.0,
    "PUSH_TTL_SECONDS": 4 * 24 * 3600,
    "PUSH_MAX_ATTEMPTS": 8,
    "PUSH_BACKOFF_BASE_SECONDS": 30,
    "PUSH_BACKOFF_MAX_SECONDS": 3600,
    "PUSH_MAX_RETRY_AFTER_SECONDS": 24 * 3600,
    "PUSH_COMMIT_EVERY": 1,
    "PUSH_IDLE_SECONDS": 2.0,
    "PUSH_SEND_CONCURRENCY": 4,
    "PUSH_RETENTION_DAYS": 30,
}
PURGE_EVERY_SECONDS = 3600


def setting(app: Flask, name: str):
    return app.config.get(name, DEFAULTS[name])


@dataclass
class Stats:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    gone: int = 0
    retried: int = 0
    skipped: int = 0
    delayed: int = 0
    released: int = 0
    errors: dict = field(default_factory=dict)

    def add(self, other: Stats) -> None:
        for name in (
            "claimed",
            "sent",
            "failed",
            "gone",
            "retried",
            "skipped",
            "delayed",
            "released",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + count


def _due(now: datetime, lease: float):
    return or_(
        and_(N.c.state == PENDING, N.c.next_attempt_at <= now),
        and_(N.c.state == SENDING, N.c.claimed_at < now - timedelta(seconds=lease)),
    )


def claim(
    engine: Engine,
    token: str,
    limit: int,
    lease: float,
    max_attempts: int,
    now: datetime | None = None,
) -> list[int]:
    """Claim up to ``limit`` due rows for ``token``; return their ids (committed)."""
    now = now or utcnow()
    due = and_(_due(now, lease), N.c.attempts < max_attempts)
    candidates = select(N.c.id).where(due).order_by(N.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(N)
        .where(N.c.id.in_(candidates.scalar_subquery()), due)
        .values(state=SENDING, claimed_by=token, claimed_at=now, attempts=N.c.attempts + 1)
        .returning(N.c.id)
    )
    with engine.begin() as conn:
        # Rows whose lease ran out after their last allowed attempt: give up on them.
        abandoned = select(N.c.id).where(
            N.c.state == SENDING,
            N.c.claimed_at < now - timedelta(seconds=lease),
            N.c.attempts >= max_attempts,
        )
        if engine.dialect.name == "postgresql":
            abandoned = abandoned.with_for_update(skip_locked=True)
        conn.execute(
            update(N)
            .where(N.c.id.in_(abandoned.scalar_subquery()), N.c.state == SENDING)
            .values(state=FAILED, last_error="lease_expired")
        )
        ids = sorted(conn.execute(statement).scalars().all())
    return ids


def purge(engine: Engine, days: float, now: datetime | None = None) -> int:
    """Delete settled rows (sent, failed, skipped) created more than ``days`` ago:
    the outbox is not an archive of who was told what."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    with engine.begin() as conn:
        result = conn.execute(delete(N).where(N.c.state.in_((SENT, FAILED, SKIPPED)), N.c.created_at < cutoff))
    return result.rowcount


def _mine(row_id: int, token: str):
    return and_(N.c.id == row_id, N.c.claimed_by == token, N.c.state == SENDING)


class Worker:
    """One worker: a token, a sender and the settings. Not shared between threads."""

    def __init__(self, app: Flask, engine: Engine | None = None, token: str | None = None):
        self.app = app
        with app.app_context():
            self.engine = engine or db.engine
            keys = get_keys(app)
        self.token = token or "w-" + uuid.uuid4().hex[:24]
        self.batch_size = int(setting(app, "PUSH_BATCH_SIZE"))
        self.lease = float(setting(app, "PUSH_LEASE_SECONDS"))
        self.timeout = float(setting(app, "PUSH_TIMEOUT_SECONDS"))
        self.max_attempts = int(setting(app, "PUSH_MAX_ATTEMPTS"))
        self.backoff_base = float(setting(app, "PUSH_BACKOFF_BASE_SECONDS"))
        self.backoff_max = float(setting(app, "PUSH_BACKOFF_MAX_SECONDS"))
        self.max_retry_after = float(setting(app, "PUSH_MAX_RETRY_AFTER_SECONDS"))
        self.commit_every = max(1, int(setting(app, "PUSH_COMMIT_EVERY")))
        self.idle_seconds = float(setting(app, "PUSH_IDLE_SECONDS"))
        if self.lease < 2 * self.timeout + 1:
            raise ValueError("PUSH_LEASE_SECONDS must exceed 2 * PUSH_TIMEOUT_SECONDS + 1")
        send_settings = SendSettings(
            keys=keys,
            timeout=self.timeout,
            ttl=int(setting(app, "PUSH_TTL_SECONDS")),
            allow_test_service=bool(app.config["PUSH_ALLOW_TEST_SERVICE"]),
        )
        # Sends in flight at once: encryption here overlaps the push service's work there.
        self.concurrency = max(1, int(setting(app, "PUSH_SEND_CONCURRENCY")))
        self.senders: queue.Queue[Sender] = queue.Queue()
        for _ in range(self.concurrency):
            self.senders.put(Sender(send_settings))
        self.pool = (
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="push-send") if self.concurrency > 1 else None
        )
        self.stop = threading.Event()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        while not self.senders.empty():
            self.senders.get_nowait().close()

    # -- one batch ---------------------------------------------------------------

    def run_batch(self) -> Stats:
        """Claim one batch and finish it. Returns what happened (claimed=0: nothing due)."""
        stats = Stats()
        claimed_mono = time.monotonic()
        ids = claim(self.engine, self.token, self.batch_size, self.lease, self.max_attempts)
        stats.claimed = len(ids)
        if not ids:
            return stats
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    N.c.id,
                    N.c.participant_id,
                    N.c.subscription_id,
                    N.c.action_id,
                    N.c.contribution_id,
                    N.c.event,
                    N.c.status_value,
                    N.c.attempts,
                    S.c.endpoint,
                    S.c.p256dh,
                    S.c.auth,
                    S.c.notify,
                )
                .select_from(N.outerjoin(S, S.c.id == N.c.subscription_id))
                .where(N.c.id.in_(ids), N.c.claimed_by == self.token)
                .order_by(N.c.id)
            ).all()
            quiet = settings_for(conn_session(conn), {row.participant_id for row in rows})
        pending_writes: list = []
        groups: dict[int | None, list] = {}
        for row in rows:
            statements = self._decide(row, quiet, stats)
            if statements is not None:
                pending_writes.append(statements)
            else:
                groups.setdefault(row.subscription_id, []).append(row)
        self._flush(pending_writes)
        # Rows for one subscription go in order, one at a time (a newer status arrives last,
        # and a 410 ends the rest); different subscriptions go side by side.
        deadline = claimed_mono + self.lease - self.timeout - 1.0
        release: list[int] = []
        if self.pool is None:
            completed = (self._send_group(group, deadline) for group in groups.values())
        else:
            completed = self._window(list(groups.values()), deadline)
        for results in completed:
            for row, outcome in results:
                if outcome is None:
                    release.append(row.id)
                else:
                    pending_writes.append(self._record(row, outcome, stats))
                    if len(pending_writes) >= self.commit_every:
                        self._flush(pending_writes)
        self._flush(pending_writes)
        stats.released += self._release(release)
        return stats

    def _window(self, groups: list, deadline: float):
        """Yield group results as they finish, with at most ``concurrency`` groups sent or
        sending and not yet recorded: that bounds what a crash could send twice."""
        waiting = iter(groups)
        running = set()
        for group in itertools.islice(waiting, self.concurrency):
            running.add(self.pool.submit(self._send_group, group, deadline))
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()  # recorded by the caller before the next is started
                group = next(waiting, None)
                if group is not None:
                    running.add(self.pool.submit(self._send_group, group, deadline))

    def _send_group(self, rows, deadline: float) -> list[tuple]:
        """Send one subscription's rows in order. Runs on a pool thread: no database here.
        An outcome of None hands the row back (stopping, or the lease would run out)."""
        sender = self.senders.get()
        try:
            results, gone = [], False
            for row in rows:
                if gone:
                    results.append((row, Outcome("failed", "unsubscribed")))
                elif self.stop.is_set() or time.monotonic() > deadline:
                    results.append((row, None))
                else:
                    payload = payload_for(row.event, row.status_value, row.contribution_id, row.action_id)
                    outcome = sender.send(row.endpoint, row.p256dh, row.auth, payload, topic_for(row.action_id))
                    gone = outcome.kind == "gone"
                    results.append((row, outcome))
            return results
        finally:
            self.senders.put(sender)

    def _decide(self, row, quiet, stats: Stats):
        """The statements that settle a row without sending, or None if it is to be sent."""
        now = utcnow()
        mine = _mine(row.id, self.token)
        if row.endpoint is None:
            stats.failed += 1
            return [update(N).where(mine).values(state=FAILED, last_error="unsubscribed")]
        until = quiet_until(now, *quiet[row.participant_id])
        if until is not None:
            stats.delayed += 1
            return [update(N).where(mine).values(state=PENDING, next_attempt_at=until, attempts=N.c.attempts - 1)]
        if row.notify == NOTIFY_DONE_ONLY and row.status_value != "done":
            stats.skipped += 1
            return [update(N).where(mine).values(state=SKIPPED, last_error="notify_done_only")]
        return None

    def _record(self, row, outcome: Outcome, stats: Stats):
        now = utcnow()
        mine = _mine(row.id, self.token)
        if outcome.code:
            stats.errors[outcome.code] = stats.errors.get(outcome.code, 0) + 1
        if outcome.kind == "sent":
            stats.sent += 1
            return [update(N).where(mine).values(state=SENT, sent_at=now, last_error=None)]
        if outcome.kind == "gone":
            stats.gone += 1
            # The subscription expired or was unsubscribed: forget it, and what was waiting for it.
            return [
                update(N).where(mine).values(state=FAILED, last_error=outcome.code),
                update(N).where(N.c.subscription_id == row.subscription_id).values(subscription_id=None),
                delete(S).where(S.c.id == row.subscription_id),
            ]
        if outcome.kind == "retry":
            delay = self.backoff(row.attempts)
            too_long = outcome.retry_after is not None and outcome.retry_after > self.max_retry_after
            if outcome.retry_after is not None:
                delay = max(delay, outcome.retry_after)
            if row.attempts >= self.max_attempts or too_long:
                stats.failed += 1
                return [update(N).where(mine).values(state=FAILED, last_error=outcome.code)]
            stats.retried += 1
            return [
                update(N)
                .where(mine)
                .values(
                    state=PENDING,
                    last_error=outcome.code,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            ]
        stats.failed += 1
        return [update(N).where(mine).values(state=FAILED, last_error=outcome.code)]

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with jitter: base * 2^(attempts-1), capped."""
        delay = min(self.backoff_max, self.backoff_base * math.pow(2, max(0, attempts - 1)))
        return delay * random.uniform(0.8, 1.0)

    def _flush(self, pending_writes: list) -> None:
        if not pending_writes:
            return
        with self.engine.begin() as conn:
            for statements in pending_writes:
                for statement in statements:
                    conn.execute(statement)
        pending_writes.clear()

    def _release(self, ids: list[int]) -> int:
        """Hand rows back unsent (stopping, or the lease would run out)."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(
                update(N)
                .where(N.c.id.in_(ids), N.c.claimed_by == self.token, N.c.state == SENDING)
                .values(state=PENDING, attempts=N.c.attempts - 1, claimed_by=None, claimed_at=None)
            )
        return result.rowcount

    # -- loops -------------------------------------------------------------------

    def drain(self) -> Stats:
        """Send everything due now, then return (``flask push-worker --once``)."""
        total = Stats()
        while not self.stop.is_set():
            stats = self.run_batch()
            total.add(stats)
            if stats.claimed == 0 or stats.released == stats.claimed:
                break
        return total

    def run_forever(self) -> Stats:
        total = Stats()
        next_purge = 0.0
        while not self.stop.is_set():
            try:
                if time.monotonic() >= next_purge:
                    purge(self.engine, float(setting(self.app, "PUSH_RETENTION_DAYS")))
                    next_purge = time.monotonic() + PURGE_EVERY_SECONDS
                stats = self.run_batch()
            except Exception as err:  # noqa: BLE001 - keep the worker alive; the lease recovers rows
                log.warning("push batch failed: %s", type(err).__name__)
                self.stop.wait(self.idle_seconds)
                continue
            total.add(stats)
            if stats.claimed:
                log.info(
                    "push batch: sent=%d failed=%d gone=%d retried=%d skipped=%d delayed=%d",
                    stats.sent,
                    stats.failed,
                    stats.gone,
                    stats.retried,
                    stats.skipped,
                    stats.delayed,
                )
            if stats.claimed < self.batch_size:
                self.stop.wait(self.idle_seconds)
        return total


def conn_session(conn: Connection):
    """A Session on an open connection, for helpers written against the ORM."""
    from sqlalchemy.orm import Session

    return Session(bind=conn)


def counts_by_state(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(N.c.state, func.count()).group_by(N.c.state)).all())
