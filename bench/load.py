"""Load test: many participant devices pushing and pulling against gunicorn + PostgreSQL.

Run: ``.venv/bin/python -m bench.load --devices 200 --seconds 30``

Starts gunicorn on 127.0.0.1 (a free port) over a fresh PostgreSQL database made on the
test server (127.0.0.1:5432, or WITHUS_TEST_PG_ADMIN_URL), with the demo data; issues
one participant device token per simulated device straight in the database; then each
device, in its own thread with its own keep-alive connection, pushes a batch of
``--batch`` records (new feedback and re-answered checklist statements, so records are
both created and updated) and pulls what changed since its cursor, every
``--interval`` seconds on average (exponential gaps: arrivals are random, as phones
coming online are), for ``--seconds``. A push that fails is resent until it gets a 200
(bounded by a drain deadline), as the app's outbox does.

Prints throughput, push and pull latency percentiles, errors, and a reconciliation of
what the devices made against what the server stored: lost and doubled must be 0
(exit status 1 otherwise). Everything is loopback only; the database is dropped and
gunicorn stopped at the end.

``--interval`` takes several values (a sweep) and ``--feed both`` (the default) runs
each with the parallel change feed and with the old global lock (sync/feed.py), each
on a fresh database, then prints them side by side: offered and achieved pushes a
second, push latency, lost, doubled, server plus database CPU per push (from /proc,
the gunicorn processes and this database's PostgreSQL backends) and the share of
active database time spent waiting on locks (pg_stat_activity, sampled every 20 ms).

``--profile SECONDS`` records a py-spy profile of the gunicorn workers (py-spy comes with the test tools)
into the work dir, for finding where the time goes.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from tests.backends import create_pg_database, drop_pg_database
from tests.reliability.harness import (
    AppServer,
    SimDevice,
    issue_participant_tokens,
    reconcile,
    statement_ids,
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


class Device(threading.Thread):
    """One phone: push a batch, pull since its cursor, wait, again."""

    def __init__(self, sim: SimDevice, port: int, args, stop_at: float, drain_by: float, rng: random.Random):
        super().__init__(daemon=True)
        self.sim = sim
        self.port = port
        self.args = args
        self.stop_at = stop_at
        self.drain_by = drain_by
        self.rng = rng
        self.conn: http.client.HTTPConnection | None = None
        self.push_ms: list[float] = []
        self.pull_ms: list[float] = []
        self.errors: dict[str, int] = {}
        self.pushes = 0
        self.records = 0
        self.cursor = 0
        self.unfinished = 0

    def _error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def _send(self, method: str, path: str, body: bytes | None, timings: list[float]):
        """One request on the keep-alive connection; (status, headers, body) or None."""
        headers = {"Authorization": f"Bearer {self.sim.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as err:
                self.conn.close()
                self.conn = None
                # A keep-alive connection the server closed while idle: reconnect once.
                if attempt == 1 and isinstance(
                    err, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                ):
                    continue
                self._error(type(err).__name__)
                return None
            timings.append((time.perf_counter() - started) * 1000)
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, response, raw
        return None

    def run(self) -> None:
        import json

        time.sleep(self.rng.uniform(0, min(self.args.interval, self.args.seconds)))  # spread
        while time.monotonic() < self.stop_at:
            if self.args.max_pushes and self.pushes >= self.args.max_pushes:
                break
            records = self.sim.batch(self.args.batch)
            payload = json.dumps({"schema": 1, "records": records}, separators=(",", ":")).encode()
            while True:
                answer = self._send("POST", "/api/sync/push", payload, self.push_ms)
                if answer is not None and answer[0] == 200:
                    body = json.loads(answer[2])
                    self.sim.clock.receive(body["server_hlc"])
                    bad = [r for r in body["results"] if r["status"] == "rejected"]
                    if bad:
                        self._error("rejected:" + bad[0]["error"]["code"])
                    self.sim.remember(records)
                    self.pushes += 1
                    self.records += len(records)
                    break
                if answer is not None:
                    self._error(f"push {answer[0]}")
                if time.monotonic() > self.drain_by:
                    self.unfinished += 1
                    return
                time.sleep(0.2)
            answer = self._send("GET", f"/api/sync/pull?cursor={self.cursor}&limit=500", None, self.pull_ms)
            if answer is not None and answer[0] == 200:
                self.cursor = json.loads(answer[2])["cursor"]
            elif answer is not None:
                self._error(f"pull {answer[0]}")
            gap = self.rng.expovariate(1 / self.args.interval)
            time.sleep(max(0.0, min(gap, self.stop_at - time.monotonic())))
        if self.conn is not None:
            self.conn.close()


def warm_up(sims: list[SimDevice], batch: int) -> None:
    """Concurrent pushes so every worker has its connections and caches before the clock runs."""

    def run(sim):
        for _ in range(3):
            sim.push_until_ok(sim.batch(batch), time.monotonic() + 60)

    threads = [threading.Thread(target=run, args=(sim,)) for sim in sims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def profile(server: AppServer, seconds: int, out: Path) -> list[Path]:
    """py-spy each gunicorn worker for ``seconds``; return the flame graphs written."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    children = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout.split()
    procs, files = [], []
    for pid in children:
        path = out / f"profile-{pid}.txt"
        files.append(path)
        procs.append(
            subprocess.Popen(
                [
                    pyspy,
                    "record",
                    "--pid",
                    pid,
                    "--duration",
                    str(seconds),
                    "--format",
                    "raw",
                    "--output",
                    str(path),
                    "--nonblocking",
                    # Only samples holding the GIL: Python's CPU, not time waiting on the database.
                    "--gil",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for proc in procs:
        proc.wait(seconds + 60)
    return files


def summarize_profile(files: list[Path], top: int = 25) -> str:
    """Collapse py-spy raw stacks into self/total time of the heaviest frames."""
    total_samples = 0
    inclusive: dict[str, int] = {}
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            total_samples += n
            seen = set()
            for frame in stack.split(";"):
                name = (
                    frame.split(" (")[0] + " " + frame.split("(")[-1].split(":")[0].rsplit("/", 2)[-1]
                    if "(" in frame
                    else frame
                )
                if name not in seen:
                    seen.add(name)
                    inclusive[name] = inclusive.get(name, 0) + n
    lines = [f"py-spy: {total_samples} samples over the workers"]
    for name, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / max(total_samples, 1):5.1f}%  {name}")
    return "\n".join(lines)


class Analyzer:
    """Runs ANALYZE every ``every`` seconds while autovacuum is off (as on the test server).

    A production PostgreSQL runs autovacuum, which keeps the planner's statistics as
    tables grow; without them, a table that grew from nothing during the run is planned
    as if empty (whole-table scans where one index lookup would do), and the figures
    measure a misconfigured server rather than WithUs.
    """

    def __init__(self, url: str, every: float = 10.0):
        self.engine = sa.create_engine(url, pool_size=1)
        self.every = every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        with self.engine.connect() as conn:
            self.needed = conn.exec_driver_sql("SHOW autovacuum").scalar() != "on"
            # Its backend is one of this database's, so the Meter counts its CPU; kept
            # apart here too, to say how much of the database's CPU it was.
            self.pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self.cpu_s = 0.0

    def _analyze(self) -> None:
        with self.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            before = Meter.cpu([pid]).get(pid, 0.0)
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
            self.cpu_s += Meter.cpu([pid]).get(pid, 0.0) - before

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self._analyze()

    def start(self) -> None:
        if self.needed:
            print(f"autovacuum is off on this server: ANALYZE now and every {self.every:g} s, as it would")
            self._analyze()
            self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(60)
        self.engine.dispose()


class Meter:
    """Server plus database CPU, and how often PostgreSQL backends wait on a lock, over a run."""

    def __init__(self, server: AppServer, url: str):
        self.server, self.url = server, url
        self.dbname = url.rsplit("/", 1)[1]
        self.engine = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", pool_size=1)
        self.stop = threading.Event()
        self.active = self.waiting = 0
        self.backend_pids: set[int] = set()
        self.db_s = 0.0
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def _pids(self) -> list[int]:
        with self.engine.connect() as conn:
            backends = (
                conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.dbname})
                .scalars()
                .all()
            )
        group = subprocess.run(
            ["pgrep", "-g", str(os.getpgid(self.server.process.pid))], capture_output=True, text=True
        ).stdout.split()
        self.backend_pids.update(backends)
        return [*backends, *(int(p) for p in group)]

    @staticmethod
    def cpu(pids) -> dict[int, float]:
        """CPU seconds each of these processes has used so far (from /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        for pid in pids:
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / ticks
        return out

    def _sample(self) -> None:
        query = sa.text(
            "SELECT count(*) FILTER (WHERE state = 'active'), "
            "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
            "FROM pg_stat_activity WHERE datname = :d"
        )
        with self.engine.connect() as conn:
            while not self.stop.wait(0.02):
                active, waiting = conn.execute(query, {"d": self.dbname}).one()
                self.active += active
                self.waiting += waiting
                conn.rollback()

    def start(self) -> None:
        self.before = self.cpu(self._pids())
        self.sampler.start()

    def finish(self) -> tuple[float, float]:
        """(CPU seconds used by server and database, share of active backends waiting on locks)."""
        self.stop.set()
        self.sampler.join(5)
        after = self.cpu(self._pids())
        self.engine.dispose()
        used = sum(max(0.0, t - self.before.get(pid, 0.0)) for pid, t in after.items())
        self.db_s = sum(max(0.0, t - self.before.get(pid, 0.0)) for pid, t in after.items() if pid in self.backend_pids)
        return used, (self.waiting / self.active if self.active else 0.0)


def run_once(args, interval: float, feed: str) -> dict:
    """One run: a fresh database and server in the given feed mode; returns its figures."""
    cores = os.cpu_count() or 2
    workdir = Path(tempfile.mkdtemp(prefix="withus-load-"))
    url = create_pg_database()
    server = AppServer(
        workdir,
        url,
        workers=args.workers,
        threads=args.threads,
        # As in production with several workers: rate limits counted in Redis, not per process.
        extra_env={
            "WITHUS_SYNC_FEED": feed,
            "RATELIMIT_STORAGE_URI": args.redis,
            "RATELIMIT_KEY_PREFIX": f"withus-load-{os.getpid()}-{feed}-{interval}",
        },
        gunicorn_args=("--worker-class", args.worker_class, "--backlog", "2048", "--keep-alive", "30"),
    )
    try:
        server.prepare()
        server.start()
        warmers = 4 * args.workers
        creds = issue_participant_tokens(url, workdir, args.devices + warmers)
        statements = statement_ids(url)
        sims = [
            SimDevice(server.url, c["token"], c["participant_id"], c["project_id"], statements, seed=i * 100_000)
            for i, c in enumerate(creds)
        ]
        sims, warm = sims[: args.devices], sims[args.devices :]
        warm_up(warm, args.batch)
        analyzer = Analyzer(url)
        analyzer.start()
        rng = random.Random(args.seed)
        print(
            f"\n--- {feed} feed: {args.devices} devices, {args.batch}-record pushes every ~{interval}s "
            f"each, {args.seconds:.0f}s; gunicorn {args.workers} workers x {args.threads} threads "
            f"on {cores} cores; PostgreSQL",
            flush=True,
        )
        meter = Meter(server, url)
        meter.start()
        client_cpu = time.process_time()
        started = time.monotonic()
        stop_at = started + args.seconds
        run_args = argparse.Namespace(**{**vars(args), "interval": interval})
        devices = [
            Device(sim, server.port, run_args, stop_at, stop_at + args.drain, random.Random(rng.random()))
            for sim in sims
        ]
        for device in devices:
            device.start()
        profile_files = []
        if args.profile:
            time.sleep(min(5, args.seconds / 4))
            profile_files = profile(server, args.profile, workdir)
        for device in devices:
            device.join(max(0.1, stop_at + args.drain + 10 - time.monotonic()))
        elapsed = time.monotonic() - started
        cpu_s, lock_share = meter.finish()
        client_cpu = time.process_time() - client_cpu
        analyzer.finish()
        analyze_s = analyzer.cpu_s
        push_ms = [t for d in devices for t in d.push_ms]
        pull_ms = [t for d in devices for t in d.pull_ms]
        errors: dict[str, int] = {}
        for d in devices:
            for k, v in d.errors.items():
                errors[k] = errors.get(k, 0) + v
        pushes = sum(d.pushes for d in devices)
        records = sum(d.records for d in devices)
        unfinished = sum(d.unfinished for d in devices) + sum(d.is_alive() for d in devices)
        print(f"elapsed            {elapsed:.1f} s")
        print(f"pushes             {pushes} ({pushes / elapsed:.1f}/s), {records} records ({records / elapsed:.0f}/s)")
        print(f"pulls              {len(pull_ms)} ({len(pull_ms) / elapsed:.1f}/s)")
        for name, values in (("push", push_ms), ("pull", pull_ms)):
            if values:
                print(
                    f"{name} latency ms    p50 {percentile(values, 50):.0f}  "
                    f"p95 {percentile(values, 95):.0f}  p99 {percentile(values, 99):.0f}  "
                    f"max {max(values):.0f}  mean {statistics.fmean(values):.0f}"
                )
        cpu_per_push = 1000 * cpu_s / max(pushes, 1)
        print(
            f"CPU (server + db)  {cpu_s:.1f} s, {cpu_per_push:.1f} ms per push (and its pull), of which "
            f"PostgreSQL {1000 * meter.db_s / max(pushes, 1):.1f} ms (ANALYZE, in autovacuum's stead, "
            f"{1000 * analyze_s / max(pushes, 1):.1f} ms)"
        )
        print(f"lock waits         {100 * lock_share:.1f}% of active database time")
        # The phones are simulated on the same cores: what they use, the server cannot.
        print(f"CPU (the phones)   {client_cpu:.1f} s, {100 * client_cpu / elapsed:.0f}% of one core")
        print(f"errors             {sum(errors.values())} {errors or ''}")
        print(f"unfinished batches {unfinished}")
        result = reconcile(sims, url)
        print(f"records made       {result['made']}")
        print(f"records stored     {result['stored']}")
        print(f"lost               {result['lost']}")
        print(f"doubled            {result['doubled']}")
        print(f"wrong final value  {result['wrong']}")
        print(f"projection rows    {result['projections']} (expected {result['expected_projections']})")
        if profile_files:
            print(summarize_profile(profile_files))
        failures = [line for line in server.log_tail(200_000).splitlines() if "Error" in line or "Unhandled" in line]
        if failures:
            print(f"server log ({server.log_path}):")
            for line in failures[:10]:
                print("  " + line[:300])
        ok = (
            result["lost"] == 0
            and result["doubled"] == 0
            and result["wrong"] == 0
            and result["missing_projection_rows"] == 0
            and unfinished == 0
        )
        return {
            "feed": feed,
            "interval": interval,
            "offered": args.devices / interval,
            "achieved": pushes / elapsed,
            "p50": percentile(push_ms, 50),
            "p95": percentile(push_ms, 95),
            "p99": percentile(push_ms, 99),
            "lost": result["lost"],
            "doubled": result["doubled"],
            "cpu_ms": cpu_per_push,
            "lock_share": lock_share,
            "ok": ok,
        }
    finally:
        server.stop()
        drop_pg_database(url)
        if args.keep:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def print_table(results: list[dict]) -> None:
    print("\n=== Side by side (push latency; CPU is server plus database per push and its pull)")
    print(
        "| feed | syncs every | offered pushes/s | achieved pushes/s | p50 / p95 / p99 ms "
        "| lost | doubled | CPU ms/push | lock waits |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['feed']} | ~{r['interval']:g} s | {r['offered']:.0f} | {r['achieved']:.1f} | "
            f"{r['p50']:.0f} / {r['p95']:.0f} / {r['p99']:.0f} | {r['lost']} | {r['doubled']} | "
            f"{r['cpu_ms']:.1f} | {100 * r['lock_share']:.1f}% |"
        )


def print_targets(results: list[dict], p95_target: float) -> None:
    """The targets of issues 11 and 16, each met or MISSED, from this run's figures."""
    parallel = [r for r in results if r["feed"] == "parallel"]
    for r in parallel:
        if r["interval"] < SLOWEST_WITH_A_LATENCY_TARGET:
            continue  # a probe for saturation: its latency is printed above, not a target
        verdict = "met" if r["p95"] < p95_target else "MISSED"
        print(f"target p95 < {p95_target:.0f} ms at ~{r['interval']:g} s: {verdict} ({r['p95']:.0f} ms)")
    if parallel:
        cpu = min(r["cpu_ms"] for r in parallel)
        print(f"target CPU per push <= 10 ms: {'met' if cpu <= 10 else 'MISSED'} ({cpu:.1f} ms)")
        busiest = max(parallel, key=lambda r: r["offered"])
        share = busiest["lock_share"]
        verdict = "met" if share < 0.05 else "MISSED"
        print(f"target lock waits < 5% at ~{busiest['interval']:g} s: {verdict} ({100 * share:.1f}%)")
    for interval in sorted({r["interval"] for r in results}):
        pair = {r["feed"]: r for r in results if r["interval"] == interval}
        if {"parallel", "global"} <= pair.keys():
            ratio = pair["parallel"]["achieved"] / max(pair["global"]["achieved"], 1e-9)
            print(f"throughput at ~{interval:g} s: parallel {ratio:.2f}x the global lock's")
    best = {feed: max((r["achieved"] for r in results if r["feed"] == feed), default=0.0) for feed in FEEDS}
    if all(best.values()):
        ratio = best["parallel"] / best["global"]
        print(
            f"target saturation throughput >= 3x the global lock's: {'met' if ratio >= 3 else 'MISSED'} "
            f"({ratio:.2f}x: the most each achieved, {best['parallel']:.1f} against {best['global']:.1f} pushes/s; "
            "a feed saturates only if some interval offers more than it achieves)"
        )


