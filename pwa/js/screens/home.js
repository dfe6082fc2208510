import * as model from '../model.js';
import * as sync from '../sync.js';
import { button, h, link } from '../dom.js';
import { t } from '../i18n.js';
import { installHint } from '../install.js';
import { fallbackNote, localized, textSpan } from '../localized.js';

export const live = true;

/** "Project: <title>", the title in its own language and direction. */
function projectLine(project) {
  const [before, after] = t('home.project', { title: '\u0000' }).split('\u0000');
  return h('p', { class: 'lead' }, before, textSpan(project, 'title'), after || '');
}

export async function render(ctx) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const out = h('section', { class: 'screen' }, h('h1', { text: t('home.title') }));
  if (ctx.session.kind === 'staff') {
    const person = await model.participant(subj.participant_id);
    const who = person && person.display_name ? person.display_name : t('visit.noName');
    out.append(h('div', { class: 'card visit' },
      h('p', { text: t('home.visit', { who }) }),
      h('p', { text: t('home.mode', { mode: t(`mode.${subj.mode}`) }) }),
      h('p', { class: 'actions' }, link(t('home.changeVisit'), '#/visit'), link(t('home.claim'), '#/claim'))));
  }
  if (!project) {
    out.append(h('p', { text: t('home.waiting') }),
      button(t('home.retry'), async () => { await sync.syncNow(); ctx.go('home'); }));
    return out;
  }
  out.append(
    projectLine(project),
    project.summary ? h('p', {}, textSpan(project, 'summary')) : null,
    localized(project, 'title').fallback ? fallbackNote() : null,
    h('p', { text: t('home.stage', { stage: t(`stage.${project.current_stage}`) }) }),
    h('ul', { class: 'menu' },
      h('li', {}, link(t('home.checklist'), '#/checklist/1', 'btn primary')),
      h('li', {}, link(t('home.ladder'), '#/ladder', 'btn')),
      h('li', {}, link(t('home.feedback'), '#/feedback', 'btn')),
      h('li', {}, link(t('home.contributions'), '#/contributions', 'btn')),
      h('li', {}, link(t('home.equality'), '#/equality', 'btn'))));
  const hint = await installHint();
  if (hint) out.append(hint);
  return out;
}
