"""Real processes for the fault, browser and rate-limit tests and the load bench: gunicorn,
a private PostgreSQL, a response-dropping TCP proxy, and simulated devices speaking the sync
protocol over HTTP.

Everything binds to 127.0.0.1 on free ports and is stopped by its owner in a finally.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from sync.hlc import Clock, new_node_id

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NS = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")
STAGES = ("design", "delivery", "review")
VALUES = ("agree", "not_sure", "disagree")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def natural_id(*parts) -> str:
    return str(uuid.uuid5(NS, ":".join(str(p) for p in parts)))


# ---------------------------------------------------------------- the app under gunicorn


class AppServer:
    """WithUs under gunicorn, in its own process group so a crash takes every worker."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        *,
        workers: int = 2,
        threads: int = 4,
        extra_env: dict | None = None,
        gunicorn_args: tuple = (),
    ):
        self.workdir = Path(workdir)
        self.database_url = database_url
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.extra_env = extra_env or {}
        self.gunicorn_args = tuple(gunicorn_args)
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "gunicorn.log"
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            WITHUS_INSTANCE_PATH=str(self.workdir / "instance"),
            DATABASE_URL=self.database_url,
            WITHUS_ENV="development",
            FLASK_APP="server",
            SECRET_KEY="reliability-tests",
        )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        """Migrate the database and add the demo data (the demo join code, staff)."""
        for args in (["db", "upgrade"], ["seed-demo"]):
            done = subprocess.run(
                [str(VENV_BIN / "flask"), *args], env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=120
            )
            if done.returncode != 0:
                raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")

    def start(self, timeout: float = 90) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "2",
                *self.gunicorn_args,
                "server:create_app()",
            ],
            env=self.env(),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.log_tail())
            try:
                status, _, _ = request("GET", self.url + "/healthz", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("WithUs did not answer on " + self.url + ": " + self.log_tail())

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash would."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
        self._close_log()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
            except ProcessLookupError:
                pass
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


# ---------------------------------------------------------------- a private PostgreSQL


def pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: install postgresql.")
    return found[-1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp dir, on its own port, run as the postgres user.

    Never touches the machine's shared server on 5432.
    """

    def __init__(self):
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="withus-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "postgres.log"
        self.running = False

    def _as_postgres(self, *args, check=True, timeout=120):
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout[-1000:]} {done.stderr[-1000:]}")
        return done

    def init(self) -> None:
        entry = pwd.getpwnam("postgres")
        self.sockets.mkdir()
        for path in (self.root, self.sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        self._as_postgres(
            pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"
        )
        self.start()
        engine = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text('CREATE DATABASE "withus"'))
        finally:
            engine.dispose()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        self._as_postgres(
            pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )
        self.running = True

    def stop(self, mode: str = "immediate") -> None:
        self._as_postgres(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        self.running = False

    def url(self, database: str = "withus") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        try:
            if self.data.exists():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- a proxy that loses answers


class DroppingProxy:
    """Forwards one request per connection to the app; while ``drop`` > 0 it lets the app
    answer (so the push has committed) but closes the client's connection unanswered."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.drop = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            request_bytes = _read_http_message(client)
            upstream.sendall(request_bytes)
            answer = _read_http_message(upstream)
            with self._lock:
                lose = self.drop > 0
                if lose:
                    self.drop -= 1
                    self.dropped += 1
            if lose:
                # The app has answered, so it committed: the client never hears of it.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            client.sendall(answer)

    def close(self) -> None:
        self._stopping.set()
        self._server.close()
        self._thread.join(5)


def _read_http_message(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


# ---------------------------------------------------------------- HTTP and devices


def request(
    method: str,
    url: str,
    body=None,
    token: str | None = None,
    timeout: float = 30,
    conn: http.client.HTTPConnection | None = None,
):
    """One HTTP request; returns (status, headers dict lower-cased, parsed JSON or None)."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    headers = {"Connection": "close"} if conn is None else {}
    payload = None
    if body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    own = conn is None
    conn = conn or http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, "/" + path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        if own:
            conn.close()
    parsed = None
    if raw and answer_headers.get("content-type", "").startswith("application/json"):
        parsed = json.loads(raw)
    return response.status, answer_headers, parsed


def issue_participant_tokens(database_url: str, workdir: Path, count: int) -> list[dict]:
    """Make ``count`` participant devices in the demo project straight in the database."""
    code = (
        "import json, sys, uuid\n"
        "from server import create_app\n"
        "from server.demo import DEMO_PROJECT_ID\n"
        "from server.auth.devices import PARTICIPANT, issue_device\n"
        "from server.extensions import db\n"
        "app = create_app()\n"
        "out = []\n"
        "with app.app_context():\n"
        f"    for _ in range({int(count)}):\n"
        "        pid = str(uuid.uuid4())\n"
        "        _, token = issue_device(kind=PARTICIPANT, participant_id=pid,"
        " project_id=DEMO_PROJECT_ID, label='load')\n"
        "        out.append({'token': token, 'participant_id': pid,"
        " 'project_id': DEMO_PROJECT_ID})\n"
        "    db.session.commit()\n"
        "json.dump(out, sys.stdout)\n"
    )
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        WITHUS_INSTANCE_PATH=str(workdir / "instance"),
        WITHUS_ENV="development",
        SECRET_KEY="reliability-tests",
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError("issuing tokens failed: " + done.stderr[-2000:])
    return json.loads(done.stdout)


def statement_ids(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = sa.text('SELECT id FROM statements ORDER BY "order"')
            return list(conn.execute(query).scalars())
    finally:
        engine.dispose()


class SimDevice:
    """A participant's phone: its token, its own HLC, and what it believes it has stored."""

    def __init__(
        self, base_url: str, token: str, participant_id: str, project_id: str, statements: list[str], seed: int = 0
    ):
        self.base_url = base_url
        self.token = token
        self.participant_id = participant_id
        self.project_id = project_id
        self.statements = statements
        self.clock = Clock(new_node_id())
        self.made: dict[str, dict] = {}  # record id -> final field values it wrote
        self.types: dict[str, str] = {}
        self.seq = seed
        self.started = False

    def _record(self, rtype: str, rid: str, values: dict) -> dict:
        stamp = self.clock.tick()
        return {
            "type": rtype,
            "id": rid,
            "deleted": None,
            "fields": {k: {"v": v, "t": stamp} for k, v in values.items()},
        }

    def batch(self, size: int) -> list[dict]:
        """New feedback and (re)answered checklist statements; remembers the final values."""
        records = []
        if not self.started:
            records.append(
                self._record(
                    "participant",
                    self.participant_id,
                    {"project_id": self.project_id, "role": "parent_carer", "age_band": "26_or_over"},
                )
            )
        while len(records) < size:
            self.seq += 1
            if self.seq % 2:
                rid = str(uuid.uuid4())
                values = {
                    "participant_id": self.participant_id,
                    "project_id": self.project_id,
                    "stage": "design",
                    "text": f"note {self.seq}",
                    "mode": "self",
                }
                rtype = "feedback"
            else:
                statement = self.statements[self.seq % len(self.statements)]
                stage = STAGES[(self.seq // len(self.statements)) % len(STAGES)]
                rid = natural_id("checklist_answer", self.participant_id, self.project_id, stage, statement)
                values = {
                    "participant_id": self.participant_id,
                    "project_id": self.project_id,
                    "stage": stage,
                    "statement_id": statement,
                    "value": VALUES[self.seq % 3],
                    "mode": "self",
                    "comment": f"try {self.seq}",
                }
                rtype = "checklist_answer"
            records.append(self._record(rtype, rid, values))
        return records

    def remember(self, records: list[dict]) -> None:
        """After a 200: what the server must now hold (later writes override earlier ones)."""
        self.started = True
        for record in records:
            values = {k: reg["v"] for k, reg in record["fields"].items()}
            self.made.setdefault(record["id"], {}).update(values)
            self.types[record["id"]] = record["type"]

    def push(self, records: list[dict], timeout: float = 30, conn=None):
        status, headers, body = request(
            "POST",
            self.base_url + "/api/sync/push",
            {"schema": 1, "records": records},
            self.token,
            timeout=timeout,
            conn=conn,
        )
        if status == 200:
            self.clock.receive(body["server_hlc"])
        return status, headers, body

    def push_until_ok(self, records: list[dict], deadline: float, on_answer=None) -> dict:
        """Send the batch until the server answers 200, backing off on any failure."""
        delay = 0.05
        while True:
            try:
                status, headers, body = self.push(records, timeout=10)
            except (OSError, http.client.HTTPException) as err:
                status, headers, body = None, {}, {"exception": repr(err)}
            if on_answer is not None:
                on_answer(status, headers, body)
            if status == 200:
                self.remember(records)
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"no 200 before the deadline: last {status} {body}")
            wait = delay
            if status in (429, 503) and headers.get("retry-after", "").isdigit():
                wait = min(float(headers["retry-after"]), 0.5)
            time.sleep(wait)
            delay = min(delay * 2, 0.5)


def stored_records(database_url: str) -> dict[str, tuple[str, dict, str | None]]:
    """sync_records as {id: (type, {field: value}, deleted)}."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, type, fields, deleted FROM sync_records")).all()
    finally:
        engine.dispose()
    return {
        rid: (rtype, {k: reg["v"] for k, reg in json.loads(fields).items()}, deleted)
        for rid, rtype, fields, deleted in rows
    }


def projection_counts(database_url: str, participant_ids: list[str]) -> dict[str, int]:
    """Rows per projection table for these participants (a doubled record shows here)."""
    engine = sa.create_engine(database_url)
    out = {}
    try:
        with engine.connect() as conn:
            for table in ("feedback", "checklist_answers", "participants"):
                column = "id" if table == "participants" else "participant_id"
                total = 0
                for start in range(0, len(participant_ids), 500):
                    chunk = participant_ids[start : start + 500]
                    total += conn.execute(
                        sa.text(f"SELECT count(*) FROM {table} WHERE {column} IN :ids").bindparams(
                            sa.bindparam("ids", expanding=True)
                        ),
                        {"ids": chunk},
                    ).scalar()
                out[table] = total
            out["change_no_duplicates"] = conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT change_no FROM sync_records GROUP BY change_no HAVING count(*) > 1) d"
                )
            ).scalar()
    finally:
        engine.dispose()
    return out


def reconcile(devices: list[SimDevice], database_url: str) -> dict:
    """Compare what the devices made with what the server stored."""
    stored = stored_records(database_url)
    made = lost = wrong = 0
    for device in devices:
        for rid, values in device.made.items():
            made += 1
            row = stored.get(rid)
            if row is None:
                lost += 1
                continue
            rtype, fields, deleted = row
            if rtype != device.types[rid] or deleted is not None or any(fields.get(k) != v for k, v in values.items()):
                wrong += 1
    pids = [d.participant_id for d in devices]
    counts = projection_counts(database_url, pids)
    expected = {
        "feedback": sum(1 for d in devices for t in d.types.values() if t == "feedback"),
        "checklist_answers": sum(1 for d in devices for t in d.types.values() if t == "checklist_answer"),
        "participants": sum(1 for d in devices if d.started),
    }
    doubled = sum(max(0, counts[t] - expected[t]) for t in expected)
    doubled += counts["change_no_duplicates"]
    missing_rows = sum(max(0, expected[t] - counts[t]) for t in expected)
    ours = set(pids)
    device_rows = sum(
        1
        for rid, row in stored.items()
        if (row[0] == "participant" and rid in ours)
        or (row[0] != "participant" and row[1].get("participant_id") in ours)
    )
    return {
        "made": made,
        "stored": device_rows,
        "lost": lost,
        "wrong": wrong,
        "doubled": doubled,
        "missing_projection_rows": missing_rows,
        "projections": counts,
        "expected_projections": expected,
    }
