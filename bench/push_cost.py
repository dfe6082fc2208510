"""Where a push and its pull spend CPU, in one process: the app's Python and PostgreSQL's.

Run: ``.venv/bin/python -m bench.push_cost`` (``--help`` for the options).

``bench.load`` measures the service as phones meet it (gunicorn, 200 threads of phones,
two cores shared), which on a busy machine varies by a third from run to run. This
runs the same pushes and pulls (200 participant phones, 50-record batches) through the
Flask app in this process against a fresh PostgreSQL database, one at a time, and
reads the CPU used by this process's requests and by the database's backends. Run it
before and after a change, alternately, to see what the change did:

- ``in app``: CPU inside the app per push, and per pull (the WSGI call, Flask included);
- ``database``: PostgreSQL's CPU per push and its pull (from ``/proc``);
- ``--statements``: each statement's share of the wall time, by its first words;
- ``--profile push|pull``: a cProfile of that request's CPU, heaviest first.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from bench.load import Meter
from tests.backends import create_pg_database, drop_pg_database
from tests.reliability.harness import AppServer, SimDevice, issue_participant_tokens, statement_ids


def backend_cpu(admin: sa.Engine, dbname: str) -> float:
    """CPU seconds used so far by this database's PostgreSQL backends."""
    with admin.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": dbname}).scalars()
        pids = list(pids)
    return sum(Meter.cpu(pids).values())


class Requests:
    """The app wrapped so each request's CPU is counted (and profiled, when asked)."""

    def __init__(self, app, profile: str | None):
        self.cpu = {"push": 0.0, "pull": 0.0}
        self.profiler = cProfile.Profile(time.process_time) if profile else None
        self.profiled = profile
        self.on = False
        inner = app.wsgi_app

        def counted(environ, start_response):
            kind = "push" if environ["PATH_INFO"].endswith("/push") else "pull"
            profiling = self.on and self.profiler is not None and kind == self.profiled
            started = time.process_time()
            if profiling:
                self.profiler.enable()
            try:
                return list(inner(environ, start_response))
            finally:
                if profiling:
                    self.profiler.disable()
                if self.on:
                    self.cpu[kind] += time.process_time() - started

        app.wsgi_app = counted


