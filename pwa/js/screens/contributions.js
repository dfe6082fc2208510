// "My contributions": each piece of feedback with the actions linked to it.
import * as model from '../model.js';
import * as storage from '../storage.js';
import { h, link } from '../dom.js';
import { date, t } from '../i18n.js';

export const live = true;

function actionView(a) {
  const timeline = Array.isArray(a.timeline) ? a.timeline : [];
  return h('article', { class: 'action' },
    h('p', { class: `badge status-${a.status}`, text: t('contrib.status', { status: t(`action.${a.status}`) }) }),
    a.heard ? h('p', { text: t('contrib.heard', { text: a.heard }) }) : null,
    a.done ? h('p', { text: t('contrib.did', { text: a.done }) }) : null,
    a.reason ? h('p', { text: t('contrib.reason', { text: a.reason }) }) : null,
    timeline.length ? h('details', {},
      h('summary', { text: t('contrib.timeline') }),
      h('ol', { class: 'timeline' }, timeline.map((step) => h('li', {},
        h('time', { datetime: step.at, text: date(Date.parse(step.at)) }),
        ` ${t(`action.${step.status}`)}`,
        step.note ? ` – ${step.note}` : '')))) : null);
}

export async function render(ctx, [only]) {
  const subj = ctx.subject;
  const [mine, actions, pending] = await Promise.all([
    model.feedbackFor(subj.participant_id), model.actions(), storage.pendingIds(),
  ]);
  const out = h('section', { class: 'screen' }, h('h1', { text: t('contrib.title') }));
  const shown = only ? mine.filter((f) => f.id === only) : mine;
  if (!shown.length) {
    out.append(h('p', { text: t('contrib.none') }), link(t('home.feedback'), '#/feedback', 'btn primary'));
    return out;
  }
  out.append(h('ul', { class: 'contributions' }, shown.map((f) => {
    const linked = actions.filter((a) => Array.isArray(a.feedback_ids) && a.feedback_ids.includes(f.id));
    return h('li', { class: 'card', id: `c-${f.id}` },
      h('h2', {}, h('time', { datetime: new Date(model.uuid7Time(f.id)).toISOString(), text: date(model.uuid7Time(f.id)) })),
      h('p', { class: 'said' }, h('strong', { text: `${t('contrib.said')}: ` }), f.text),
      f.principle ? h('p', { class: 'hint', text: t(`principle.${f.principle}`) }) : null,
      pending.has(f.id) ? h('p', { class: 'badge', text: t('contrib.notSent') }) : null,
      linked.length ? linked.map(actionView) : h('p', { class: 'hint', text: t('contrib.noAction') }));
  })));
  if (only) out.append(link(t('contrib.all'), '#/contributions'));
  return out;
}
