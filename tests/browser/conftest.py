"""Browser tests: the real app under gunicorn on 127.0.0.1, driven in Debian's Chromium."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
AXE_JS = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """WithUs served by gunicorn from a fresh SQLite database with the demo data."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    join_code: str = "KIND-RIVER"
    password: str = "withus-demo-2026"
    extra_env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "withus.sqlite"

    def __str__(self) -> str:
        return self.url

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            WITHUS_INSTANCE_PATH=str(self.workdir),
            DATABASE_URL=f"sqlite:///{self.db_path}",
            WITHUS_ENV="development",
            FLASK_APP="server",
            # Every browser test joins from 127.0.0.1; the limits have their own tests.
            RATELIMIT_ENABLED="0",
        )
        env.update(self.extra_env)
        return env

    def prepare(self) -> None:
        for args in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([str(VENV_BIN / "flask"), *args], env=self.env(), cwd=ROOT, check=True, capture_output=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                "1",
                "--threads",
                "8",
                "--bind",
                f"127.0.0.1:{self.port}",
                "server:create_app()",
            ],
            env=self.env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Its own process group, so a crash can take the master and its worker together.
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stderr.read().decode()[-2000:]
                raise RuntimeError("gunicorn exited: " + output)
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if json.load(response)["status"] == "ok":
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("WithUs did not answer on " + self.url)

    def kill(self) -> None:
        """Kill the server at once, master and worker, as a machine crash would (SIGKILL).

        Killing only the master left its worker holding the port until it noticed,
        so a quick restart could fail with "address already in use".
        """
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.process and self.process.stderr:
            self.process.stderr.close()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"))
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own, so stalling or killing it disturbs no other test."""
    server = LiveServer(tmp_path)
    server.prepare()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is missing: run bin/test, which installs it.")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-GB")
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


def axe_violations(page) -> list[dict]:
    """Run axe-core on the page and return its violations."""
    # Evaluated, not added as a <script>: the strict CSP would rightly block an injected script.
    page.evaluate(AXE_JS.read_text())
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
    )


def assert_no_axe_violations(page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, indent=2)


@pytest.fixture(name="assert_no_axe_violations")
def assert_no_axe_violations_fixture():
    return assert_no_axe_violations
