// Worker: a claim code so the family's own phone takes over this person's entries.
import { request } from '../api.js';
import * as sync from '../sync.js';
import { h } from '../dom.js';
import { dateTime, t } from '../i18n.js';

export async function render(ctx) {
  const result = h('div', { class: 'claim-result', role: 'status' });
  const make = h('button', { type: 'button', class: 'btn primary', text: t('claim.make') });
  make.addEventListener('click', async () => {
    result.replaceChildren();
    try {
      await sync.syncNow(); // the server must know the person first
      const data = await request('POST', '/api/claims', { participant_id: ctx.subject.participant_id });
      result.replaceChildren(
        h('p', { class: 'code', text: t('claim.code', { code: data.code }) }),
        data.expires_at ? h('p', { text: t('claim.expires', { time: dateTime(Date.parse(data.expires_at)) }) }) : null);
    } catch (err) {
      result.replaceChildren(h('p', { class: 'error', text: err.status ? err.message : t('common.offlineNeeded') }));
    }
  });
  return h('section', { class: 'screen' },
    h('h1', { text: t('claim.title') }),
    h('p', { class: 'lead', text: t('claim.intro') }),
    make, result);
}
