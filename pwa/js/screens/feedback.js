// Free feedback, optionally about one of the four principles; also changes feedback already given.
import * as model from '../model.js';
import * as drafts from '../drafts.js';
import { uuid7 } from '../ids.js';
import { checked, field, h, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

/** The person's own feedback with this id, or null. */
async function ownFeedback(subj, id) {
  const found = (await model.feedbackFor(subj.participant_id)).find((f) => f.id === id);
  return found || null;
}

export async function render(ctx, [editId]) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const existing = editId ? await ownFeedback(subj, editId) : null;
  if (editId && !existing) {
    return h('section', { class: 'screen' }, h('h1', { text: t('feedback.gone') }));
  }
  const text = h('textarea', { name: 'text', rows: '6', maxlength: '2000', required: true, dir: 'auto', value: existing?.text || '' });
  const error = h('p', { class: 'error', role: 'alert' });
  const draft = await drafts.keep(text, drafts.draftKey(subj, 'feedback', ...(editId ? [editId] : [])));
  const options = [{ value: '', label: t('feedback.none') }]
    .concat(model.PRINCIPLES.map((p) => ({ value: p, label: t(`principle.${p}`) })));
  const form = h('form', { class: 'card', novalidate: true },
    field({ label: t('feedback.text'), hint: t('feedback.textHint'), control: text }),
    draft.restored ? h('p', { class: 'hint', text: t('draft.restored') }) : null,
    radioGroup({ name: 'principle', legend: `${t('feedback.principle')} ${t('common.optional')}`, options, value: existing?.principle || '' }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: t(existing ? 'feedback.saveChange' : 'feedback.send') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) {
      error.textContent = t('feedback.empty');
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    const principle = checked(form, 'principle') || null;
    if (existing) {
      const changed = model.changedValues(existing, { text: value.slice(0, 2000), principle });
      if (Object.keys(changed).length) {
        await ctx.write([{ type: 'feedback', id: existing.id, values: { ...model.identity(subj), ...changed } }]);
      }
    } else {
      await ctx.write([{
        type: 'feedback',
        id: uuid7(),
        values: model.entry(subj, {
          stage: project ? project.current_stage : 'design',
          text: value.slice(0, 2000),
          principle,
        }),
      }]);
    }
    await draft.clear();
    ctx.announce(t(existing ? 'feedback.changed' : 'feedback.thanks'));
    ctx.go('contributions');
  });
  return h('section', { class: 'screen' }, h('h1', { text: t(existing ? 'feedback.editTitle' : 'feedback.title') }), form);
}
