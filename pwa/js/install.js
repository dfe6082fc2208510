// "Install this app": Chromium offers it through beforeinstallprompt; iOS has no such event,
// so iPhone and iPad users see the Share → Add to Home Screen steps until they say they read them.
import * as storage from './storage.js';
import { button, h } from './dom.js';
import { t } from './i18n.js';

let deferred = null;

/** Catch the browser's install offer so the app can make it at a calm moment. */
export function listen() {
  addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault();
    deferred = e;
    dispatchEvent(new Event('withus-installable'));
  });
  addEventListener('appinstalled', () => { deferred = null; });
}

function isIos() {
  return /iphone|ipad|ipod/i.test(navigator.userAgent) && !navigator.standalone;
}

/** A card offering to install, or the iOS steps the first time; null when neither fits. */
export async function installHint() {
  if (matchMedia('(display-mode: standalone)').matches) return null;
  if (deferred) {
    const msg = h('p', { role: 'status' });
    const card = h('div', { class: 'card install' },
      h('p', { text: t('install.intro') }),
      button(t('install.button'), async () => {
        const offer = deferred;
        deferred = null;
        await offer.prompt();
        const choice = await offer.userChoice;
        msg.textContent = t(choice && choice.outcome === 'accepted' ? 'install.done' : 'install.later');
      }, 'btn'),
      msg);
    return card;
  }
  if (isIos() && !(await storage.getMeta('iosInstallShown'))) {
    // Shown until read: a redraw of Home must not lose it before the person saw it.
    const card = h('div', { class: 'card install' }, h('p', { text: t('install.ios') }));
    card.append(button(t('install.gotIt'), async () => {
      await storage.setMeta('iosInstallShown', true);
      card.remove();
      document.querySelector('main h1')?.focus();
    }, 'btn'));
    return card;
  }
  return null;
}
