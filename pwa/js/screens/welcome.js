import { h, link } from '../dom.js';
import { t } from '../i18n.js';

export async function render() {
  return h('section', { class: 'screen' },
    h('h1', { text: t('welcome.title') }),
    h('p', { class: 'lead', text: t('welcome.intro') }),
    h('p', { class: 'actions' },
      link(t('welcome.join'), '#/join', 'btn primary'),
      link(t('welcome.worker'), '#/signin', 'btn')));
}
