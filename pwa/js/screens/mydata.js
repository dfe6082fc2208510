// "Download my data": everything this phone holds about the person, as a page to read,
// print or save, and the server's own JSON copy as a file.
import { request } from '../api.js';
import * as model from '../model.js';
import { button, h } from '../dom.js';
import { date, t } from '../i18n.js';
import { answerList } from './answers.js';

function row(label, value) {
  return h('div', { class: 'data-row' }, h('dt', { text: label }), h('dd', { dir: 'auto', text: value }));
}

async function aboutPart(subj) {
  const person = await model.participant(subj.participant_id);
  const consent = await model.consent(subj);
  const rows = [];
  if (person?.display_name) rows.push(row(t('mydata.name'), person.display_name));
  if (person?.role) rows.push(row(t('mydata.role'), t(`role.${person.role}`)));
  if (person?.age_band) rows.push(row(t('mydata.age'), t(`age.${person.age_band}`)));
  if (consent?.given_at) rows.push(row(t('mydata.consent'), date(Date.parse(consent.given_at))));
  return h('section', { class: 'card' }, h('h2', { text: t('mydata.about') }), h('dl', {}, rows));
}

async function feedbackPart(subj) {
  const mine = await model.feedbackFor(subj.participant_id);
  const items = mine.map((f) => h('li', {},
    h('p', { text: date(model.uuid7Time(f.id)) }), h('p', { dir: 'auto', text: f.text })));
  return h('section', { class: 'card' }, h('h2', { text: t('contrib.feedback') }),
    items.length ? h('ul', { class: 'plain' }, items) : h('p', { text: t('contrib.none') }));
}

/** Fetch the server's JSON copy and hand it to the browser as a file. */
async function downloadJson(msg) {
  msg.textContent = '';
  try {
    const data = await request('GET', '/api/me/export');
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: 'withus-my-data.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    msg.textContent = t('mydata.downloaded');
  } catch (err) {
    msg.textContent = err.status ? err.message : t('mydata.needServer');
  }
}

export async function render(ctx) {
  const subj = ctx.subject;
  const project = await model.project(subj.project_id);
  const msg = h('p', { role: 'status' });
  const answers = project ? await answerList(subj, project) : null;
  return h('section', { class: 'screen mydata' },
    h('h1', { text: t('mydata.title') }),
    h('p', { class: 'lead', text: t('mydata.intro') }),
    h('p', { class: 'actions no-print' },
      button(t('mydata.print'), () => print(), 'btn primary'),
      button(t('mydata.json'), () => downloadJson(msg)),
      msg),
    await aboutPart(subj),
    answers ? h('section', { class: 'card' }, h('h2', { text: t('contrib.answers') }), answers) : null,
    await feedbackPart(subj));
}
