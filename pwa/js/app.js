// The controller: hash routing, one screen at a time, the status line, updates.
import * as storage from './storage.js';
import * as sync from './sync.js';
import * as model from './model.js';
import { fromNavigator, loadLang, t, time, tn } from './i18n.js';
import { h } from './dom.js';
import * as welcome from './screens/welcome.js';
import * as home from './screens/home.js';
import * as install from './install.js';

// Only what draws the first screen is imported here (the browser fetches these before
// anything shows); every other screen loads the first time it is opened. server/pwa.py
// has the service worker cache the screens a family meets first (SHELL_SCREENS) when it
// installs, so the checklist starts offline; the rest once the app has started.
const screens = { welcome, home };
// The screens opened on demand, each from ./screens/<name>.js.
const ON_DEMAND = new Set([
  'join', 'consent', 'checklist', 'ladder', 'feedback', 'signin', 'contributions',
  'visit', 'claim', 'settings', 'attention', 'equality', 'mydata',
]);
const PUBLIC = new Set(['welcome', 'join', 'signin', 'settings']);
const NEEDS_SUBJECT = new Set(['consent', 'checklist', 'ladder', 'feedback', 'contributions', 'claim', 'equality', 'mydata']);
const NEEDS_CONSENT = new Set(['checklist', 'ladder', 'feedback', 'equality']);
const DAY = 24 * 60 * 60 * 1000;

const main = document.getElementById('main');
const statusEl = document.getElementById('status');
const alertEl = document.getElementById('alert');
const updateEl = document.getElementById('update');
let renderSeq = 0;
let current = null;

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return [parts[0] || 'home', parts.slice(1)];
}

export function go(path) {
  const hash = `#/${path}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function context() {
  const [session, visitState, prefs] = await Promise.all([
    storage.getMeta('session'), storage.getMeta('visit'), storage.getMeta('settings', {}),
  ]);
  const subj = model.subject(session, visitState);
  return {
    session,
    visit: visitState,
    prefs,
    subject: subj,
    go,
    announce,
    refreshStatus,
    relabel,
    async write(changes) {
      const written = await storage.write(changes);
      sync.schedule();
      sync.requestBackgroundSync();
      refreshStatus();
      return written;
    },
    async savePrefs(next) {
      await storage.setMeta('settings', { ...prefs, ...next });
      if (next.lang) await loadLang(next.lang);
    },
  };
}

/** A screen's module, loaded now if it is one of those opened on demand; null offline before its first visit. */
async function screenModule(name) {
  if (!screens[name] && ON_DEMAND.has(name)) {
    try {
      screens[name] = await import(`./screens/${name}.js`);
    } catch (err) {
      console.warn(`screen ${name} not loaded`, err);
      return null;
    }
  }
  return screens[name];
}

async function guard(name, ctx) {
  if (!screens[name] && !ON_DEMAND.has(name)) return 'home';
  if (!ctx.session) return PUBLIC.has(name) ? name : 'welcome';
  if (name === 'welcome') return 'home';
  if (ctx.session.kind === 'staff' && !ctx.subject && (NEEDS_SUBJECT.has(name) || name === 'home')) return 'visit';
  if ((NEEDS_CONSENT.has(name) || name === 'home') && !(await model.consent(ctx.subject))) return 'consent';
  return name;
}

async function render({ keepFocus = false } = {}) {
  const seq = (renderSeq += 1);
  const [name, params] = parseHash();
  const ctx = await context();
  const target = await guard(name, ctx);
  if (target !== name) {
    location.replace(`#/${target}`);
    return;
  }
  let node;
  try {
    const screen = await screenModule(name);
    node = screen
      ? await screen.render(ctx, params)
      : h('section', {}, h('h1', { text: t('common.notLoaded') }), h('p', { text: t('common.notLoadedHint') }));
  } catch (err) {
    console.error(err);
    node = h('section', {}, h('h1', { text: t('common.error') }));
  }
  if (seq !== renderSeq) return;
  current = name;
  const hadHeadingFocus = document.activeElement?.tagName === 'H1';
  main.replaceChildren(node);
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    document.title = `${heading.textContent} – ${t('app.name')}`;
    if (!keepFocus || hadHeadingFocus) heading.focus({ preventScroll: keepFocus });
  }
  markNav(name);
  performance.mark(`screen:${name}`); // bench/bench_pwa.py reads this
}

