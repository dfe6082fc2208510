// pwa/js/sync.js driven in node: IndexedDB from fake-indexeddb, the network a fake fetch
// the test holds. What is asked for while a round is failing (docs/app.md).
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';

import * as storage from '../../pwa/js/storage.js';
import * as sync from '../../pwa/js/sync.js';

const calls = []; // what the phone asked the server, in order
const received = []; // ids the server took
let network; // (path, init) => Promise<Response>

globalThis.fetch = (path, init) => {
  calls.push(`${init.method} ${path.split('?')[0]}`);
  return network(path, init);
};

const json = (body, status = 200) => new Response(JSON.stringify(body), {
  status, headers: { 'Content-Type': 'application/json' },
});
const refused = (status, code) => json({ error: { code, message: code } }, status);
/** The server up, refusing this phone's token with `code`. */
const refusing = (code) => async (path, init) => (path === '/healthz' ? up(path, init) : refused(401, code));

/** The server answering. */
async function up(path, init) {
  if (path === '/healthz') return json({ ok: true });
  if (path === '/api/sync/push') {
    const { records } = JSON.parse(init.body);
    received.push(...records.map((r) => r.id));
    return json({ results: records.map((r) => ({ id: r.id, status: 'applied' })) });
  }
  return json({ records: [], cursor: 1, more: false });
}

const down = async () => { throw new TypeError('Failed to fetch'); };

async function until(cond) {
  for (let i = 0; i < 1000 && !cond(); i += 1) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), 'waited in vain');
}

async function save(id) {
  await storage.write([{ type: 'feedback', id, values: { note: `note ${id}` } }]);
}

/**
 * Save an entry and start a round (by `start`) whose push hangs, as one sent while the
 * signal was gone does, until the test calls fail(): with no answer (the network gone),
 * or fail(response) with the server's refusal.
 */
async function failingRound(id, start = sync.syncNow) {
  let fail;
  const answer = new Promise((resolve, reject) => {
    fail = (response) => (response ? resolve(response) : reject(new TypeError('Failed to fetch')));
  });
  network = () => answer;
  await save(id);
  const round = start();
  await until(() => calls.length === 1);
  return { round, fail };
}

beforeEach(async () => {
  await storage.clearAll();
  await storage.setMeta('session', { token: 't', kind: 'family' });
  calls.length = 0;
  received.length = 0;
});

// A round that goes through clears the retry timer, so a failed test leaves none running.
afterEach(async () => {
  network = up;
  await sync.syncNow();
});

test('"Sync now" tapped while a failing round is in flight runs one more round at once, with the probe', async () => {
  const { fail } = await failingRound('a', () => sync.schedule(0)); // the save's own round
  network = up; // the signal is back
  const tap = sync.syncNow();
  fail();
  assert.equal(await tap, true);
  assert.deepEqual(calls, ['POST /api/sync/push', 'GET /healthz', 'POST /api/sync/push', 'GET /api/sync/pull']);
  assert.deepEqual(received, ['a']);
  assert.equal(sync.state.problem, null);
  assert.equal(sync.state.retryAt, null);
});

test('a write saved while a round is failing waits for the back-off, not one more round', async () => {
  const { round, fail } = await failingRound('b');
  network = up;
  await save('c');
  sync.schedule(0);
  await new Promise((r) => setTimeout(r, 0)); // the schedule's timer has fired: the round is still on
  fail();
  assert.equal(await round, false);
  assert.deepEqual(calls, ['POST /api/sync/push']);
  assert.notEqual(sync.state.retryAt, null); // the retry timer carries both writes
  // A tap afterwards goes at once and takes both.
  assert.equal(await sync.syncNow(), true);
  assert.deepEqual(received, ['b', 'c']);
  assert.equal(sync.state.retryAt, null);
});

test('while the network stays down, taps during a failing round make one more round, not a loop', async () => {
  const { round, fail } = await failingRound('d');
  network = down;
  sync.syncNow();
  const tap = sync.syncNow();
  fail();
  assert.equal(await tap, false);
  assert.equal(await round, false);
  assert.deepEqual(calls, ['POST /api/sync/push', 'GET /healthz']);
  assert.equal(sync.state.problem, 'unreachable');
  network = up;
  assert.equal(await sync.syncNow(), true);
  assert.deepEqual(received, ['d']);
});

test('"Sync now" tapped while the server is busy (503) runs one more round at once, with the probe', async () => {
  const { fail } = await failingRound('e');
  network = up;
  const tap = sync.syncNow();
  fail(refused(503, 'database_unavailable'));
  assert.equal(await tap, true);
  assert.deepEqual(calls, ['POST /api/sync/push', 'GET /healthz', 'POST /api/sync/push', 'GET /api/sync/pull']);
  assert.deepEqual(received, ['e']);
  assert.equal(sync.state.retryAt, null);
});

// The round's answer says only the person can go on: one more round would repeat the refused request.
test('"Sync now" tapped while the round is answered "device revoked" asks nothing more after the wipe', async () => {
  const wiped = new Promise((resolve) => sync.events.addEventListener('revoked', resolve, { once: true }));
  const { round, fail } = await failingRound('f');
  network = refusing('device_revoked'); // what the server says to this phone now
  const tap = sync.syncNow();
  fail(refused(401, 'device_revoked'));
  assert.equal(await tap, false);
  assert.equal(await round, false);
  await wiped;
  await new Promise((r) => setTimeout(r, 20)); // room for a round that should not come
  assert.deepEqual(calls, ['POST /api/sync/push']);
  assert.equal(sync.state.problem, 'revoked');
  assert.equal(await storage.getMeta('session'), null); // wiped
});

test('"Sync now" tapped while the round is answered "sign in again" asks nothing more', async () => {
  let asked = 0;
  const count = () => { asked += 1; };
  sync.events.addEventListener('auth-needed', count);
  try {
    const { round, fail } = await failingRound('g');
    network = refusing('unauthorized');
    const tap = sync.syncNow();
    sync.syncNow(); // the network back as well
    fail(refused(401, 'unauthorized'));
    assert.equal(await tap, false);
    assert.equal(await round, false);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(calls, ['POST /api/sync/push']);
    assert.equal(sync.state.problem, 'auth');
    assert.equal(asked, 1);
    assert.equal(sync.state.retryAt, null); // nothing retries behind the person's back either
  } finally {
    sync.events.removeEventListener('auth-needed', count);
  }
});

test('"Sync now" tapped while the round is answered "update the app" asks nothing more', async () => {
  const { round, fail } = await failingRound('h');
  network = async (path, init) => (path === '/healthz' ? up(path, init) : refused(426, 'schema_too_old'));
  const tap = sync.syncNow();
  fail(refused(426, 'schema_too_old'));
  assert.equal(await tap, false);
  assert.equal(await round, false);
  await new Promise((r) => setTimeout(r, 20)); // room for a round that should not come
  assert.deepEqual(calls, ['POST /api/sync/push']);
  assert.equal(sync.state.problem, 'update');
  assert.equal(sync.state.retryAt, null);
});