# Issue 16's latency target is for phones syncing every ~5 s; shorter intervals probe saturation.
SLOWEST_WITH_A_LATENCY_TARGET = 5.0
FEEDS = ("parallel", "global")


def main(argv=None) -> int:
    cores = os.cpu_count() or 2
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--interval",
        type=float,
        nargs="+",
        default=[10.0, 5.0],
        help="mean seconds between one device's syncs; several values make a sweep",
    )
    parser.add_argument(
        "--feed",
        choices=("parallel", "global", "both"),
        default="both",
        help="the change feed to run (sync/feed.py); both: side by side in one run",
    )
    parser.add_argument("--p95-target", type=float, default=150.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="where rate limits are counted")
    # As the Procfile runs it: one thread a worker (threads in one process wait on its
    # interpreter lock), three workers a core (PostgreSQL does about a third of a request's work,
    # while its worker waits).
    parser.add_argument("--workers", type=int, default=3 * cores)
    parser.add_argument("--threads", type=int, default=1)
    # gthread (the Procfile's) keeps each phone's connection open between requests.
    parser.add_argument("--worker-class", default="gthread", choices=("gthread", "sync"))
    parser.add_argument("--max-pushes", type=int, default=0, help="per device; 0: no bound")
    parser.add_argument("--drain", type=float, default=30, help="seconds after the end to finish batches in flight")
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (gunicorn.log)")
    args = parser.parse_args(argv)
    feeds = ["parallel", "global"] if args.feed == "both" else [args.feed]
    results = [run_once(args, interval, feed) for interval in args.interval for feed in feeds]
    print_table(results)
    print_targets(results, args.p95_target)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
