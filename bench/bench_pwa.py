"""Benchmark the installable app: shell size, offline start, draining a big outbox.

Run: ``.venv/bin/python -m bench.bench_pwa`` (needs Debian's chromium, like the browser tests).

(a) the app shell's gzipped size with English only: every file the service worker caches
    when it installs (index.html, what it links, app.js and its static imports) as the server
    sends them (minified), plus the service worker and its own imports (target ≤ 40 KB).
    Screens opened rarely, other languages and the PNG icons load on demand, outside it;
(b) offline start: a reload with the network cut, from navigation start to an interactive
    checklist question (the app's ``screen:checklist`` performance mark; target < 300 ms);
(c) 1,000 entries queued offline drained against the real server under gunicorn (target < 10 s);
(d) Lighthouse (npm ``lighthouse`` in tests/node), mobile, on /app/ in the tests' Chromium
    with the browser tests' flags: performance, accessibility, best practices, SEO
    (target 100 each), and each scored audit that costs points. Lighthouse runs three times
    and the run with the median performance score counts, as Lighthouse's own docs advise
    against one run's variance (on a busy machine one run's blocking time swings widely);
    every run's scores are printed.
Each target is also printed as a line "target ...: met" or "...: MISSED" (bin/bench greps them).
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

from server import pwa
from server.pwa import PWA_DIR
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer

SHELL_TARGET_KB = 40
START_TARGET_MS = 300
DRAIN_TARGET_S = 10
LIGHTHOUSE = Path(__file__).resolve().parents[1] / "tests" / "node" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def gzipped(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9))


def shell_size() -> dict:
    """Gzipped bytes of the shell as served, and of what loads on demand (code and icons)."""
    current = pwa.build()
    worker = pwa.static_imports("sw.js") - set(current.shell)
    shell = gzipped(current.index.encode()) + sum(
        gzipped(pwa.minified(rel, (PWA_DIR / rel).read_bytes()))
        for rel in [*(r for r in current.shell if r != "index.html"), *worker]
    )
    later = {"code": 0, "icons": 0}
    for rel in set(current.later) - worker:
        kind = "icons" if rel.endswith(".png") else "code"
        later[kind] += gzipped(pwa.minified(rel, (PWA_DIR / rel).read_bytes()))
    return {
        "shell_kb": shell / 1024,
        "later_code_kb": later["code"] / 1024,
        "icons_kb": later["icons"] / 1024,
    }


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def lighthouse(url: str, keep: Path | None = None) -> tuple[dict[str, int], list[str]]:
    """Lighthouse scores (0-100) for url, mobile, in Debian's Chromium with the tests' flags,
    and what costs points: each scored audit below 1, with its value."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    with tempfile.TemporaryDirectory() as tmp:
        out = keep or Path(tmp) / "report.json"
        subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                "--quiet",
                "--output=json",
                f"--output-path={out}",
                f"--chrome-flags={flags}",
                "--form-factor=mobile",
                "--only-categories=" + ",".join(CATEGORIES),
            ],
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            check=True,
            timeout=300,
        )
        report = json.loads(out.read_text())
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    costs = []
    for category in CATEGORIES:
        for ref in report["categories"][category]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] and audit.get("score") is not None and audit["score"] < 1:
                costs.append(f"{category}: {audit['title']} ({audit.get('displayValue', audit['score'])})")
    return scores, costs


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
    queued = page.evaluate("async () => (await (await import('/app/js/storage.js')).outboxStats()).count")
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
    parser.add_argument("--lighthouse-report", type=Path, help="keep the first Lighthouse JSON report here")
    parser.add_argument("--lighthouse-runs", type=int, default=3, help="Lighthouse runs (the median counts)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    size = shell_size()
    print(
        f"(a) app shell gzipped: {size['shell_kb']:.1f} KB (English only, minified as served); "
        f"on demand: {size['later_code_kb']:.1f} KB code, {size['icons_kb']:.1f} KB icons"
    )
    print(
        f"target app shell <= {SHELL_TARGET_KB} KB gzipped: {size['shell_kb']:.1f} KB: "
        + verdict(size["shell_kb"] <= SHELL_TARGET_KB)
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
                    f"max {max(times):.0f} ms over {len(times)} reloads"
                )
                print(
                    f"target offline start < {START_TARGET_MS} ms median: {median:.0f} ms: "
                    + verdict(median < START_TARGET_MS)
                )
                seconds = drain(browser, server, args.entries)
                print(f"(c) {args.entries} queued entries drained in {seconds:.2f} s ({args.entries / seconds:.0f}/s)")
                print(
                    f"target {args.entries} entries drained < {DRAIN_TARGET_S} s: {seconds:.2f} s: "
                    + verdict(seconds < DRAIN_TARGET_S)
                )
                browser.close()
            if LIGHTHOUSE.exists():
                runs = []
                for n in range(args.lighthouse_runs):
                    keep = args.lighthouse_report if n == 0 else None
                    runs.append(lighthouse(f"{server.url}/app/", keep))
                    print(f"    Lighthouse run {n + 1}: " + "/".join(str(s) for s in runs[-1][0].values()))
                runs.sort(key=lambda run: run[0]["performance"])
                scores, costs = runs[len(runs) // 2]
                print(
                    f"(d) Lighthouse mobile on /app/ (median of {len(runs)} runs): "
                    + ", ".join(f"{c} {s}" for c, s in scores.items())
                )
                for line in costs:
                    print(f"    costs points: {line}")
                print(
                    "target Lighthouse 100/100/100/100: "
                    + "/".join(str(s) for s in scores.values())
                    + ": "
                    + verdict(all(s == 100 for s in scores.values()))
                )
            else:
                print("target Lighthouse 100/100/100/100: not installed (npm ci in tests/node): MISSED")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
