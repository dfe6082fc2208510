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
        email: email.value.trim(), password: password.value, label: label.value.trim() || t('signin.labelDefault'),
      }, { auth: false });
      await storage.setMeta('session', { kind: 'staff', token: data.token, device_id: data.device_id, user: data.user });
      await storage.deleteMeta('visit');
      await loadProjects().catch(() => {});
      await sync.syncNow();
      ctx.refreshStatus();
      ctx.go('visit');
    } catch (err) {
      error.textContent = err.status ? t('signin.bad') : t('common.offlineNeeded');
      email.focus();
    }
  });
  return h('section', { class: 'screen' }, h('h1', { text: t('signin.title') }), form);
}
