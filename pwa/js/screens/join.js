// Join a project with an invite code (typed, or from a QR link /app/#/join/CODE),
// or take over entries with a claim code from a worker.
import { request } from '../api.js';
import * as storage from '../storage.js';
import * as sync from '../sync.js';
import { field, h } from '../dom.js';
import { t } from '../i18n.js';

async function begin(ctx, data) {
  await storage.setMeta('session', {
    kind: 'participant',
    token: data.token,
    device_id: data.device_id,
    participant_id: data.participant_id,
    project_id: data.project_id,
  });
  await storage.deleteMeta('visit');
  // Fetch the project (and, after a claim, what the worker recorded) before going on;
  // home then sends a newcomer to consent.
  await sync.syncNow();
  ctx.refreshStatus();
  ctx.go('home');
}

function codeForm(ctx, { title, hint, label, submit, path, value, name }) {
  const input = h('input', { name, type: 'text', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', required: true, value: value || '' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', { text: title }),
    hint ? h('p', { class: 'hint', text: hint }) : null,
    field({ label, control: input }),
    error,
    h('button', { type: 'submit', class: 'btn primary', text: submit }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = input.value.trim();
    error.textContent = '';
    if (!code) {
      error.textContent = t('join.empty');
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    try {
      const data = await request('POST', path, { code }, { auth: false });
      await begin(ctx, data);
    } catch (err) {
      error.textContent = err.status ? t('join.bad') : t('common.offlineNeeded');
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  });
  return form;
}

export async function render(ctx, [code]) {
  return h('section', { class: 'screen' },
    h('h1', { text: t('join.title') }),
    codeForm(ctx, {
      title: t('join.inviteTitle'), hint: t('join.codeHint'), label: t('join.code'), submit: t('join.submit'),
      path: '/api/join', value: code, name: 'code',
    }),
    codeForm(ctx, {
      title: t('join.claimTitle'), hint: t('join.claimHint'), label: t('join.claimCode'), submit: t('join.claimSubmit'),
      path: '/api/claims/redeem', name: 'claim',
    }));
}
