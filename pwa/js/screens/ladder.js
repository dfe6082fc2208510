// The ladder of participation: which of five rungs did taking part feel like?
import * as model from '../model.js';
import * as drafts from '../drafts.js';
import { checked, field, h, link, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

export async function render(ctx) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const stage = project ? project.current_stage : 'design';
  const { id, value: existing } = await model.ladder(subj, stage);
  const rungs = [4, 3, 2, 1, 0].map((r) => ({ value: r, label: t(`ladder.rung${r}`), hint: t(`ladder.rung${r}.hint`), symbol: String(r) }));
  const comment = h('textarea', { name: 'comment', rows: '3', maxlength: '1000', value: existing?.comment || '', dir: 'auto' });
  const draft = await drafts.keep(comment, drafts.draftKey(subj, 'ladder', stage));
  const error = h('p', { class: 'error', role: 'alert' });
  const status = h('p', { class: 'saved', role: 'status' });
  const form = h('form', { class: 'card', novalidate: true },
    radioGroup({ name: 'rung', legend: t('ladder.legend'), options: rungs, value: existing ? existing.rung : null, cls: 'ladder' }),
    field({ label: `${t('ladder.comment')} ${t('common.optional')}`, control: comment }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: t('common.save') }),
    status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const rung = checked(form, 'rung');
    if (rung === null) {
      error.textContent = t('ladder.pick');
      form.querySelector('input[name="rung"]').focus();
      return;
    }
    const full = model.entry(subj, { stage, rung: Number(rung), comment: comment.value.trim() });
    if (!full.comment && !existing?.comment) delete full.comment;
    const values = model.changedValues(existing, full);
    if (Object.keys(values).length) await ctx.write([{ type: 'ladder_rating', id, values }]);
    await draft.clear();
    status.textContent = t('common.saved');
    next.hidden = false;
  });
  // After saving, the way on (the screen used to be a dead end).
  const next = h('p', { class: 'actions', hidden: true },
    link(t('home.feedback'), '#/feedback', 'btn primary'), link(t('nav.home'), '#/home', 'btn'));
  return h('section', { class: 'screen' }, h('h1', { text: t('ladder.title') }), form, next);
}
