// Drains the outbox and pulls changes (sync-protocol.md). Runs in the page and
// in the service worker (Background Sync); a Web Lock keeps one drain at a time.

import { ApiError, NetworkError, request } from './api.js';
import * as storage from './storage.js';

export const SCHEMA = 1;
const BATCH = 500;
const MAX_BODY = 900 * 1024;
const MAX_BACKOFF = 5 * 60 * 1000;
const FIRST_RETRY = 2000;
const PROBE_TIMEOUT = 5000;

export const events = new EventTarget();
const emit = (type, detail) => events.dispatchEvent(new CustomEvent(type, { detail }));

let running = null;
let again = false; // a sync was asked for while a round ran
let againNow = false; // ... by someone who wants it now: it runs even after a failed round
let debounce = null;
let retryTimer = null;
let failedRounds = 0;
let batchSize = BATCH;

export const state = { syncing: false, problem: null, retryAt: null, ok: true };

function setProblem(problem) {
  state.problem = problem;
  state.ok = problem === null;
  emit('status', state);
}

/** Ask for a sync soon (after a write); several calls make one sync. */
export function schedule(delay = 400) {
  clearTimeout(debounce);
  debounce = setTimeout(() => { sync(); }, delay);
}

function retryLater(ms, { probe = false } = {}) {
  clearTimeout(retryTimer);
  state.retryAt = Date.now() + ms;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    state.retryAt = null;
    sync({ probe });
  }, ms);
}

/**
 * The wait before the next retry, by failed ROUNDS (not writes): the first retry
 * comes a couple of seconds after a failure, then the gap doubles up to 5 minutes.
 */
export function retryDelay(rounds, random = Math.random) {
  const base = Math.min(MAX_BACKOFF, FIRST_RETRY * 2 ** Math.min(rounds, 12));
  return Math.round(base / 2 + random() * base / 2);
}

function backoff({ probe = false } = {}) {
  // A retry is already on its way: a write that failed meanwhile must not push it later.
  if (retryTimer) return;
  retryLater(retryDelay(failedRounds), { probe });
  failedRounds += 1;
}

function withLock(fn) {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    return navigator.locks.request('withus-sync', fn);
  }
  return fn();
}

/**
 * Push the outbox, then pull, for someone who wants it now (a tap, the network back,
 * Background Sync, a push); resolves when the round is over, with true when it went through.
 * Asked for while a failing round is still on (sent before the signal came back, say), it
 * gets one more round as soon as that one ends, not when the retry timer fires; unless that
 * round ended in a revoked device or a sign-in to do again (see `needsPerson`).
 */
export function syncNow() {
  return sync({ now: true });
}

/**
 * A write's schedule and the retry timer ask with `now` false: after a failed round the
 * back-off decides when to try again, so a person typing offline does not hammer the server.
 * `probe`: ask the server whether it is back before sending a batch.
 */
function sync({ probe = false, now = false } = {}) {
  if (running) {
    again = true;
    againNow ||= now;
    return running;
  }
  running = (async () => {
    let ok;
    do {
      again = false;
      againNow = false;
      ok = await withLock(() => round({ probe }));
      probe = !ok; // after a failure, ask whether the server is back first, as a retry does
      // At most one more round per request made during this one; after a failed round only
      // for a "now" request, and not when the person has to act first.
    } while (again && (ok || (againNow && !needsPerson())));
    return ok;
  })().finally(() => {
    running = null;
    state.syncing = false;
    emit('status', state);
  });
  return running;
}

/**
 * The failed round's problem is one only the person can solve: the device was revoked (its
 * store is being wiped), its sign-in is no longer taken, or the app is too old for the
 * server (426). Another round would only repeat the refused request (on a revoked phone,
 * right after the wipe), so a "now" asked for during that round gets none: they must
 * re-join, sign in or update first.
 */
function needsPerson() {
  return state.problem === 'revoked' || state.problem === 'auth' || state.problem === 'update';
}

/** One sync for Background Sync: rejects when the round failed, so the browser retries later. */
export async function syncOrFail() {
  const ok = await syncNow();
  if (!ok) throw new Error(`sync failed: ${state.problem}`);
}

async function round({ probe }) {
  const session = await storage.getMeta('session');
  if (!session || !session.token) return true;
  state.syncing = true;
  emit('status', state);
  try {
    if (probe) await request('GET', '/healthz', undefined, { auth: false, timeoutMs: PROBE_TIMEOUT });
    await push(session);
    await pull();
    failedRounds = 0;
    batchSize = BATCH;
    clearTimeout(retryTimer);
    retryTimer = null;
    state.retryAt = null;
    setProblem(null);
    return true;
  } catch (err) {
    await handleError(err);
    return false;
  }
}

