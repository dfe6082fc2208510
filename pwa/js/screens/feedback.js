// Free feedback, optionally about one of the four principles.
import * as model from '../model.js';
import * as drafts from '../drafts.js';
import { uuid7 } from '../ids.js';
import { checked, field, h, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

export async function render(ctx) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const text = h('textarea', { name: 'text', rows: '6', maxlength: '2000', required: true, dir: 'auto' });
  const error = h('p', { class: 'error', role: 'alert' });
  const draft = await drafts.keep(text, drafts.draftKey(subj, 'feedback'));
  const options = [{ value: '', label: t('feedback.none') }]
    .concat(model.PRINCIPLES.map((p) => ({ value: p, label: t(`principle.${p}`) })));
  const form = h('form', { class: 'card', novalidate: true },
    field({ label: t('feedback.text'), hint: t('feedback.textHint'), control: text }),
    draft.restored ? h('p', { class: 'hint', text: t('draft.restored') }) : null,
    radioGroup({ name: 'principle', legend: `${t('feedback.principle')} ${t('common.optional')}`, options, value: '' }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: t('feedback.send') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) {
      error.textContent = t('feedback.empty');
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    const id = uuid7();
    await ctx.write([{
      type: 'feedback',
      id,
      values: model.entry(subj, {
        stage: project ? project.current_stage : 'design',
        text: value.slice(0, 2000),
        principle: checked(form, 'principle') || null,
      }),
    }]);
    await draft.clear();
    ctx.announce(t('feedback.thanks'));
    ctx.go('contributions');
  });
  return h('section', { class: 'screen' }, h('h1', { text: t('feedback.title') }), form);
}
