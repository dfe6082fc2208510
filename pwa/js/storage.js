// The only module that touches IndexedDB. One lazy open promise, versioned upgrades.
// Stores: records (merged local state by id), outbox (writes not yet acknowledged),
// meta (clock, cursor, session, settings), rejected (the "needs attention" list).

import * as hlc from './hlc.js';
import { applyLocal, merge } from './records.js';

const DB_NAME = 'withus';
const VERSION = 1;
let dbPromise = null;

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore('records', { keyPath: 'id' }).createIndex('type', 'type');
    db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true }).createIndex('rid', 'rid');
    db.createObjectStore('meta');
    db.createObjectStore('rejected', { keyPath: 'rid' });
  }
  // Later versions add steps here: `if (oldVersion < 2) { ... }`.
}

export function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion);
      req.onsuccess = () => {
        const db = req.result;
        // Another tab upgraded the schema: let it, and reload on next use.
        db.onversionchange = () => { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error('storage blocked by another tab'));
    });
  }
  return dbPromise;
}

const done = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

/** Run fn(stores) in one transaction; resolves with fn's result once committed. */
async function tx(names, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
    let result;
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('transaction aborted'));
    try {
      result = fn(stores, t);
    } catch (err) {
      t.abort();
      reject(err);
    }
  });
}

// --- meta -------------------------------------------------------------------

export async function getMeta(key, fallback = null) {
  const v = await tx(['meta'], 'readonly', (s) => done(s.meta.get(key)));
  const value = await v;
  return value === undefined ? fallback : value;
}

export function setMeta(key, value) {
  return tx(['meta'], 'readwrite', (s) => { s.meta.put(value, key); });
}

export function deleteMeta(key) {
  return tx(['meta'], 'readwrite', (s) => { s.meta.delete(key); });
}

function withClock(meta, fn) {
  // Reads the clock inside the caller's transaction, so page and worker never stamp alike.
  meta.get('clock').onsuccess = (e) => {
    const clock = e.target.result || hlc.initial();
    const next = fn(clock);
    meta.put(next, 'clock');
  };
}

/** Fold a server stamp into the clock. */
export function foldClock(serverHlc) {
  if (!serverHlc) return Promise.resolve();
  return tx(['meta'], 'readwrite', (s) => withClock(s.meta, (c) => hlc.receive(c, serverHlc)));
}

// --- records ----------------------------------------------------------------

export async function getRecord(id) {
  return (await tx(['records'], 'readonly', (s) => done(s.records.get(id)))) || null;
}

export async function getRecords(type) {
  return tx(['records'], 'readonly', (s) => done(s.records.index('type').getAll(type)));
}

/**
 * Write local changes: each gets a fresh stamp; the new record state and its
 * outbox entry are stored in ONE transaction. changes: [{type, id, values} | {type, id, delete: true}].
 */
export async function write(changes) {
  const written = [];
  let first = false;
  await tx(['records', 'outbox', 'meta'], 'readwrite', (s) => {
    s.meta.get('clock').onsuccess = (e) => {
      let clock = e.target.result || hlc.initial();
      const stamps = changes.map(() => {
        const [next, t] = hlc.tick(clock);
        clock = next;
        return t;
      });
      s.meta.put(clock, 'clock');
      changes.forEach((change, i) => {
        s.records.get(change.id).onsuccess = (ev) => {
          const rec = applyLocal(ev.target.result, change, stamps[i]);
          s.records.put(rec);
          s.outbox.add({ rid: change.id, type: change.type, queued_at: Date.now() });
          written.push(rec);
        };
      });
    };
    s.meta.get('persistAsked').onsuccess = (e) => {
      if (!e.target.result) {
        first = true;
        s.meta.put(true, 'persistAsked');
      }
    };
  });
  if (first && typeof navigator !== 'undefined' && navigator.storage && navigator.storage.persist) {
    navigator.storage.persist().catch(() => {});
  }
  return written;
}

