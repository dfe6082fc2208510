// Worker: choose the project and person for this visit (or add a new person),
// and whether entries are assisted or by proxy.
import * as model from '../model.js';
import * as storage from '../storage.js';
import { uuid7 } from '../ids.js';
import { checked, field, h, radioGroup } from '../dom.js';
import { dateTime, t } from '../i18n.js';
import { personValues } from '../person.js';
import { loadProjects } from './signin.js';

export const live = true;

/** A name a worker can tell apart: the one given, or when they were added (ids look alike). */
function personName(p) {
  if (p.display_name) return p.display_name;
  const added = model.uuid7Time(p.id);
  return Number.isFinite(added) ? t('visit.noNameAdded', { when: dateTime(added) }) : t('visit.noName');
}

export async function render(ctx) {
  let projects = await storage.getMeta('projects', []);
  if (!projects.length) {
    try { await loadProjects(); projects = await storage.getMeta('projects', []); } catch { /* offline */ }
  }
  const out = h('section', { class: 'screen' }, h('h1', { text: t('visit.title') }));
  if (!projects.length) {
    out.append(h('p', { text: t('visit.noProjects') }));
    return out;
  }
  const visit = ctx.visit || {};
  const projectId = visit.project_id && projects.some((p) => p.id === visit.project_id) ? visit.project_id : projects[0].id;
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true });
  const people = h('div');

  async function showPeople(pid) {
    const list = await model.participants(pid);
    const options = list.map((p) => ({
      value: p.id,
      label: t('visit.person.label', { name: personName(p), role: t(`role.${p.role}`) }),
      hint: t(`age.${p.age_band}`),
    }));
    options.push({ value: 'new', label: t('visit.new') });
    people.replaceChildren(radioGroup({
      name: 'person', legend: t('visit.person'), options,
      value: list.some((p) => p.id === visit.participant_id) ? visit.participant_id : (list.length ? null : 'new'),
      onchange: () => { fresh.hidden = checked(form, 'person') !== 'new'; },
    }));
    fresh.hidden = checked(form, 'person') !== 'new';
  }

  const name = h('input', { type: 'text', name: 'display_name', maxlength: '80', autocomplete: 'off' });
  const fresh = h('div', { class: 'new-person' },
    field({ label: `${t('visit.name')} ${t('common.optional')}`, control: name }),
    radioGroup({ name: 'role', legend: t('visit.role'), options: model.ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })) }),
    radioGroup({ name: 'age_band', legend: t('visit.age'), options: model.AGES.map((a) => ({ value: a, label: t(`age.${a}`) })) }));

  form.append(
    projects.length > 1
      ? radioGroup({
        name: 'project', legend: t('visit.project'), value: projectId,
        options: projects.map((p) => ({ value: p.id, label: p.title })),
        onchange: () => showPeople(checked(form, 'project')),
      })
      : h('p', { class: 'lead', text: t('home.project', { title: projects[0].title }) }),
    people, fresh,
    radioGroup({
      name: 'mode', legend: t('visit.mode'), value: visit.mode || 'assisted',
      options: [{ value: 'assisted', label: t('visit.assisted') }, { value: 'proxy', label: t('visit.proxy') }],
    }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: t('visit.start') }));
  await showPeople(projectId);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const pid = checked(form, 'project') || projectId;
    let person = checked(form, 'person');
    if (!person) {
      error.textContent = t('visit.pick');
      form.querySelector('input[name="person"]').focus();
      return;
    }
    if (person === 'new') {
      const values = personValues(form, name, error, pid);
      if (!values) return;
      person = uuid7();
      await ctx.write([{ type: 'participant', id: person, values }]);
    }
    await storage.setMeta('visit', { project_id: pid, participant_id: person, mode: checked(form, 'mode') || 'assisted' });
    ctx.go('home');
  });
  out.append(form);
  return out;
}