async function handleError(err) {
  if (!(err instanceof ApiError)) {
    setProblem(err instanceof NetworkError && err.reason === 'offline' ? 'offline' : 'unreachable');
    backoff({ probe: true });
    return;
  }
  if (err.status === 401 && err.code === 'device_revoked') {
    // Access was taken away (docs/access.md): keep nothing, not even the outbox, and say why.
    setProblem('revoked');
    // Wiped before the round ends (and the sync lock goes): a page's round queued behind the
    // service worker's then finds nothing to send, and whoever is told "synced" finds it empty.
    await storage.wipe('revoked');
    emit('revoked');
  } else if (err.status === 401) {
    setProblem('auth');
    emit('auth-needed');
  } else if (err.status === 426) {
    setProblem('update');
    emit('update-needed');
  } else if (err.status === 429 || err.status === 503) {
    setProblem('busy');
    const ms = (err.retryAfter || 30) * 1000;
    retryLater(Math.min(MAX_BACKOFF, ms));
  } else {
    setProblem('server');
    backoff();
  }
}

function parseServerTime(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

async function push(session) {
  let restamps = 0;
  for (;;) {
    const items = await storage.outboxBatch(batchSize);
    if (!items.length) return;
    const send = [];
    let size = 0;
    for (const item of items) {
      const r = item.record;
      if (!r) continue;
      const rec = { type: r.type, id: r.id, fields: r.fields, deleted: r.deleted || null };
      size += JSON.stringify(rec).length;
      if (send.length && size > MAX_BODY) break;
      send.push({ item, rec });
    }
    // Entries whose record vanished locally have nothing to send.
    const orphans = items.filter((i) => !i.record).flatMap((i) => i.seqs);
    let res;
    try {
      res = await request('POST', '/api/sync/push', { schema: SCHEMA, records: send.map((s) => s.rec) });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 413 || err.status === 400) && send.length > 1) {
        batchSize = Math.max(1, Math.floor(send.length / 2));
        continue;
      }
      if (err instanceof ApiError && err.status === 400 && send.length === 1) {
        await storage.settle(orphans, [{ ...send[0].item, error: { code: err.code || 'invalid', message: err.message, field: err.field } }]);
        continue;
      }
      throw err;
    }
    const byId = new Map(send.map((s) => [s.rec.id, s.item]));
    const doneSeqs = [...orphans];
    const rejected = [];
    const ahead = [];
    let serverTime = null;
    for (const result of res.results || []) {
      const item = byId.get(result.id);
      if (!item) continue;
      byId.delete(result.id);
      if (result.status === 'rejected') {
        const error = result.error || {};
        if (error.code === 'clock_ahead') {
          ahead.push(result.id);
          serverTime = parseServerTime(error.server_time) ?? serverTime;
        } else {
          rejected.push({ ...item, error });
        }
      } else {
        doneSeqs.push(...item.seqs);
      }
    }
    if (!doneSeqs.length && !rejected.length && !ahead.length) {
      throw new ApiError(502, { error: { code: 'no_results', message: 'no results' } });
    }
    await storage.settle(doneSeqs, rejected);
    if (session && session.kind === 'staff') {
      // Equality answers never come back to a worker's phone: once the server has them, drop them here.
      const taken = send.filter((x) => x.rec.type === 'equality' && !byId.has(x.rec.id)
        && !rejected.some((r) => r.rid === x.rec.id) && !ahead.includes(x.rec.id));
      if (taken.length) await storage.dropRecords(taken.map((x) => x.rec.id));
    }
    await storage.foldClock(res.server_hlc);
    await storage.setMeta('lastSent', Date.now());
    if (rejected.length) emit('rejected', rejected.length);
    emit('status', state);
    if (ahead.length) {
      restamps += 1;
      if (restamps > 3) throw new ApiError(409, { error: { code: 'clock_ahead', message: 'clock' } });
      const fromHlc = res.server_hlc ? Number(res.server_hlc.slice(0, 13)) : Date.now();
      await storage.restamp(ahead, serverTime ?? parseServerTime(res.server_time) ?? fromHlc, res.server_hlc);
    }
  }
}

async function pull() {
  let cursor = await storage.getMeta('cursor', 0);
  let changed = false;
  for (;;) {
    let res;
    try {
      res = await request('GET', `/api/sync/pull?cursor=${encodeURIComponent(cursor)}&limit=500`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 410 && cursor !== 0) {
        // Our cursor is past the tombstone horizon: take the live state again, keep the outbox.
        cursor = 0;
        await storage.clearReplica();
        await storage.setMeta('cursor', 0);
        continue;
      }
      throw err;
    }
    const removals = res.removals || [];
    if (res.records.length || removals.length || res.cursor !== cursor) {
      await storage.mergeRemote(res.records, res.cursor, res.server_hlc, removals);
      if (res.records.length || removals.length) changed = true;
    }
    cursor = res.cursor;
    if (!res.more) break;
  }
  if (changed) emit('data');
}

/** Wire the triggers a page has: start, online, visible, a retry timer. */
export function start() {
  addEventListener('online', () => syncNow());
  if (typeof document !== 'undefined') {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') syncNow();
    });
  }
  return syncNow();
}

/** Ask the browser to wake the service worker for a sync when it can. */
export async function requestBackgroundSync() {
  try {
    const reg = await navigator.serviceWorker?.getRegistration();
    if (reg && reg.sync) await reg.sync.register('withus-outbox');
  } catch {
    // No Background Sync here: the page's own triggers still drain the outbox.
  }
}