/**
 * Merge pulled records into local state, drop the removed ones and advance the
 * cursor, in one transaction. A removal means the record left this phone's view
 * (docs/access.md): the phone keeps nothing of it. A write to it still waiting
 * in the outbox goes to "needs attention" rather than vanishing unseen.
 */
export function mergeRemote(records, cursor, serverHlc, removals = []) {
  return tx(['records', 'meta', 'outbox', 'rejected'], 'readwrite', (s) => {
    for (const incoming of records) {
      s.records.get(incoming.id).onsuccess = (e) => {
        s.records.put(merge(e.target.result, incoming));
      };
    }
    for (const rid of removals) removeLocal(s, rid);
    if (cursor !== undefined) s.meta.put(cursor, 'cursor');
    if (serverHlc) withClock(s.meta, (c) => hlc.receive(c, serverHlc));
  });
}

function removeLocal(s, rid) {
  s.records.get(rid).onsuccess = (e) => {
    const record = e.target.result;
    s.records.delete(rid);
    s.outbox.index('rid').getAllKeys(rid).onsuccess = (k) => {
      if (!k.target.result.length || !record) return;
      for (const seq of k.target.result) s.outbox.delete(seq);
      s.rejected.put({ rid, type: record.type, record, error: { code: 'removed' }, at: Date.now() });
    };
  };
}

/** Drop records the phone must not keep (equality answers a worker's phone sent). */
export function dropRecords(ids) {
  return tx(['records'], 'readwrite', (s) => { for (const id of ids) s.records.delete(id); });
}

/** Before a pull from 0: forget the copy, keeping records with unsent writes. */
export function clearReplica() {
  return tx(['records', 'outbox'], 'readwrite', (s) => {
    s.outbox.getAll().onsuccess = (e) => {
      const pending = new Set(e.target.result.map((entry) => entry.rid));
      s.records.getAllKeys().onsuccess = (k) => {
        for (const id of k.target.result) if (!pending.has(id)) s.records.delete(id);
      };
    };
  });
}

// --- outbox -----------------------------------------------------------------

/**
 * The next batch to send: up to `limit` distinct records, oldest first, each
 * with its current local state and the outbox entries it covers.
 */
export function outboxBatch(limit) {
  return tx(['outbox', 'records'], 'readonly', (s) => new Promise((resolve, reject) => {
    const byId = new Map();
    const req = s.outbox.openCursor();
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cur = req.result;
      if (cur && (byId.size < limit || byId.has(cur.value.rid))) {
        const entry = byId.get(cur.value.rid) || { rid: cur.value.rid, seqs: [], queued_at: cur.value.queued_at };
        entry.seqs.push(cur.value.seq);
        byId.set(cur.value.rid, entry);
        cur.continue();
        return;
      }
      const items = [...byId.values()];
      if (!items.length) { resolve(items); return; }
      let left = items.length;
      for (const item of items) {
        s.records.get(item.rid).onsuccess = (e) => {
          item.record = e.target.result;
          left -= 1;
          if (!left) resolve(items);
        };
      }
    };
  })).then((p) => p);
}

/** After a 200: drop acknowledged entries, move rejected ones to "needs attention". */
export function settle(doneSeqs, rejected) {
  return tx(['outbox', 'rejected'], 'readwrite', (s) => {
    for (const seq of doneSeqs) s.outbox.delete(seq);
    for (const r of rejected) {
      for (const seq of r.seqs) s.outbox.delete(seq);
      s.rejected.put({ rid: r.rid, type: r.record.type, record: r.record, error: r.error, at: Date.now() });
    }
  });
}

/** Ids of records with writes not yet acknowledged. */
export async function pendingIds() {
  const entries = await tx(['outbox'], 'readonly', (s) => done(s.outbox.getAll()));
  return new Set(entries.map((e) => e.rid));
}

