// Worker sign-in: a device token from POST /api/devices, then the worker's projects.
import { request } from '../api.js';
import * as storage from '../storage.js';
import * as sync from '../sync.js';
import { field, h } from '../dom.js';
import { t } from '../i18n.js';

export async function loadProjects() {
  const me = await request('GET', '/api/me');
  await storage.setMeta('projects', me.projects || []);
  return me;
}

export async function render(ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const label = h('input', { type: 'text', name: 'label', value: t('signin.labelDefault') });
  // Shown once the server asks for it: accounts with two-step sign-in (every admin) need the code.
  const code = h('input', { type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '20' });
  const codeField = field({ label: t('signin.code'), control: code });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true },
    field({ label: t('signin.email'), control: email }),
    field({ label: t('signin.password'), control: password }),
    field({ label: t('signin.label'), control: label }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: t('signin.submit') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const data = await request('POST', '/api/devices', {
        email: email.value.trim(),
        password: password.value,
        label: label.value.trim() || t('signin.labelDefault'),
        code: code.value.replace(/\s/g, ''),
      }, { auth: false });
      await storage.setMeta('session', { kind: 'staff', token: data.token, device_id: data.device_id, user: data.user });
      await storage.deleteMeta('visit');
      await loadProjects().catch(() => {});
      await sync.syncNow();
      ctx.refreshStatus();
      ctx.go('visit');
    } catch (err) {
      if (err.code === 'two_step_code_required') {
        // The password was right; say what else is needed, in the server's words.
        if (!codeField.isConnected) error.before(codeField);
        error.textContent = err.message;
        code.focus();
        return;
      }
      error.textContent = err.status ? t('signin.bad') : t('common.offlineNeeded');
      email.focus();
    }
  });
  return h('section', { class: 'screen' }, h('h1', { text: t('signin.title') }), form);
}
