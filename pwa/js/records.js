// Record state and the per-field last-writer-wins merge (docs/sync-protocol.md, "Merge rule").
// Pure: no storage, no network.

/**
 * The fields that say whose record it is and where it belongs. They never change, and
 * every write carries them, deletions too, so the server can authorise a write that
 * arrives before the record's creation (protocol 1.1). Same lists as the server's.
 */
export const IDENTIFYING = {
  participant: ['project_id'],
  consent: ['participant_id', 'project_id'],
  checklist_answer: ['participant_id', 'project_id', 'stage', 'statement_id'],
  ladder_rating: ['participant_id', 'project_id', 'stage'],
  feedback: ['participant_id', 'project_id'],
  equality: ['participant_id', 'project_id'],
};

// UTF-16 code units order characters above U+FFFF (surrogates, D800-DFFF) before
// E000-FFFF; code points, UTF-8 bytes and Python put them after. Shift both ranges.
const unit = (u) => (u < 0xd800 ? u : u < 0xe000 ? u + 0x2000 : u - 0x800);

/** Compare two strings by Unicode code point, as the server does (negative, 0, positive). */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unit(x) - unit(y);
  }
  return a.length - b.length;
}

/** Canonical JSON: keys sorted by code point, no spaces; the same text as the server's. */
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const keys = Object.keys(v).sort(compareCodePoints);
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v === undefined ? null : v);
}

/** True when register b should replace register a: a greater stamp, or a tie won by value. */
export function wins(b, a) {
  if (!a) return true;
  if (b.t !== a.t) return b.t > a.t;
  return compareCodePoints(canonical(b.v), canonical(a.v)) > 0;
}

/** The identifying registers of a record, kept on its tombstone so a deletion carries them. */
export function identifying(record) {
  const out = {};
  for (const name of IDENTIFYING[record.type] || []) {
    const reg = record.fields && record.fields[name];
    if (reg) out[name] = reg;
  }
  return out;
}

/** Merge an incoming record into the local one (either may be missing). */
export function merge(local, incoming) {
  if (!local) return normalise(incoming);
  const out = { ...local, fields: { ...local.fields } };
  const deleted = maxDeleted(local.deleted, incoming.deleted);
  if (deleted) {
    const type = local.type || incoming.type;
    return { id: local.id, type, fields: identifying({ ...local, type }), deleted };
  }
  for (const [name, reg] of Object.entries(incoming.fields || {})) {
    if (wins(reg, out.fields[name])) out.fields[name] = { v: reg.v, t: reg.t };
  }
  return out;
}

function maxDeleted(a, b) {
  if (a && b) return a > b ? a : b;
  return a || b || null;
}

function normalise(r) {
  if (r.deleted) return { id: r.id, type: r.type, fields: {}, deleted: r.deleted };
  return { id: r.id, type: r.type, fields: { ...(r.fields || {}) }, deleted: null };
}

/** Apply a local change stamped t: set each value, or delete. */
export function applyLocal(local, change, t) {
  const base = local || { id: change.id, type: change.type, fields: {}, deleted: null };
  if (base.deleted) return base; // tombstones stick
  if (change.delete) return { id: base.id, type: base.type, fields: identifying(base), deleted: t };
  const fields = { ...base.fields };
  for (const [name, v] of Object.entries(change.values)) fields[name] = { v, t };
  return { ...base, fields };
}

/** Plain values of a record: {id, ...fields}. */
export function values(record) {
  if (!record || record.deleted) return null;
  const out = { id: record.id };
  for (const [k, reg] of Object.entries(record.fields)) out[k] = reg.v;
  return out;
}

/** The stamp of the latest field write in a record. */
export function latest(record) {
  let t = record.deleted || '';
  for (const reg of Object.values(record.fields || {})) if (reg.t > t) t = reg.t;
  return t;
}
