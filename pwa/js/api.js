// HTTP calls to the server. Errors carry the server's status and code.

import * as storage from './storage.js';

// A request that hangs (a stalled proxy, a half-open connection) must not hold the
// sync lock for ever: every call gives up after this long.
export const TIMEOUT_MS = 20_000;

export class ApiError extends Error {
  constructor(status, body, headers) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
    this.retryAfter = headers ? Number(headers.get('Retry-After')) || null : null;
  }
}

/** No answer at all: `offline` when the device has no network, `unreachable` when it has one. */
export class NetworkError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

function networkReason() {
  return typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : 'unreachable';
}

/** Fetch with a deadline covering the whole answer, body included. */
async function fetchJson(path, init, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetch(path, { ...init, signal: controller.signal });
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (err) {
        if (controller.signal.aborted) throw err;
        data = null;
      }
    }
    return { res, data };
  } catch (err) {
    throw new NetworkError(controller.signal.aborted ? 'timeout' : networkReason());
  } finally {
    clearTimeout(timer);
  }
}

/** Call the API; throws ApiError for an HTTP error, NetworkError when no answer came. */
export async function request(method, path, body, { auth = true, token = null, timeoutMs = TIMEOUT_MS } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (auth) {
    const session = await storage.getMeta('session');
    if (session && session.token) headers.Authorization = `Bearer ${session.token}`;
  }
  const { res, data } = await fetchJson(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  }, timeoutMs);
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return data;
}
