"""Faults with real processes: a crashed server, a lost answer, a database that goes away.

Each test runs gunicorn on 127.0.0.1 (a free port) against a fresh database and drives
several simulated devices speaking sync-protocol.md over HTTP. Whatever happens, every
record a device made must end up on the server exactly once with its final values:
the devices resend a batch until they get a 200, and resending changes nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from tests.backends import BACKENDS, create_pg_database, drop_pg_database
from tests.reliability.harness import (
    AppServer,
    DroppingProxy,
    PrivatePostgres,
    SimDevice,
    issue_participant_tokens,
    reconcile,
    request,
    statement_ids,
)


@contextlib.contextmanager
def app_server(backend: str, workdir, **kwargs):
    """gunicorn on a fresh, migrated database with the demo data; stopped and dropped after."""
    url = create_pg_database() if backend == "postgresql" else f"sqlite:///{workdir}/withus.sqlite"
    server = AppServer(workdir, url, **kwargs)
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()
        if backend == "postgresql":
            drop_pg_database(url)


def make_devices(server: AppServer, count: int, base_url: str | None = None) -> list[SimDevice]:
    creds = issue_participant_tokens(server.database_url, server.workdir, count)
    statements = statement_ids(server.database_url)
    return [
        SimDevice(base_url or server.url, c["token"], c["participant_id"], c["project_id"], statements, seed=i * 1000)
        for i, c in enumerate(creds)
    ]


def pull_ids(device: SimDevice) -> set[str]:
    cursor, ids = 0, set()
    while True:
        url = f"{device.base_url}/api/sync/pull?cursor={cursor}&limit=1000"
        status, _, body = request("GET", url, token=device.token)
        assert status == 200, body
        ids.update(r["id"] for r in body["records"] if r["deleted"] is None)
        cursor = body["cursor"]
        if not body["more"]:
            return ids


def assert_exactly_once(devices: list[SimDevice], database_url: str) -> dict:
    result = reconcile(devices, database_url)
    assert result["made"] > 0
    assert result["lost"] == 0, result
    assert result["wrong"] == 0, result
    assert result["doubled"] == 0, result
    assert result["missing_projection_rows"] == 0, result
    assert result["stored"] == result["made"], result
    for device in devices:
        assert set(device.made) <= pull_ids(device)
    return result


def wait_until(condition, seconds: float) -> None:
    """Poll ``condition`` until it holds; fail when ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


