// Service worker (an ES module). server/pwa.py renders the three constants below: the
// shell's hashed addresses (cached at install: enough to start offline), the other files'
// (screens opened rarely, other languages, icons: cached once the app has started, so an
// offline family can still open them), and a cache name derived from both.
import * as storage from './js/storage.js';
import { events as syncEvents, state as syncState, syncNow, syncOrFail } from './js/sync.js';
import pushWords from './js/i18n/push.js';

const VERSION = '__VERSION__';
const PRECACHE = __PRECACHE__;
const LATER = __LATER__;
const CACHE = `withus-shell-${VERSION}`;
// One cache across versions: its addresses are content-hashed, so an entry never goes stale;
// those a new version no longer names are dropped when it fills the cache.
const LATER_CACHE = 'withus-later';
const SHELL = '/app/';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Bypass the HTTP cache so what we store is what the server serves now.
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('withus-shell-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

/** Cache every on-demand file not cached yet; forget those this version no longer uses.
 * Other languages' strings are not fetched ahead: they load when chosen, then are kept. */
async function fillLater() {
  const cache = await caches.open(LATER_CACHE);
  const wanted = new Set(LATER.map((url) => new URL(url, self.location.origin).href));
  const have = await cache.keys();
  await Promise.all(have.filter((r) => !wanted.has(r.url)).map((r) => cache.delete(r)));
  const missing = [...wanted].filter((url) => !url.includes('/app/js/i18n/') && !have.some((r) => r.url === url));
  // One failure (offline again) leaves the rest to the next start.
  await Promise.all(missing.map((url) => cache.add(url).catch(() => {})));
}

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
  if (event.data && event.data.type === 'fill-later') event.waitUntil(fillLater());
});

const LATER_URLS = new Set(LATER);

/** From a cache when there, else the network (keeping an on-demand file for next time). */
async function cacheFirst(request) {
  const hit = await caches.match(request);
  if (hit) return hit;
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    if (response.ok && LATER_URLS.has(url.pathname + url.search)) {
      const copy = response.clone();
      caches.open(LATER_CACHE).then((c) => c.put(request, copy));
    }
    return response;
  } catch (err) {
    // Offline, asking for a version we do not hold: another version beats nothing.
    const other = await caches.match(request, { ignoreSearch: true });
    if (other) return other;
    throw err;
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== 'GET') return;
  if (url.pathname.startsWith('/api/')) return; // network only: never serve data from a cache
  if (event.request.mode === 'navigate' && url.pathname.startsWith('/app')) {
    event.respondWith(cacheFirst(new Request(SHELL)));
    return;
  }
  if (url.pathname.startsWith('/app/')) event.respondWith(cacheFirst(event.request));
});

async function tellClients(message) {
  const list = await self.clients.matchAll({ type: 'window' });
  for (const c of list) c.postMessage(message);
}

// Reject when the round failed: the browser then retries later, even with the page closed.
self.addEventListener('sync', (event) => {
  if (event.tag === 'withus-outbox') {
    event.waitUntil(syncOrFail().then(
      () => tellClients({ type: 'synced', ok: true }),
      async (err) => { await tellClients({ type: 'synced', ok: false }); throw err; },
    ));
  }
});

// Let open pages show what this worker is sending, or why it cannot.
syncEvents.addEventListener('status', () => {
  tellClients({ type: 'sync-status', syncing: syncState.syncing, problem: syncState.problem });
});

// This worker met the revocation and emptied the store (a Background Sync, a push): open
// pages must say so, as they do when they meet it themselves, not go on showing what is gone.
syncEvents.addEventListener('revoked', () => { tellClients({ type: 'revoked' }); });

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  event.waitUntil((async () => {
    const prefs = (await storage.getMeta('settings')) || {};
    const lang = pushWords[prefs.lang] ? prefs.lang : 'en';
    const words = pushWords[lang];
    // The payload is a generic line and ids (nothing personal); the detail comes with a pull.
    // It names its line ("done"): we show that line in the family's language. A line we do
    // not know yet: the server's English, or our own generic line.
    const line = typeof data.line === 'string' && Object.hasOwn(words.lines, data.line) ? words.lines[data.line] : null;
    const own = lang !== 'en' || !data.title;
    const title = line ? line[0] : own ? words.title : data.title;
    const body = line ? line[1] : own ? words.body : data.body;
    const id = data.contribution || data.id || null;
    await self.registration.showNotification(title, {
      body,
      icon: '/app/icons/icon-192.png',
      badge: '/app/icons/icon-192.png',
      tag: data.action_id ? `withus-${data.action_id}` : 'withus',
      data: { id },
    });
    await syncNow().catch(() => {});
  })());
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const id = event.notification.data && event.notification.data.id;
  const target = new URL(id ? `/app/#/contributions/${encodeURIComponent(id)}` : '/app/#/contributions', self.location.origin).href;
  event.waitUntil((async () => {
    const list = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = list.find((c) => new URL(c.url).pathname.startsWith('/app'));
    if (open) {
      await open.focus();
      if ('navigate' in open) return open.navigate(target);
      return open.postMessage({ type: 'open', url: target });
    }
    return self.clients.openWindow(target);
  })());
});