class StatementTimes:
    """Wall time per statement (by its first words), from the engine's own events."""

    def __init__(self, engine):
        self.times: dict[str, list] = {}
        self.on = False
        event.listen(engine, "before_cursor_execute", self._started)
        event.listen(engine, "after_cursor_execute", self._ended)

    def _started(self, conn, cursor, statement, params, context, executemany):
        conn.info["withus_started"] = time.perf_counter()

    def _ended(self, conn, cursor, statement, params, context, executemany):
        if self.on:
            entry = self.times.setdefault(" ".join(statement.split())[:110], [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info["withus_started"]

    def print(self, n: int) -> None:
        print("statements (wall ms per push and its pull, runs per push and its pull):")
        for text, (runs, seconds) in sorted(self.times.items(), key=lambda kv: -kv[1][1]):
            print(f"  {1000 * seconds / n:6.3f} ms  {runs / n:4.1f}x  {text}")


class PlanLog:
    """Plans of slow statements, logged by PostgreSQL's auto_explain as they run (superuser only)."""

    PATH = Path("/var/log/postgresql/postgresql-15-main.log")

    def __init__(self, app, ms: float):
        from server.extensions import db

        self.start = self.PATH.stat().st_size if self.PATH.exists() else 0

        def explain(dbapi_connection, connection_record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("LOAD 'auto_explain'")
                cursor.execute(f"SET auto_explain.log_min_duration = {float(ms)}")
                cursor.execute("SET auto_explain.log_analyze = on")
                cursor.execute("SET auto_explain.log_buffers = on")
            dbapi_connection.commit()

        with app.app_context():
            event.listen(db.engine, "connect", explain)
            db.engine.dispose()  # new connections, each with the settings above

    def print(self) -> None:
        if not self.PATH.exists():
            print(f"no PostgreSQL log at {self.PATH}: see its log_directory")
            return
        with self.PATH.open(errors="replace") as log:
            log.seek(self.start)
            print(log.read()[-40_000:])


def database_work(admin: sa.Engine, dbname: str) -> tuple[int, int]:
    """(shared buffers this database's backends have read, bytes of WAL the server has written).

    Counts, not time: unlike CPU seconds they do not drift with the host, so two runs'
    figures compare. A backend reports its counts as it ends, or now and then; the
    caller ends the app's connections first.
    """
    with admin.connect() as conn:
        buffers = conn.execute(
            sa.text("SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = :d"), {"d": dbname}
        ).scalar()
        wal = conn.execute(sa.text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")).scalar()
    return int(buffers), int(wal)


def analyze(url: str) -> None:
    """Make fresh statistics on a connection of its own (closed after, so its CPU is not counted)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()


def prepare(url: str, workdir: Path, devices: int) -> list[SimDevice]:
    """Migrate the database, add the demo data and one participant phone per device."""
    AppServer(workdir, url).prepare()  # as bench.load's server: migrated, with the demo data
    statements = statement_ids(url)
    return [
        SimDevice("", c["token"], c["participant_id"], c["project_id"], statements, seed=i * 100_000)
        for i, c in enumerate(issue_participant_tokens(url, workdir, devices))
    ]


class Phones:
    """Pushes a phone's next batch and pulls after its cursor, through the app's test client."""

    def __init__(self, app, batch: int):
        self.client = app.test_client()
        self.batch = batch
        self.cursors: dict[str, object] = {}

    def sync(self, phone: SimDevice) -> None:
        records = phone.batch(self.batch)
        auth = {"Authorization": f"Bearer {phone.token}"}
        body = json.dumps({"schema": 1, "records": records}, separators=(",", ":"))
        answer = self.client.post("/api/sync/push", data=body, headers={**auth, "Content-Type": "application/json"})
        if answer.status_code != 200:
            raise SystemExit(f"push answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")
        phone.clock.receive(answer.json["server_hlc"])
        phone.remember(records)
        answer = self.client.get(f"/api/sync/pull?cursor={self.cursors.get(phone.token, 0)}&limit=500", headers=auth)
        if answer.status_code != 200:
            raise SystemExit(f"pull answered {answer.status_code}: {answer.get_data(as_text=True)[:300]}")
        self.cursors[phone.token] = answer.json["cursor"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--pairs", type=int, default=400, help="pushes (each with its pull) measured")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--statements", action="store_true", help="print each statement's wall time")
    parser.add_argument(
        "--profile", choices=("push", "pull"), help="cProfile one kind of request (its CPU then includes the profiler)"
    )
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--analyze-every",
        type=int,
        default=100,
        metavar="N",
        help="ANALYZE after every N pairs, as autovacuum would as the tables grow",
    )
    parser.add_argument(
        "--explain",
        type=float,
        metavar="MS",
        help="print the plan (EXPLAIN ANALYZE, by auto_explain) of each measured statement slower than MS",
    )
    args = parser.parse_args(argv)

    url = create_pg_database()
    dbname = url.rsplit("/", 1)[1]
    workdir = Path(tempfile.mkdtemp(prefix="withus-push-cost-"))
    saved_environ = dict(os.environ)  # the app reads its settings from there; put back after
    os.environ.update(
        DATABASE_URL=url,
        WITHUS_INSTANCE_PATH=str(workdir / "instance"),
        WITHUS_ENV="development",
        SECRET_KEY="push-cost",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
        RATELIMIT_KEY_PREFIX=f"withus-push-cost-{os.getpid()}",
    )
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", pool_size=1)
    try:
        phones = prepare(url, workdir, args.devices)
        from server import create_app
        from server.extensions import db

        app = create_app()
        requests = Requests(app, args.profile)
        client = Phones(app, args.batch)
        with app.app_context():
            statements = StatementTimes(db.engine) if args.statements else None
        # Every phone joins and syncs once, a quarter twice, then the statistics are made
        # (as autovacuum would on a production server): the measured pairs meet warm plans.
        for phone in phones + phones[: len(phones) // 4]:
            client.sync(phone)
        analyze(url)

        rng = random.Random(1)  # the same phones in the same order on every run
        order = [rng.choice(phones) for _ in range(args.pairs)]
        log = PlanLog(app, args.explain) if args.explain is not None else None
        with app.app_context():
            db.engine.dispose()  # the warm-up's connections report their counts as they end
        work_before = database_work(admin, dbname)
        database_before = backend_cpu(admin, dbname)
        requests.on = True
        if statements is not None:
            statements.on = True
        for i, phone in enumerate(order, 1):
            client.sync(phone)
            if i % args.analyze_every == 0:
                analyze(url)
        requests.on = False
        database = backend_cpu(admin, dbname) - database_before
        with app.app_context():
            db.engine.dispose()
        work = [after - before for after, before in zip(database_work(admin, dbname), work_before, strict=True)]

        n = args.pairs
        push_ms, pull_ms = 1000 * requests.cpu["push"] / n, 1000 * requests.cpu["pull"] / n
        db_ms = 1000 * database / n
        print(f"{n} pushes of {args.batch} records, each with its pull, {args.devices} phones, in process")
        print(f"in app     push {push_ms:.2f} ms, pull {pull_ms:.2f} ms of CPU")
        print(f"database   {db_ms:.2f} ms of PostgreSQL CPU per push and its pull")
        print(f"together   {push_ms + pull_ms + db_ms:.2f} ms per push and its pull")
        print(
            f"db work    {work[0] / n:.0f} buffers read, {work[1] / n / 1024:.1f} KB of WAL per push and its pull"
            " (counts: they compare across runs where CPU time drifts with the host)"
        )
        if statements is not None:
            statements.print(n)
        if log is not None:
            log.print()
        if requests.profiler is not None:
            pstats.Stats(requests.profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(args.top)
        return 0
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        admin.dispose()
        drop_pg_database(url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
