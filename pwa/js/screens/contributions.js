// "My contributions": every entry a person gave (answers, ladder, feedback); each piece of
// feedback with the actions linked to it, and buttons to change or delete it.
import * as model from '../model.js';
import * as storage from '../storage.js';
import { button, h, link } from '../dom.js';
import { answerList } from './answers.js';
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

/** Change and delete for one piece of feedback; delete asks once more first. */
function feedbackControls(ctx, f) {
  const confirmBox = h('div', { class: 'confirm', hidden: true },
    h('p', { text: t('contrib.deleteSure') }),
    button(t('contrib.deleteYes'), async () => {
      await ctx.write([{ type: 'feedback', id: f.id, delete: true, values: model.identity(ctx.subject) }]);
      ctx.announce(t('contrib.deleted'));
      ctx.go('contributions');
    }, 'btn danger'),
    button(t('common.cancel'), () => { confirmBox.hidden = true; ask.focus(); }));
  const ask = button(t('contrib.delete'), () => { confirmBox.hidden = false; confirmBox.querySelector('button').focus(); });
  return h('div', { class: 'actions' },
    link(t('contrib.change'), `#/feedback/${encodeURIComponent(f.id)}`), ask, confirmBox);
}

/** The ladder rung the person chose this stage, with a link to change it. */
async function ladderPart(subj, stage) {
  const { value } = await model.ladder(subj, stage);
  if (!value || value.rung === undefined || value.rung === null) return null;
  return h('section', { class: 'card' },
    h('h2', { text: t('home.ladder') }),
    h('p', { text: t(`ladder.rung${value.rung}`) }),
    link(t('contrib.change'), '#/ladder'));
}

export async function render(ctx, [only]) {
  const subj = ctx.subject;
  const [mine, actions, pending] = await Promise.all([
    model.feedbackFor(subj.participant_id), model.actions(), storage.pendingIds(),
  ]);
  const out = h('section', { class: 'screen' }, h('h1', { text: t('contrib.title') }));
  const shown = only ? mine.filter((f) => f.id === only) : mine;
  if (!only) {
    const project = await model.project(subj.project_id);
    if (project) {
      const answers = await answerList(subj, project);
      if (answers) out.append(h('section', { class: 'card' }, h('h2', { text: t('contrib.answers') }), answers));
      const rung = await ladderPart(subj, project.current_stage);
      if (rung) out.append(rung);
    }
    out.append(h('h2', { text: t('contrib.feedback') }));
  }
  if (!shown.length) {
    out.append(h('p', { text: t('contrib.none') }), link(t('home.feedback'), '#/feedback', 'btn primary'));
    return out;
  }
  out.append(h('ul', { class: 'contributions' }, shown.map((f) => {
    const linked = actions.filter((a) => Array.isArray(a.feedback_ids) && a.feedback_ids.includes(f.id));
    return h('li', { class: 'card', id: `c-${f.id}` },
      h('h2', {}, h('time', { datetime: new Date(model.uuid7Time(f.id)).toISOString(), text: date(model.uuid7Time(f.id)) })),
      h('p', { class: 'said' }, h('strong', { text: `${t('contrib.said')}: ` }), h('span', { dir: 'auto', text: f.text })),
      f.principle ? h('p', { class: 'hint', text: t(`principle.${f.principle}`) }) : null,
      pending.has(f.id) ? h('p', { class: 'badge', text: t('contrib.notSent') }) : null,
      linked.length ? linked.map(actionView) : h('p', { class: 'hint', text: t('contrib.noAction') }),
      feedbackControls(ctx, f));
  })));
  if (only) out.append(link(t('contrib.all'), '#/contributions'));
  return out;
}
