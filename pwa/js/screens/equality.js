// "About me (optional)": equality questions. Every one can be skipped or answered
// "Prefer not to say"; answers are kept apart and only ever counted in groups of 5 or more.
import * as model from '../model.js';
import { checked, h, link, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

const QUESTIONS = Object.keys(model.EQUALITY);

export async function render(ctx) {
  const subj = ctx.subject;
  const { id, value: existing } = await model.equality(subj);
  const status = h('p', { class: 'saved', role: 'status' });
  const form = h('form', { class: 'card', novalidate: true },
    QUESTIONS.map((q) => radioGroup({
      name: q,
      legend: t(`equality.${q}`),
      value: existing ? existing[q] : null,
      options: model.EQUALITY[q].map((code) => ({ value: code, label: t(`equality.${q}.${code}`) })),
    })),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn primary', text: t('common.save') }),
      link(t('equality.skip'), '#/home')),
    status);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const full = { participant_id: subj.participant_id, project_id: subj.project_id };
    for (const q of QUESTIONS) {
      const picked = checked(form, q);
      if (picked) full[q] = picked;
    }
    if (!existing && QUESTIONS.every((q) => !(q in full))) {
      status.textContent = t('equality.nothing');
      return;
    }
    const values = model.changedValues(existing, full);
    if (Object.keys(values).length) await ctx.write([{ type: 'equality', id, values }]);
    status.textContent = t('equality.saved');
  });

  return h('section', { class: 'screen' },
    h('h1', { text: t('equality.title') }),
    h('div', { class: 'card' },
      h('p', { class: 'lead', text: t('equality.intro') }),
      h('p', { text: t('equality.why') }),
      h('p', { text: t('equality.groups') })),
    form);
}
