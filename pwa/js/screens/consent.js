// About you (first time on a family's own phone) and consent, plain or easy read.
// Under 13: a parent or carer must say yes.
import * as model from '../model.js';
import { naturalId } from '../ids.js';
import { checked, field, h, radioGroup } from '../dom.js';
import { t } from '../i18n.js';
import { fallbackNote, localized, textSpan } from '../localized.js';
import { personValues } from '../person.js';

/** Who a worker is recording consent for, in words. */
function whose(person) {
  const who = person && person.display_name ? person.display_name : t('consent.thisPerson');
  const role = person && person.role ? t(`role.${person.role}`) : '';
  return role ? `${who} (${role})` : who;
}

/** Who asks, how to reach them, their privacy notice and their own words, when staff gave them. */
function projectDetails(project) {
  if (!project) return [];
  const out = [];
  if (project.consent_text) out.push(h('p', { class: 'notice' }, textSpan(project, 'consent_text')));
  if (project.organisation) out.push(h('p', { text: t('consent.org', { org: project.organisation }) }));
  if (project.contact) out.push(h('p', { text: t('consent.contact', { contact: project.contact }) }));
  if (/^https?:\/\//.test(project.privacy_url || '')) {
    out.push(h('p', {}, h('a', { href: project.privacy_url, rel: 'noopener', target: '_blank', text: t('consent.privacy') })));
  }
  if (project.consent_text && localized(project, 'consent_text').fallback) out.push(fallbackNote());
  return out;
}

export async function render(ctx) {
  const subj = ctx.subject;
  const person = await model.participant(subj.participant_id);
  const project = await model.project(subj.project_id);
  const ownPhone = ctx.session.kind === 'participant';
  const askAbout = ownPhone && !person;
  let easy = !!ctx.prefs.easyRead;

  const notice = h('p', { class: 'notice', text: t(easy ? 'consent.easy' : 'consent.plain') });
  const easySwitch = h('input', { type: 'checkbox', id: 'consent-easy', checked: easy });
  easySwitch.addEventListener('change', () => {
    easy = easySwitch.checked;
    notice.textContent = t(easy ? 'consent.easy' : 'consent.plain');
  });
  const parentBox = h('input', { type: 'checkbox', id: 'consent-parent', name: 'parent' });
  const parentRow = h('div', { class: 'check' }, parentBox, h('label', { for: 'consent-parent', text: t('consent.parent') }));
  const parentHint = h('p', { class: 'hint', text: t('consent.parentNeeded') });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true });

  const ageNow = () => (askAbout ? checked(form, 'age_band') : person && person.age_band);
  const showParent = () => {
    const under13 = ageNow() === 'under_13';
    parentRow.hidden = !under13;
    parentHint.hidden = !under13;
  };

  let name = null;
  if (askAbout) {
    name = h('input', { type: 'text', name: 'display_name', maxlength: '80', autocomplete: 'nickname' });
    form.append(
      h('h2', { text: t('about.title') }),
      radioGroup({ name: 'role', legend: t('about.role'), options: model.ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })) }),
      radioGroup({ name: 'age_band', legend: t('about.age'), options: model.AGES.map((a) => ({ value: a, label: t(`age.${a}`) })), onchange: showParent }),
      field({ label: `${t('about.name')} ${t('common.optional')}`, hint: t('about.nameHint'), control: name }),
    );
  }
  if (!ownPhone) form.append(h('p', { class: 'lead', text: t('consent.whose', { who: whose(person) }) }));
  form.append(
    h('h2', { text: t('consent.title') }),
    h('div', { class: 'check' }, easySwitch, h('label', { for: 'consent-easy', text: t('consent.easyRead') })),
    notice, ...projectDetails(project), parentHint, parentRow, error,
    h('button', { type: 'submit', class: 'btn primary', text: t('consent.self') }),
  );
  showParent();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const changes = [];
    if (askAbout) {
      const values = personValues(form, name, error, subj.project_id);
      if (!values) return;
      changes.push({ type: 'participant', id: subj.participant_id, values });
    }
    const under13 = ageNow() === 'under_13';
    if (under13 && !parentBox.checked) {
      error.textContent = t('consent.parentCheck');
      parentBox.focus();
      return;
    }
    const byParent = under13 || ctx.subject.mode === 'proxy';
    changes.push({
      type: 'consent',
      id: await naturalId.consent(subj.participant_id, subj.project_id),
      values: {
        participant_id: subj.participant_id,
        project_id: subj.project_id,
        notice_version: model.NOTICE_VERSION,
        given_by: byParent ? 'parent_carer' : 'self',
        given_at: new Date().toISOString(),
        withdrawn_at: null,
      },
    });
    await ctx.write(changes);
    if (easy !== !!ctx.prefs.easyRead) await ctx.savePrefs({ easyRead: easy });
    ctx.announce(t('consent.done'));
    ctx.go('home');
  });
  return h('section', { class: 'screen' }, h('h1', { text: t('consent.title') }), form);
}
