// Language, easy read, messages (push, only after a tap), about me, withdrawing consent, signing out.
import { ApiError, NetworkError, request } from '../api.js';
import * as model from '../model.js';
import * as storage from '../storage.js';
import * as erase from '../erase.js';
import { quietHoursSection } from './quiet-hours.js';
import { button, field, h, link, radioGroup } from '../dom.js';
import { date, getLang, languages, t, time } from '../i18n.js';

function keyBytes(base64url) {
  const pad = '='.repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob((base64url + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function registration() {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return null;
  return navigator.serviceWorker.getRegistration('/app/');
}

// A push service that never answers must not leave "Turning on messages…" up for good.
const SUBSCRIBE_TIMEOUT_MS = 15000;
class PushTimeout extends Error {}

function withinTime(promise) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new PushTimeout()), SUBSCRIBE_TIMEOUT_MS); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Say what really stopped messages being turned on. */
function pushFailure(err) {
  if (err instanceof PushTimeout) return t('settings.notifySlow');
  if (err instanceof ApiError) return err.message;
  if (err instanceof NetworkError) return t(err.reason === 'offline' ? 'common.offlineNeeded' : 'status.unreachable');
  // The browser refused (a private window, no push service): say so, not "no internet".
  return t('settings.notifyRefused');
}

async function pushSection(ctx) {
  const box = h('div', { class: 'card' }, h('h2', { text: t('settings.notify') }), h('p', { text: t('settings.notifyIntro') }));
  const msg = h('p', { role: 'status' });
  // Messages are for families: a worker's phone gets no card about them at all.
  if (ctx.session && ctx.session.kind === 'staff') return null;
  const reg = await registration();
  if (!reg || !ctx.session || ctx.session.kind !== 'participant') {
    box.append(h('p', { text: t('settings.notifyUnsupported') }));
    return box;
  }
  const notify = ctx.prefs.notify || 'all';
  const when = radioGroup({
    name: 'notify', legend: t('settings.notifyWhen'), value: notify,
    options: [{ value: 'all', label: t('settings.all') }, { value: 'done_only', label: t('settings.doneOnly') }],
    onchange: async (e) => {
      await ctx.savePrefs({ notify: e.target.value });
      const sub = await reg.pushManager.getSubscription();
      if (sub) await request('POST', '/api/push/subscriptions', { ...sub.toJSON(), notify: e.target.value }).catch(() => {});
      msg.textContent = t('settings.saved');
    },
  });
  const sub = await reg.pushManager.getSubscription();
  const on = button(t('settings.notifyOn'), async () => {
    msg.textContent = t('settings.notifyWorking');
    on.disabled = true; // one attempt at a time
    try {
      if ((await Notification.requestPermission()) !== 'granted') {
        msg.textContent = t('settings.notifyBlocked');
        return;
      }
      const { public_key: key } = await request('GET', '/api/push/key');
      const s = await withinTime(reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }));
      await request('POST', '/api/push/subscriptions', { ...s.toJSON(), notify: ctx.prefs.notify || 'all' });
      ctx.announce(t('settings.notifyDone'));
      ctx.go('settings');
    } catch (err) {
      msg.textContent = pushFailure(err);
    } finally {
      on.disabled = false;
    }
  }, 'btn primary');
  const off = button(t('settings.notifyOff'), async () => {
    const s = await reg.pushManager.getSubscription();
    if (s) {
      await request('DELETE', '/api/push/subscriptions', { endpoint: s.endpoint }).catch(() => {});
      await s.unsubscribe();
    }
    ctx.go('settings');
  });
  box.append(h('p', { text: t(sub ? 'settings.notifyIsOn' : 'settings.notifyIsOff') }), sub ? off : on, when, msg);
  return box;
}

/** "About me (optional)" and withdrawing consent: for the person this phone belongs to. */
async function consentSections(ctx) {
  if (!ctx.session || ctx.session.kind !== 'participant' || !ctx.subject) return [];
  const { id, value: rec } = await model.consentRecord(ctx.subject);
  if (!rec) return [];
  if (rec.withdrawn_at) {
    const when = Date.parse(rec.withdrawn_at);
    return [h('div', { class: 'card' },
      h('h2', { text: t('withdraw.title') }),
      h('p', { text: t('withdraw.doneOn', { date: Number.isNaN(when) ? rec.withdrawn_at : date(when) }) }),
      h('p', { text: t('withdraw.means') }),
      h('p', { text: t('withdraw.erase') }),
      h('p', { text: t('withdraw.again') }))];
  }
  const about = h('div', { class: 'card' },
    h('h2', { text: t('equality.title') }),
    h('p', { text: t('settings.equalityIntro') }),
    link(t('settings.equalityOpen'), '#/equality'));
  const box = h('div', { class: 'card', id: 'withdraw' },
    h('h2', { text: t('withdraw.title') }),
    h('p', { text: t('withdraw.intro') }));
  const start = button(t('withdraw.button'), () => {
    const confirmText = h('p', { id: 'withdraw-confirm-text', text: t('withdraw.confirmText') });
    const yes = h('button', {
      type: 'button', class: 'btn danger', text: t('withdraw.confirm'), 'aria-describedby': 'withdraw-confirm-text',
    });
    const no = button(t('common.cancel'), () => {
      confirm.replaceWith(start);
      start.focus();
    });
    const confirm = h('div', { class: 'confirm' }, confirmText, h('p', { class: 'actions' }, yes, no));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      await ctx.write([{ type: 'consent', id, values: { withdrawn_at: new Date().toISOString() } }]);
      ctx.announce(t('withdraw.done'));
      ctx.go('settings');
    });
    start.replaceWith(confirm);
    yes.focus();
  });
  box.append(start);
  return [about, box];
}

