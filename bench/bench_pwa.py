"""Benchmark the installable app: shell size, offline start, draining a big outbox.

Run: ``.venv/bin/python -m bench.bench_pwa`` (needs Debian's chromium, like the browser tests).

(a) the app shell's total gzipped size: every file the service worker precaches (target ≤ 60 KB);
(b) offline start: a reload with the network cut, from navigation start to an interactive
    checklist question (the app's ``screen:checklist`` performance mark; target < 500 ms);
(c) 1,000 entries queued offline drained against the real server under gunicorn (target < 10 s).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from pathlib import Path

from server.pwa import PWA_DIR, precache
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer

SHELL_TARGET_KB = 60
START_TARGET_MS = 500
DRAIN_TARGET_S = 10


def shell_size() -> dict:
    """Gzipped bytes of every precached file (code alone, and with the icons)."""
    code = icons = 0
    for url, _hash in precache()[0]:
        rel = "index.html" if url == "/app/" else url.removeprefix("/app/")
        size = len(gzip.compress((PWA_DIR / rel).read_bytes(), compresslevel=9))
        if rel.endswith(".png"):
            icons += size
        else:
            code += size
    sw = (PWA_DIR / "sw.js").read_bytes()
    code += len(gzip.compress(sw, compresslevel=9))
    return {"code_kb": code / 1024, "total_kb": (code + icons) / 1024}


def join(page, server: LiveServer) -> None:
    page.goto(f"{server.url}/app/#/join/{server.join_code}")
    page.wait_for_selector("html[data-ready]")
    page.get_by_role("button", name="Join", exact=True).click()
    page.get_by_role("radio", name="A young person", exact=True).check()
    page.get_by_role("radio", name="13 to 17", exact=True).check()
    page.get_by_role("button", name="Yes, I agree").click()
    page.get_by_role("link", name="Answer the questions").wait_for(timeout=15_000)


def offline_start(browser, server: LiveServer, runs: int) -> list[float]:
    """Milliseconds from navigation start to the first checklist question, offline."""
    context = browser.new_context()
    page = context.new_page()
    join(page, server)
    page.goto(f"{server.url}/app/#/checklist/1")
    page.wait_for_selector("input[name=value]")
    while not page.evaluate("navigator.serviceWorker.controller !== null"):
        time.sleep(0.05)
    context.set_offline(True)
    times = []
    for _ in range(runs):
        page.reload()
        page.wait_for_selector("input[name=value]")
        times.append(page.evaluate("performance.getEntriesByName('screen:checklist')[0].startTime"))
    context.close()
    return times


def drain(browser, server: LiveServer, entries: int) -> float:
    """Seconds to push `entries` feedback records queued offline, once back online."""
    context = browser.new_context()
    page = context.new_page()
    join(page, server)
    page.evaluate("async () => (await import('/app/js/sync.js')).syncNow()")
    context.set_offline(True)
    page.evaluate(
        """async (n) => {
            const s = await import('/app/js/storage.js');
            const ids = await import('/app/js/ids.js');
            const me = await s.getMeta('session');
            for (let i = 0; i < n; i += 100) {
                await s.write(Array.from({length: Math.min(100, n - i)}, (_, j) => ({
                    type: 'feedback', id: ids.uuid7(), values: {
                        participant_id: me.participant_id, project_id: me.project_id,
                        stage: 'design',
                        text: `Queued entry ${i + j}: the new form was easier to fill in.`,
                        principle: null, mode: 'self', recorded_by: null}})));
            }
        }""",
        entries,
    )
    queued = page.evaluate(
        "async () => (await (await import('/app/js/storage.js')).outboxStats()).count"
    )
    assert queued == entries, queued
    context.set_offline(False)
    started = time.perf_counter()
    page.evaluate("async () => (await import('/app/js/sync.js')).syncNow()")
    elapsed = time.perf_counter() - started
    stats = page.evaluate("async () => (await import('/app/js/storage.js')).outboxStats()")
    context.close()
    assert stats["count"] == 0 and stats["rejected"] == 0, stats
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="offline starts to time")
    parser.add_argument("--entries", type=int, default=1000, help="entries to drain")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    size = shell_size()
    print(
        f"(a) app shell gzipped: {size['code_kb']:.1f} KB code, {size['total_kb']:.1f} KB "
        f"with icons (target ≤ {SHELL_TARGET_KB} KB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp))
        server.prepare()
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                times = offline_start(browser, server, args.runs)
                median = statistics.median(times)
                print(
                    f"(b) offline start to interactive checklist: median {median:.0f} ms, "
                    f"max {max(times):.0f} ms over {len(times)} reloads "
                    f"(target < {START_TARGET_MS} ms)"
                )
                seconds = drain(browser, server, args.entries)
                print(
                    f"(c) {args.entries} queued entries drained in {seconds:.2f} s "
                    f"({args.entries / seconds:.0f}/s; target < {DRAIN_TARGET_S} s)"
                )
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
