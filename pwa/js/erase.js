// "Erase my data": the phone forgets everything at once; the request to the server is
// queued and sent as soon as the server can be reached, even after a restart offline.
import { ApiError, request } from './api.js';
import * as storage from './storage.js';

const KEY = 'pendingErase';

/** Wipe this phone and queue the server's erase; resolves true when the server already did it. */
export async function eraseEverything() {
  const session = await storage.getMeta('session');
  const prefs = await storage.getMeta('settings', {});
  // Wait for a sync round in flight (page or service worker), or its pull could write records back.
  await withSyncLock(() => storage.clearAll());
  // Keep only what is needed to finish the job (the token) and the chosen language.
  if (prefs.lang) await storage.setMeta('settings', { lang: prefs.lang });
  if (!session || !session.token) return true;
  await storage.setMeta(KEY, { token: session.token, at: Date.now() });
  return sendPendingErase();
}

function withSyncLock(fn) {
  if (typeof navigator !== 'undefined' && navigator.locks) return navigator.locks.request('withus-sync', fn);
  return fn();
}

/** Send a queued erase; true when nothing is left to send. */
export async function sendPendingErase() {
  const pending = await storage.getMeta(KEY);
  if (!pending) return true;
  try {
    // The session is gone from the phone: the kept token is passed for this one call.
    await request('POST', '/api/me/erase', {}, { token: pending.token });
  } catch (err) {
    // 401: the device is already revoked, so the server erased it before.
    if (!(err instanceof ApiError && err.status === 401)) return false;
  }
  await storage.deleteMeta(KEY);
  return true;
}

export async function hasPendingErase() {
  return Boolean(await storage.getMeta(KEY));
}

