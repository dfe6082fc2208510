// The checklist for the project's current stage, one "I statement" at a time.
import * as model from '../model.js';
import * as drafts from '../drafts.js';
import { answerList } from './answers.js';
import { fallbackNote, localized } from '../localized.js';
import { readAloudButton } from './read-aloud.js';
import { button, field, h, link, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

const CHOICES = [
  { value: 'agree', symbol: '✔' },
  { value: 'not_sure', symbol: '?' },
  { value: 'disagree', symbol: '✘' },
];

async function done(ctx, list, project) {
  let answered = 0;
  for (const s of list) {
    const a = await model.answer(ctx.subject, project.current_stage, s.id);
    if (a.value && a.value.value) answered += 1;
  }
  return h('section', { class: 'screen' },
    h('h1', { text: t('checklist.doneTitle') }),
    h('p', { class: 'lead', text: t('checklist.done', { n: answered, total: list.length }) }),
    h('h2', { text: t('answers.title') }),
    h('p', { class: 'hint', text: t('answers.hint') }),
    await answerList(ctx.subject, project),
    h('p', { class: 'actions' },
      link(t('home.ladder'), '#/ladder', 'btn primary'),
      link(t('home.feedback'), '#/feedback', 'btn')));
}

export async function render(ctx, [pos]) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const list = project ? await model.statements(project.id) : [];
  if (!project || !list.length) {
    return h('section', { class: 'screen' }, h('h1', { text: t('checklist.none') }), h('p', { text: t('home.waiting') }));
  }
  if (pos === 'done') return done(ctx, list, project);
  const n = Math.min(Math.max(parseInt(pos, 10) || 1, 1), list.length);
  const st = list[n - 1];
  const stage = project.current_stage;
  const { id, value: existing } = await model.answer(subj, stage, st.id);
  let easy = !!ctx.prefs.easyRead;

  const shown = () => localized(st, easy && st.easy_read ? 'easy_read' : 'text');
  const legendText = () => shown().text;
  const group = radioGroup({
    name: 'value',
    legend: legendText(),
    cls: 'answer',
    value: existing ? existing.value : null,
    options: CHOICES.map((c) => ({ ...c, label: t(`checklist.${c.value}`) })),
    onchange: () => save(),
  });
  const legend = group.querySelector('legend');
  if (st.symbol) legend.prepend(h('span', { class: 'statement-symbol', 'aria-hidden': 'true', text: `${st.symbol} ` }));
  const statementText = h('span', { class: 'statement-text', dir: 'auto', lang: shown().lang, text: legendText() });
  legend.replaceChildren(...[...legend.childNodes].filter((c) => c.nodeType === 1 && c !== statementText), statementText);
  const note = fallbackNote();
  note.hidden = !shown().fallback;

  const easySwitch = h('input', { type: 'checkbox', id: 'easy-read', checked: easy });
  easySwitch.addEventListener('change', async () => {
    easy = easySwitch.checked;
    statementText.textContent = legendText();
    statementText.lang = shown().lang;
    note.hidden = !shown().fallback;
    await ctx.savePrefs({ easyRead: easy });
  });

  const comment = h('textarea', { name: 'comment', rows: '3', maxlength: '1000', value: existing?.comment || '', dir: 'auto' });
  const draft = await drafts.keep(comment, drafts.draftKey(subj, 'checklist', stage, st.id));
  const form = h('form', { class: 'card', novalidate: true },
    group,
    field({ label: `${t('checklist.comment')} ${t('common.optional')}`, control: comment }),
    h('p', { class: 'actions' },
      n > 1 ? button(t('common.back'), async () => { await save(); ctx.go(`checklist/${n - 1}`); }) : null,
      h('button', { type: 'submit', class: 'btn primary', text: n < list.length ? t('common.next') : t('checklist.finish') })));

  let saved = existing || null;
  async function save() {
    const picked = form.querySelector('input[name="value"]:checked');
    if (!picked) return;
    const full = model.entry(subj, {
      stage, statement_id: st.id, value: picked.value, comment: comment.value.trim(),
    });
    if (!full.comment && !(saved && saved.comment)) delete full.comment;
    const values = model.changedValues(saved, full);
    if (Object.keys(values).length) {
      await ctx.write([{ type: 'checklist_answer', id, values }]);
      saved = { ...(saved || {}), ...full };
    }
    await draft.clear();
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await save();
    ctx.go(n < list.length ? `checklist/${n + 1}` : 'checklist/done');
  });

  return h('section', { class: 'screen' },
    h('h1', { text: t('checklist.title', { n, total: list.length }) }),
    h('progress', { max: String(list.length), value: String(n), 'aria-label': t('checklist.title', { n, total: list.length }) }),
    h('div', { class: 'check' }, easySwitch, h('label', { for: 'easy-read', text: t('checklist.easyRead') })),
    note,
    readAloudButton(shown),
    form);
}
