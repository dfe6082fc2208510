// "Check my answers": every statement of the current stage with the answer given, each a
// link to that question, so a skipped one is one tap away.
import * as model from '../model.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { textSpan } from '../localized.js';

/** A list of the stage's statements and answers, or null when there are no statements. */
export async function answerList(subj, project) {
  const list = await model.statements(project.id);
  if (!list.length) return null;
  const items = [];
  for (const [i, st] of list.entries()) {
    const { value } = await model.answer(subj, project.current_stage, st.id);
    const answer = value && value.value ? t(`checklist.${value.value}`) : t('answers.none');
    items.push(h('li', {},
      h('a', { href: `#/checklist/${i + 1}` },
        textSpan(st, 'text', 'statement'), ' ',
        h('strong', { class: value && value.value ? 'given' : 'missing', text: answer }))));
  }
  return h('ol', { class: 'answer-list' }, items);
}