class Stream:
    """Devices pushing batches in threads, each resending a batch until it gets a 200."""

    def __init__(self, devices, batches: int, size: int, timeout: float = 120):
        self.devices = devices
        self.batches = batches
        self.size = size
        self.deadline = time.monotonic() + timeout
        self.ok = 0
        self.answers: list[tuple[float, int | None, dict, dict | None]] = []
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(d,), daemon=True) for d in devices]

    def _on_answer(self, status, headers, body):
        with self._lock:
            self.answers.append((time.monotonic(), status, headers, body))
            if status == 200:
                self.ok += 1

    def _run(self, device: SimDevice) -> None:
        try:
            for _ in range(self.batches):
                records = device.batch(self.size)
                body = device.push_until_ok(records, self.deadline, self._on_answer)
                statuses = {r["status"] for r in body["results"]}
                assert statuses <= {"applied", "unchanged"}, body["results"]
        except BaseException as err:  # noqa: BLE001  (reported by join)
            self.errors.append(err)

    def start(self) -> Stream:
        for thread in self._threads:
            thread.start()
        return self

    def wait_for_ok(self, count: int, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while self.ok < count:
            assert time.monotonic() < end, f"only {self.ok} pushes answered 200"
            assert not self.errors, self.errors
            time.sleep(0.01)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(max(1, self.deadline - time.monotonic() + 5))
        assert not any(t.is_alive() for t in self._threads), "a device never got its 200"
        if self.errors:
            raise self.errors[0]


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_mid_stream_loses_and_doubles_nothing(backend, tmp_path):
    """(a) gunicorn SIGKILLed twice while six devices push; restarted; clients retry."""
    with app_server(backend, tmp_path, workers=2, threads=4) as server:
        devices = make_devices(server, 6)
        stream = Stream(devices, batches=10, size=20).start()
        try:
            for kill_at in (8, 30):
                stream.wait_for_ok(kill_at)
                server.kill()
                killed = time.monotonic()
                # Restart only once a client has met the closed port (polled, not slept).
                wait_until(lambda at=killed: any(a[0] >= at and a[1] is None for a in stream.answers), 10)
                server.start()
        finally:
            stream.join()
        failures = [a for a in stream.answers if a[1] != 200]
        assert failures, "the kills met no push in flight: the test proved nothing"
        # A dead server is a refused or cut connection, never a 500 after the restart.
        assert {a[1] for a in failures} <= {None, 503}, [a[1:] for a in failures if a[1]]
        assert_exactly_once(devices, server.database_url)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_lost_answer_resend_is_unchanged(backend, tmp_path):
    """(b) The app commits, the connection drops before the client reads the answer."""
    with app_server(backend, tmp_path, workers=1, threads=4) as server:
        proxy = DroppingProxy(server.port)
        try:
            devices = make_devices(server, 3, base_url=proxy.url)
            for device in devices:
                for n in range(4):
                    records = device.batch(15)
                    proxy.drop = 1 if n % 2 == 0 else 0
                    with pytest.raises((OSError, ConnectionError)) if proxy.drop else contextlib.nullcontext():
                        status, _, body = device.push(records, timeout=10)
                        if not proxy.drop:
                            assert status == 200, body
                            assert {r["status"] for r in body["results"]} == {"applied"}
                            device.remember(records)
                            continue
                    # The client never heard: it resends the same batch.
                    status, _, body = device.push(records, timeout=10)
                    assert status == 200, body
                    assert [r["status"] for r in body["results"]] == ["unchanged"] * len(records)
                    assert [r["id"] for r in body["results"]] == [r["id"] for r in records]
                    device.remember(records)
            assert proxy.dropped == 6
            assert_exactly_once(devices, server.database_url)
        finally:
            proxy.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_postgres_stopped_mid_push_answers_503_then_recovers(tmp_path):
    """(c) A private PostgreSQL stopped (immediate) under a push stream, then started."""
    pg = PrivatePostgres()
    server = None
    try:
        pg.init()
        server = AppServer(tmp_path, pg.url(), workers=2, threads=4)
        server.prepare()
        server.start()
        devices = make_devices(server, 4)
        stream = Stream(devices, batches=12, size=20, timeout=150).start()
        down_since = up_at = None
        try:
            stream.wait_for_ok(10)
            pg.stop("immediate")
            down_since = time.monotonic()
            # The API keeps answering while the database is away: 503 with Retry-After.
            end = time.monotonic() + 20
            while not any(a[1] == 503 for a in stream.answers if a[0] >= down_since):
                assert time.monotonic() < end, "no 503 while PostgreSQL was down"
                time.sleep(0.05)
            status, headers, body = request("GET", server.url + "/healthz")
            assert status == 503, body
            # Keep the database away until several pushes have been told to come back later.
            wait_until(lambda: sum(a[1] == 503 for a in stream.answers if a[0] >= down_since) >= 3, 20)
        finally:
            if not pg.running:
                up_at = time.monotonic()
                pg.start()
            stream.join()
        during = [a for a in stream.answers if down_since <= a[0] <= up_at]
        # gunicorn stays up throughout: every answer, during the outage or after, is 200 or 503.
        statuses = {a[1] for a in stream.answers}
        assert statuses <= {200, 503}, [a[1:] for a in stream.answers if a[1] not in (200, 503)][:3]
        for _, status, headers, body in during:
            if status == 503:
                assert headers.get("retry-after", "").isdigit(), headers
                assert set(body["error"]) == {"code", "message", "field"}, body
        # Only the pushes already past their database work may still have finished.
        assert sum(1 for a in during if a[1] == 503) >= 1
        assert_exactly_once(devices, server.database_url)
    finally:
        if server is not None:
            server.stop()
        pg.destroy()
