import { h, link } from '../dom.js';
import { t } from '../i18n.js';
import * as storage from '../storage.js';

/** Why this phone was emptied, once: its access was taken away. */
async function notice() {
  if ((await storage.getMeta('notice')) !== 'revoked') return null;
  return h('div', { class: 'card notice', role: 'alert' },
    h('h2', { text: t('revoked.title') }),
    h('p', { text: t('revoked.body') }));
}

export async function render() {
  return h('section', { class: 'screen' },
    h('h1', { text: t('welcome.title') }),
    await notice(),
    h('p', { class: 'lead', text: t('welcome.intro') }),
    h('p', { class: 'actions' },
      link(t('welcome.join'), '#/join', 'btn primary'),
      link(t('welcome.worker'), '#/signin', 'btn')));
}
