// Service worker (an ES module). server/pwa.py renders the two constants below:
// every app-shell file with its content hash, and a cache name derived from them.
import * as storage from './js/storage.js';
import { events as syncEvents, state as syncState, syncNow, syncOrFail } from './js/sync.js';
import { addCatalogue, loadLang, t } from './js/i18n.js';
// Service workers may not import() at run time: the worker takes every catalogue up front.
import ur from './js/i18n/ur.js';

addCatalogue('ur', ur);

const VERSION = '__VERSION__';
const PRECACHE = /*__PRECACHE__*/[];
const CACHE = `withus-shell-${VERSION}`;
const SHELL = '/app/';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // Bypass the HTTP cache so the hashes we were given match what we store.
    await cache.addAll(PRECACHE.map(([url]) => new Request(url, { cache: 'reload' })));
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('withus-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'skip-waiting') self.skipWaiting();
});

async function shellFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreSearch: true });
  return hit || fetch(request);
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || event.request.method !== 'GET') return;
  if (url.pathname.startsWith('/api/')) return; // network only: never serve data from a cache
  if (event.request.mode === 'navigate' && url.pathname.startsWith('/app')) {
    event.respondWith(shellFirst(new Request(SHELL)));
    return;
  }
  if (url.pathname.startsWith('/app/')) event.respondWith(shellFirst(event.request));
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

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  event.waitUntil((async () => {
    const prefs = (await storage.getMeta('settings')) || {};
    const lang = await loadLang(prefs.lang || 'en');
    // The payload is a generic line and ids (nothing personal); the detail comes with a pull.
    // It names its line ("done"): we show that line in the family's language from our
    // catalogue. A line we do not know yet: the server's English, or our own generic line.
    const key = typeof data.line === 'string' && /^[a-z_]+$/.test(data.line) ? `push.${data.line}` : '';
    const known = key !== '' && t(`${key}.title`) !== `${key}.title`;
    const own = lang !== 'en' || !data.title;
    const title = known ? t(`${key}.title`) : own ? t('push.title') : data.title;
    const body = known ? t(`${key}.body`) : own ? t('push.body') : data.body;
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
