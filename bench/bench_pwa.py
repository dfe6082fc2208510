"""Benchmark the installable app: shell size, offline start, draining a big outbox.

Run: ``.venv/bin/python -m bench.bench_pwa`` (needs Debian's chromium, like the browser tests).

(a) the app shell's gzipped size with English only: every file the service worker precaches
    except other languages' catalogues, which load only when chosen (target ≤ 40 KB);
(b) offline start: a reload with the network cut, from navigation start to an interactive
    checklist question (the app's ``screen:checklist`` performance mark; target < 300 ms);
(c) 1,000 entries queued offline drained against the real server under gunicorn (target < 10 s);
(d) Lighthouse (npm ``lighthouse`` in tests/node), mobile, on /app/ in the tests' Chromium
    with the browser tests' flags: performance, accessibility, best practices, SEO
    (target 100 each).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from server.pwa import PWA_DIR, precache
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer

SHELL_TARGET_KB = 40
START_TARGET_MS = 300
DRAIN_TARGET_S = 10
LIGHTHOUSE = Path(__file__).resolve().parents[1] / "tests" / "node" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def shell_size() -> dict:
    """Gzipped bytes of every precached file (code alone, and with the icons)."""
    code = icons = 0
    for url, _hash in precache()[0]:
        rel = "index.html" if url == "/app/" else url.removeprefix("/app/")
        if rel.startswith("js/i18n/") and rel != "js/i18n/en.js":
            continue  # another language's strings: loaded only when chosen
        size = len(gzip.compress((PWA_DIR / rel).read_bytes(), compresslevel=9))
        if rel.endswith(".png"):
            icons += size
        else:
            code += size
    sw = (PWA_DIR / "sw.js").read_bytes()
    code += len(gzip.compress(sw, compresslevel=9))
    return {"code_kb": code / 1024, "total_kb": (code + icons) / 1024}


def lighthouse(url: str) -> dict[str, int]:
    """Lighthouse scores (0-100) for url, mobile, in Debian's Chromium with the tests' flags."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        subprocess.run(
            [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
             f"--chrome-flags={flags}", "--form-factor=mobile",
             "--only-categories=" + ",".join(CATEGORIES)],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=True,
            timeout=300,
        )
        report = json.loads(out.read_text())
    return {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}


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
            if LIGHTHOUSE.exists():
                scores = lighthouse(f"{server.url}/app/")
                print(
                    "(d) Lighthouse mobile on /app/: "
                    + ", ".join(f"{c} {s}" for c, s in scores.items())
                    + " (target 100 each)"
                    + ("" if all(s == 100 for s in scores.values()) else " MISSED")
                )
            else:
                print("(d) Lighthouse not installed: run npm ci in tests/node (target 100 each) MISSED")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
