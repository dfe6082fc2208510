"""The app's pure modules (hlc, ids, records) run in Chromium and agree with the server's."""

import random
import uuid

import pytest

from sync.hlc import Clock

pytestmark = pytest.mark.browser

NS = uuid.UUID("5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20")
NODE = "0123456789abcdef"


@pytest.fixture
def app_page(page, live_server):
    page.goto(live_server.url + "/app/#/welcome")
    page.wait_for_selector("html[data-ready]")
    return page


def test_hlc_matches_the_servers_clock_step_for_step(app_page):
    rng = random.Random(7)
    ops, now = [], 1_764_147_600_000
    for _ in range(300):
        now += rng.choice([-5000, -1, 0, 0, 0, 1, 3, 2000])  # the wall clock also goes back
        if rng.random() < 0.3:
            remote = f"{now + rng.randint(-3000, 3000):013d}-{rng.randint(0, 3):04x}-{'f' * 16}"
            ops.append(["receive", now, remote])
        else:
            ops.append(["tick", now, None])
    js = app_page.evaluate(
        """async ([ops, node]) => {
            const hlc = await import('/app/js/hlc.js');
            let state = hlc.initial(node);
            const out = [];
            for (const [op, now, remote] of ops) {
                if (op === 'tick') { const [s, t] = hlc.tick(state, now); state = s; out.push(t); }
                else { state = hlc.receive(state, remote, now); out.push(state.last); }
            }
            return out;
        }""",
        [ops, NODE],
    )
    clock_now = [0]
    clock = Clock(NODE, now_ms=lambda: clock_now[0])
    py = []
    for op, at, remote in ops:
        clock_now[0] = at
        py.append(clock.tick() if op == "tick" else clock.receive(remote))
    assert js == py
    assert all(a < b for a, b in zip(js, js[1:], strict=False))  # strictly increasing


def test_ids_match_pythons_uuid5_and_uuid7_layout(app_page):
    names = [f"checklist_answer:{uuid.uuid4()}:{uuid.uuid4()}:design:{uuid.uuid4()}" for _ in range(5)]
    names.append("consent:ä-ü:ünïcode")
    got = app_page.evaluate(
        """async (names) => {
            const ids = await import('/app/js/ids.js');
            return {v5: await Promise.all(names.map((n) => ids.uuid5(n))),
                    v7: [ids.uuid7(1764147600000), ids.uuid7(1764147600001)]};
        }""",
        names,
    )
    assert got["v5"] == [str(uuid.uuid5(NS, n)) for n in names]
    first, second = (uuid.UUID(u) for u in got["v7"])
    assert first.version == 7 and first.variant == uuid.RFC_4122
    assert int(first.hex[:12], 16) == 1764147600000 and got["v7"][0] < got["v7"][1]


MERGE_LAWS_JS = """async () => {
    const { merge } = await import('/app/js/records.js');
    let seed = 42;
    const rnd = (n) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
    };
    const wall = () => String(1764147600000 + rnd(5)).padStart(13, '0');
    const stamp = () => `${wall()}-000${rnd(3)}-${'a'.repeat(15)}${rnd(3)}`;
    const write = () => {
        const fields = {};
        for (const f of ['value', 'comment', 'mode']) {
            if (rnd(2)) fields[f] = { v: `${f}${rnd(4)}`, t: stamp() };
        }
        return { id: 'r', type: 'checklist_answer', fields, deleted: rnd(8) ? null : stamp() };
    };
    const fold = (list) => list.reduce((acc, r) => merge(acc, r), null);
    const keys = ['id', 'type', 'fields', 'deleted', 'value', 'comment', 'mode', 'v', 't'];
    const canon = (r) => JSON.stringify(r, keys);
    for (let trial = 0; trial < 300; trial += 1) {
        const writes = Array.from({ length: 1 + rnd(6) }, write);
        const forward = canon(fold(writes));
        const variants = [
            [...writes].reverse(),
            [...writes, ...writes],
            [...writes].sort(() => rnd(3) - 1),
        ];
        if (variants.some((v) => canon(fold(v)) !== forward)) return { trial, writes };
    }
    return null;
}"""


def test_local_merge_is_order_independent_and_idempotent(app_page):
    assert app_page.evaluate(MERGE_LAWS_JS) is None
