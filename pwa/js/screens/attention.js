// "Needs attention": entries the server rejected. Fix and send again, or throw away.
import * as storage from '../storage.js';
import * as sync from '../sync.js';
import { button, field, h } from '../dom.js';
import { t } from '../i18n.js';

export const live = true;
const EDITABLE = ['text', 'comment', 'display_name'];

function why(error) {
  if (error && error.code === 'removed') return t('attention.removed');
  return (error && error.message) || error?.code || '';
}

function item(ctx, r) {
  const fields = r.record.fields || {};
  const editable = EDITABLE.find((k) => k in fields) || null;
  const shown = editable ? fields[editable].v : (fields.value ? fields.value.v : '');
  const li = h('li', { class: 'card' },
    h('h2', { text: t(`type.${r.type}`) }),
    shown ? h('p', { text: t('attention.what', { what: String(shown) }) }) : null,
    h('p', { class: 'error', text: t('attention.why', { why: why(r.error) }) }));
  const actions = h('p', { class: 'actions' });
  let input = null;
  if (editable) {
    input = h('textarea', { rows: '3', name: editable, value: String(fields[editable].v ?? '') });
    li.append(field({ label: t('attention.fix'), control: input }));
  }
  const retry = button(t('attention.retry'), async () => {
    const values = {};
    if (input) values[editable] = input.value.trim();
    await storage.retryRejected(r.rid, values);
    sync.schedule(0);
    ctx.refreshStatus();
    ctx.go('attention');
  }, 'btn primary');
  const discard = button(t('attention.discard'), () => {
    const sure = button(t('attention.confirm'), async () => {
      await storage.discardRejected(r.rid);
      sync.schedule(0);
      ctx.refreshStatus();
      ctx.go('attention');
    }, 'btn danger');
    discard.replaceWith(sure);
    sure.focus();
  });
  actions.append(retry, discard);
  li.append(actions);
  return li;
}

export async function render(ctx) {
  const list = await storage.rejectedList();
  return h('section', { class: 'screen' },
    h('h1', { text: t('attention.title') }),
    list.length
      ? [h('p', { text: t('attention.intro') }), h('ul', { class: 'attention' }, list.map((r) => item(ctx, r)))]
      : h('p', { text: t('attention.none') }));
}
