// Record state and the per-field last-writer-wins merge (sync-protocol.md "Merge rule").
// Pure: no storage, no network.

export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v === undefined ? null : v);
}

/** True when register b should replace register a. */
export function wins(b, a) {
  if (!a) return true;
  if (b.t !== a.t) return b.t > a.t;
  return canonical(b.v) > canonical(a.v);
}

/** Merge an incoming record into the local one (either may be missing). */
export function merge(local, incoming) {
  if (!local) return normalise(incoming);
  const out = { ...local, fields: { ...local.fields } };
  const deleted = maxDeleted(local.deleted, incoming.deleted);
  if (deleted) return { id: local.id, type: local.type || incoming.type, fields: {}, deleted };
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
  if (change.delete) {
    // A tombstone still carries the identifying fields it was given (protocol 1.1).
    const kept = Object.fromEntries(Object.entries(change.values || {}).map(([k, v]) => [k, { v, t }]));
    return { id: base.id, type: base.type, fields: kept, deleted: t };
  }
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
