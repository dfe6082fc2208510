// UUIDv7 for records that are created, UUIDv5 (SHA-1) for natural identities.

export const NAMESPACE = '5b0c1f7e-3d6a-4f1b-9c2e-7a4d8e6f1b20';

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function toUuid(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function uuid7(nowMs = Date.now()) {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Math.floor(nowMs);
  for (let i = 5; i >= 0; i -= 1) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return toUuid(b);
}

export async function uuid5(name, namespace = NAMESPACE) {
  const ns = namespace.replace(/-/g, '');
  const nsBytes = new Uint8Array(16);
  for (let i = 0; i < 16; i += 1) nsBytes[i] = parseInt(ns.slice(i * 2, i * 2 + 2), 16);
  const nameBytes = new TextEncoder().encode(name);
  const data = new Uint8Array(16 + nameBytes.length);
  data.set(nsBytes);
  data.set(nameBytes, 16);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', data));
  const b = digest.slice(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  return toUuid(b);
}

export const naturalId = {
  checklistAnswer: (p, proj, stage, st) => uuid5(`checklist_answer:${p}:${proj}:${stage}:${st}`),
  ladderRating: (p, proj, stage) => uuid5(`ladder_rating:${p}:${proj}:${stage}`),
  consent: (p, proj) => uuid5(`consent:${p}:${proj}`),
  equality: (p, proj) => uuid5(`equality:${p}:${proj}`),
};
