// HTTP calls to the server. Errors carry the server's status and code.

import * as storage from './storage.js';

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

export async function request(method, path, body, { auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) {
    const session = await storage.getMeta('session');
    if (session && session.token) headers.Authorization = `Bearer ${session.token}`;
  }
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return data;
}