/** New data arrived: redraw a screen that only shows data, unless someone is using it. */
function refreshLive() {
  refreshStatus();
  const idle = document.activeElement === document.body || document.activeElement?.tagName === 'H1';
  if (screens[current] && screens[current].live && idle) render({ keepFocus: true });
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function buildChrome() {
  const skip = document.getElementById('skip');
  skip.textContent = t('app.skip');
  // The hash is the router's: the skip link moves focus without touching it.
  skip.onclick = (e) => { e.preventDefault(); main.focus(); };
  document.getElementById('brand').textContent = t('app.name');
  const nav = document.getElementById('nav');
  nav.setAttribute('aria-label', t('nav.label'));
  nav.replaceChildren(h('ul', {},
    [['home', 'nav.home'], ['contributions', 'nav.contributions'], ['settings', 'nav.settings']].map(([route, key]) =>
      h('li', {}, h('a', { href: `#/${route}`, 'data-route': route, text: t(key) })))));
}

/** Say something once to screen readers (and show it). */
let alertTimer = null;
export function announce(msg) {
  alertEl.textContent = '';
  clearTimeout(alertTimer);
  setTimeout(() => { alertEl.textContent = msg; }, 50);
  alertTimer = setTimeout(() => { alertEl.textContent = ''; }, 10000);
}

let statusSeq = 0;
// What the service worker last said about its own sync (Background Sync, pushes).
let workerSync = { syncing: false, problem: null };

/** The problem to show: the page's own round, else the service worker's. */
function currentProblem() {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) return 'offline';
  return sync.state.problem || workerSync.problem;
}

/** The words of the status line: what waits, what is happening, what went wrong. */
function syncStatusParts(stats, lastSent) {
  const parts = [];
  const problem = currentProblem();
  if (problem === 'auth') parts.push(t('status.auth'));
  else if (problem === 'update') parts.push(t('status.update'));
  if (stats.count) parts.push(tn('status.waiting', stats.count));
  else if (lastSent && !stats.rejected) parts.push(t('status.allSaved'));
  if ((sync.state.syncing || workerSync.syncing) && stats.count) parts.push(t('status.sending'));
  else if (stats.count && ['offline', 'unreachable', 'busy', 'server'].includes(problem)) {
    parts.push(t(`status.${problem}`));
  }
  if (lastSent) parts.push(t('status.lastSent', { time: time(lastSent) }));
  return parts;
}

export async function refreshStatus() {
  const seq = (statusSeq += 1);
  const [stats, lastSent, session] = await Promise.all([
    storage.outboxStats(), storage.getMeta('lastSent'), storage.getMeta('session'),
  ]);
  const parts = syncStatusParts(stats, lastSent);
  const problem = sync.state.problem;
  const kids = [h('span', { class: 'status-text', text: parts.join(' ') })];
  if (stats.count && stats.oldest && Date.now() - stats.oldest > DAY) {
    kids.push(h('strong', { class: 'warn', text: ` ${t('status.old')}` }));
  }
  if (problem === 'auth') {
    const staff = session?.kind === 'staff';
    kids.push(' ', h('a', { href: staff ? '#/signin' : '#/join', text: t(staff ? 'status.signIn' : 'status.rejoin') }));
  }
  if (stats.rejected) {
    kids.push(' ', h('a', { href: '#/attention', class: 'attention-link', text: tn('status.attention', stats.rejected) }));
  }
  if (seq !== statusSeq) return; // a newer refresh is on its way
  const line = h('span', {}, ...kids);
  // A live region re-reads whatever is replaced: touch it only when the words change.
  if (line.textContent !== statusEl.textContent) statusEl.replaceChildren(...line.childNodes);
  statusEl.dataset.waiting = String(stats.count);
  statusEl.dataset.rejected = String(stats.rejected);
}

// --- service worker and updates ---------------------------------------------

let updateAsked = false;

function showUpdate(worker) {
  updateEl.replaceChildren(
    h('p', { text: t('update.ready') }),
    h('button', {
      type: 'button',
      class: 'btn',
      text: t('update.now'),
      onclick: () => { updateAsked = true; worker.postMessage({ type: 'skip-waiting' }); },
    }),
  );
  updateEl.hidden = false;
}