/** Count distinct records with writes waiting: an answer changed three times is one entry. */
function countEntries(outbox) {
  return new Promise((resolve, reject) => {
    let n = 0;
    const req = outbox.index('rid').openKeyCursor(null, 'nextunique');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      if (!req.result) { resolve(n); return; }
      n += 1;
      req.result.continue();
    };
  });
}

/** What the status line shows: entries waiting, the oldest one's age, "needs attention". */
export function outboxStats() {
  return tx(['outbox', 'rejected'], 'readonly', (s) => Promise.all([
    countEntries(s.outbox),
    done(s.outbox.openCursor()),
    done(s.rejected.count()),
  ]).then(([count, cur, rejected]) => ({
    count,
    oldest: cur ? cur.value.queued_at : null,
    rejected,
  })));
}

/**
 * The server said our clock runs ahead. Correct the clock, then give every
 * field this device stamped in the future a fresh stamp; the outbox entries
 * stay, so the records go again.
 */
export function restamp(rids, serverTimeMs, serverHlc) {
  return tx(['records', 'meta'], 'readwrite', (s) => {
    s.meta.get('clock').onsuccess = (e) => {
      let clock = hlc.correct(e.target.result || hlc.initial(), serverTimeMs, serverHlc);
      const limit = hlc.format(Math.floor(Date.now() + clock.offset) + 1000, 0, '');
      const stamps = new Map();
      for (const rid of rids) {
        const [next, t] = hlc.tick(clock);
        clock = next;
        stamps.set(rid, t);
      }
      s.meta.put(clock, 'clock');
      for (const rid of rids) {
        s.records.get(rid).onsuccess = (ev) => {
          const rec = ev.target.result;
          if (!rec) return;
          const t = stamps.get(rid);
          const fields = {};
          for (const [k, reg] of Object.entries(rec.fields)) {
            fields[k] = reg.t > limit ? { v: reg.v, t } : reg;
          }
          s.records.put({ ...rec, fields, deleted: rec.deleted && rec.deleted > limit ? t : rec.deleted });
        };
      }
    };
  });
}

// --- needs attention ----------------------------------------------------------

export function rejectedList() {
  return tx(['rejected'], 'readonly', (s) => done(s.rejected.getAll()));
}

/**
 * Throw a rejected entry away: drop it from the list and undo its writes on this
 * device. Pulling from 0 again brings back whatever the server holds for the record.
 */
export function discardRejected(rid) {
  return tx(['rejected', 'records', 'meta'], 'readwrite', (s) => {
    s.rejected.get(rid).onsuccess = (e) => {
      const item = e.target.result;
      if (!item) return;
      s.rejected.delete(rid);
      s.records.get(rid).onsuccess = (ev) => {
        const rec = ev.target.result;
        if (!rec || rec.deleted) return;
        const fields = { ...rec.fields };
        for (const [k, reg] of Object.entries(item.record.fields || {})) {
          if (fields[k] && fields[k].t === reg.t) delete fields[k];
        }
        if (Object.keys(fields).length) s.records.put({ ...rec, fields });
        else s.records.delete(rid);
      };
      s.meta.put(0, 'cursor');
    };
  });
}

function forget(rid) {
  return tx(['rejected'], 'readwrite', (s) => { s.rejected.delete(rid); });
}

/** Fix a rejected entry (new values, freshly stamped) and queue it again. */
export async function retryRejected(rid, values) {
  const item = await tx(['rejected'], 'readonly', (s) => done(s.rejected.get(rid)));
  if (!item) return;
  await write([{ type: item.type, id: rid, values: values || {} }]);
  await forget(rid);
}

/** This phone's access was taken away: keep only the person's settings and say why. */
export async function wipe(reason) {
  const prefs = await getMeta('settings', {});
  await clearAll();
  await setMeta('settings', prefs);
  await setMeta('notice', reason);
}

/** Forget everything on this device (sign out, erase). */
export function clearAll() {
  return tx(['records', 'outbox', 'meta', 'rejected'], 'readwrite', (s) => {
    s.records.clear(); s.outbox.clear(); s.meta.clear(); s.rejected.clear();
  });
}
