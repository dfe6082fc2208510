"""Browser tests: the real app under gunicorn on 127.0.0.1, driven in Debian's Chromium."""

import json
from pathlib import Path

import pytest

from tests.reliability.harness import AppServer

ROOT = Path(__file__).resolve().parents[2]
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


class LiveServer(AppServer):
    """WithUs served by gunicorn from a fresh SQLite database with the demo data."""

    join_code = "KIND-RIVER"
    password = "withus-demo-2026"

    def __init__(self, workdir: Path, extra_env: dict | None = None):
        workdir = Path(workdir)
        # Every browser test joins from 127.0.0.1; the limits have their own tests.
        env = {"RATELIMIT_ENABLED": "0", **(extra_env or {})}
        super().__init__(workdir, f"sqlite:///{workdir / 'withus.sqlite'}", workers=1, threads=8, extra_env=env)

    @property
    def db_path(self) -> Path:
        return self.workdir / "withus.sqlite"

    def __str__(self) -> str:
        return self.url

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