/** The phone was signed out and emptied (by this page's sync or the service worker's): say why. */
function showRevoked() {
  relabel();
  go('welcome');
  render();
}

async function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    // Reload only when the person pressed "Update now", never in the middle of their work.
    if (reloading || !updateAsked) return;
    reloading = true;
    location.reload();
  });
  navigator.serviceWorker.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'synced') refreshLive();
    if (e.data && e.data.type === 'sync-status') {
      workerSync = { syncing: Boolean(e.data.syncing), problem: e.data.problem || null };
      refreshStatus();
    }
    if (e.data && e.data.type === 'revoked') showRevoked();
    if (e.data && e.data.type === 'open' && new URL(e.data.url).origin === location.origin) location.href = e.data.url;
  });
  try {
    const reg = await navigator.serviceWorker.register('/app/sw.js', { scope: '/app/', type: 'module' });
    if (reg.waiting && navigator.serviceWorker.controller) showUpdate(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const w = reg.installing;
      w.addEventListener('statechange', () => {
        if (w.state === 'installed' && navigator.serviceWorker.controller) showUpdate(w);
      });
    });
  } catch (err) {
    console.warn('service worker not registered', err);
  }
}

// --- start --------------------------------------------------------------------

/** Note whether the person uses a keyboard or touch, so focus rings show for keyboards only. */
function trackInputKind() {
  const root = document.documentElement;
  addEventListener('keydown', (e) => { if (e.key === 'Tab' || e.key.startsWith('Arrow')) root.dataset.input = 'keyboard'; }, true);
  addEventListener('pointerdown', () => { root.dataset.input = 'pointer'; }, true);
}

async function start() {
  // Fetch the screen asked for while the stored settings are read (it loads on demand).
  screenModule(parseHash()[0]);
  trackInputKind();
  install.listen();
  // The install offer can come after Home is drawn: draw it again if nobody is busy there.
  addEventListener('withus-installable', () => refreshLive());
  const prefs = await storage.getMeta('settings', {});
  await loadLang(prefs.lang || fromNavigator());
  buildChrome();
  addEventListener('hashchange', () => render());
  addEventListener('online', refreshStatus);
  addEventListener('offline', refreshStatus);
  sync.events.addEventListener('status', refreshStatus);
  sync.events.addEventListener('rejected', refreshLive);
  // A link to the screen already shown still redraws it (no hashchange fires).
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#/"]');
    if (a && a.getAttribute('href') === location.hash) render();
  });
  sync.events.addEventListener('data', refreshLive);
  sync.events.addEventListener('auth-needed', () => announce(t('status.auth')));
  sync.events.addEventListener('revoked', showRevoked);
  sync.events.addEventListener('update-needed', async () => {
    announce(t('status.update'));
    const reg = await navigator.serviceWorker?.getRegistration('/app/');
    if (reg) reg.update(); // the waiting worker then offers "Update now"
  });
  setInterval(refreshStatus, 60 * 1000);
  await render();
  refreshStatus();
  document.documentElement.dataset.ready = 'true';
  registerWorker();
  sync.start();
  finishErase();
  fillLaterCache();
}

/** An erase asked for offline goes to the server once it can be reached. */
function finishErase() {
  const send = async () => {
    // Rare: its module loads only when an erase waits to be sent.
    if (!(await storage.getMeta('pendingErase'))) return;
    const erase = await import('./erase.js');
    if (await erase.sendPendingErase()) return;
    announce(t('erase.queued'));
  };
  addEventListener('online', send);
  send();
}

/** Once the app runs, ask the service worker to keep the on-demand files for offline use. */
function fillLaterCache() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.ready.then((reg) => {
    // Soon (a family may go offline a minute after joining), but after the first screen.
    const ask = () => reg.active && reg.active.postMessage({ type: 'fill-later' });
    if ('requestIdleCallback' in window) requestIdleCallback(ask, { timeout: 1000 });
    else setTimeout(ask, 200);
  });
}

/** Called by the settings screen when the language changes. */
export function relabel() {
  buildChrome();
  refreshStatus();
}

start();
