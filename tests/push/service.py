"""The local Web Push service (npm ``web-push-testing``) that the push tests send to.

It accepts encrypted pushes like a real push service, decrypts them with the
subscription's private key and hands the plaintext back on request. A missing
or failing service fails the tests; it never skips them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
BIN = NODE_DIR / "node_modules" / ".bin" / "web-push-testing"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict | None = None, timeout: float = 5.0) -> tuple[int, dict | None]:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw.strip().startswith(b"{") else None)
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, (json.loads(raw) if raw.strip().startswith(b"{") else None)


class PushService:
    """A running web-push-testing server on a free port, started with its own CLI."""

    def __init__(self, workdir: Path):
        if not BIN.exists():
            raise RuntimeError(f"{BIN} is missing: run `cd tests/node && npm ci` (the push tests need it).")
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://localhost:{self.port}"
        self.pid: int | None = None

    def _cli(self, command: str) -> subprocess.CompletedProcess:
        # The CLI keeps the server's pid in .node-persist under its working folder, private to this run.
        return subprocess.run(
            [str(BIN), "--port", str(self.port), command],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self) -> PushService:
        result = self._cli("start")
        if result.returncode != 0:
            raise RuntimeError(f"web-push-testing did not start: {result.stdout} {result.stderr}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if _post(self.base + "/status", timeout=1)[0] == 200:
                    self.pid = self._stored_pid()
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"web-push-testing did not answer on port {self.port}")

    def _stored_pid(self) -> int | None:
        storage = self.workdir / ".node-persist" / "storage"
        for path in storage.glob("*") if storage.exists() else []:
            try:
                item = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if item.get("key") == "processData":
                pid = item.get("value", {}).get(str(self.port))
                return int(pid) if pid else None
        return None

    def stop(self) -> None:
        if not self.pid:
            self._cli("stop")
            return
        # We started it and know its pid: end it directly (the CLI's stop is slow).
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if self.pid:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- the service's test API -------------------------------------------------------

    def subscribe(self, application_server_key: str) -> dict:
        """A new subscription, as a browser's PushSubscription.toJSON() plus its clientHash."""
        status, body = _post(self.base + "/subscribe", {"applicationServerKey": application_server_key})
        assert status == 200, body
        return body["data"]

    def messages(self, client_hash: str) -> list[dict]:
        """The decrypted payloads this subscription received, parsed as JSON."""
        status, body = _post(self.base + "/get-notifications", {"clientHash": client_hash})
        assert status == 200, body
        return [json.loads(message) for message in body["data"]["messages"]]

    def expire(self, client_hash: str) -> None:
        status, body = _post(self.base + f"/expire-subscription/{client_hash}")
        assert status == 200, body