/** "Add another phone": a one-use code this phone makes for the family's next phone. */
function anotherPhoneSection(ctx) {
  if (!ctx.session || ctx.session.kind !== 'participant') return null;
  const result = h('div', { class: 'claim-result', role: 'status' });
  const make = button(t('another.make'), async () => {
    result.replaceChildren();
    try {
      const data = await request('POST', '/api/me/another-phone');
      const until = Date.parse(data.expires_at);
      result.replaceChildren(
        h('p', { class: 'code', text: t('another.code', { code: data.code }) }),
        h('p', { text: t('another.expires', { time: time(until), date: date(until) }) }));
    } catch (err) {
      result.replaceChildren(h('p', { class: 'error', text: err.status ? err.message : t('common.offlineNeeded') }));
    }
  }, 'btn');
  return h('div', { class: 'card', id: 'another-phone' },
    h('h2', { text: t('another.title') }), h('p', { text: t('another.intro') }), make, result);
}

/** "Download my data" and "Erase my data": for the person this phone belongs to. */
function myDataSection(ctx) {
  if (!ctx.session || ctx.session.kind !== 'participant' || !ctx.subject) return null;
  const box = h('div', { class: 'card', id: 'my-data' },
    h('h2', { text: t('mydata.title') }),
    h('p', { text: t('mydata.settingsIntro') }),
    link(t('mydata.open'), '#/mydata'),
    h('h2', { text: t('erase.title') }),
    h('p', { text: t('erase.intro') }));
  const start = button(t('erase.button'), () => {
    const text = h('p', { id: 'erase-confirm-text', text: t('erase.confirmText') });
    const yes = h('button', { type: 'button', class: 'btn danger', text: t('erase.confirm'), 'aria-describedby': 'erase-confirm-text' });
    const no = button(t('common.cancel'), () => { confirmBox.replaceWith(start); start.focus(); });
    const confirmBox = h('div', { class: 'confirm' }, text, h('p', { class: 'actions' }, yes, no));
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      const sent = await erase.eraseEverything();
      ctx.relabel();
      ctx.announce(t(sent ? 'erase.done' : 'erase.queued'));
      ctx.go('welcome');
    });
    start.replaceWith(confirmBox);
    yes.focus();
  }, 'btn danger');
  box.append(start);
  return box;
}

export async function render(ctx) {
  const lang = h('select', { name: 'lang' },
    languages.map((l) => h('option', { value: l.code, lang: l.code, selected: l.code === getLang(), text: l.name })));
  const status = h('p', { role: 'status' });
  lang.addEventListener('change', async () => {
    await ctx.savePrefs({ lang: lang.value });
    // Chosen offline before its strings ever came: kept as the choice, shown once online.
    if (getLang() !== lang.value) ctx.announce(t('settings.languageLater'));
    ctx.relabel();
    ctx.go('settings');
  });
  const easy = h('input', { type: 'checkbox', id: 'set-easy', checked: !!ctx.prefs.easyRead });
  easy.addEventListener('change', async () => {
    await ctx.savePrefs({ easyRead: easy.checked });
    status.textContent = t('settings.saved');
  });
  const out = h('section', { class: 'screen' },
    h('h1', { text: t('settings.title') }),
    h('div', { class: 'card' },
      field({ label: t('settings.language'), control: lang }),
      h('div', { class: 'check' }, easy, h('label', { for: 'set-easy', text: t('settings.easyRead') })),
      status),
    await pushSection(ctx),
    await quietHoursSection(ctx),
    await consentSections(ctx),
    anotherPhoneSection(ctx),
    myDataSection(ctx));
  if (ctx.session) {
    const note = h('p', { role: 'status' });
    out.append(h('div', { class: 'card' }, button(t('settings.signOut'), async () => {
      const stats = await storage.outboxStats();
      if (stats.count) {
        note.textContent = t('settings.signOutWait');
        return;
      }
      if (ctx.session.kind === 'staff') await request('DELETE', '/api/devices/current').catch(() => {});
      const prefs = ctx.prefs;
      await storage.clearAll();
      await storage.setMeta('settings', prefs);
      ctx.relabel();
      ctx.go('welcome');
    }), note));
  }
  return out;
}
