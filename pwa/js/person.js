// A participant as a form describes them: the family's own "About you" and a worker's new person.
import { checked } from './dom.js';
import { t } from './i18n.js';

/**
 * The participant record's values from the form's role, age band and (optional) name, or null
 * when the role or age band is missing: then `error` says which and the focus goes to it.
 */
export function personValues(form, nameInput, error, projectId) {
  const role = checked(form, 'role');
  const age = checked(form, 'age_band');
  if (!role || !age) {
    error.textContent = t(role ? 'consent.pickAge' : 'consent.pickRole');
    form.querySelector(`input[name="${role ? 'age_band' : 'role'}"]`).focus();
    return null;
  }
  const values = { project_id: projectId, role, age_band: age };
  if (nameInput.value.trim()) values.display_name = nameInput.value.trim().slice(0, 80);
  return values;
}
