// Quiet hours in Settings: off, or a window in the person's own time zone. Messages that
// arrive in the window wait until it ends; turning it off lets waiting ones go at once.
import { request } from '../api.js';
import { button, field, h, radioGroup } from '../dom.js';
import { t } from '../i18n.js';

const OFF = '00:00'; // start == end means no quiet hours (server/push/quiet.py)

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'Europe/London'; } catch { return 'Europe/London'; }
}

/** The settings card, or null when this phone does not get messages (staff). */
export async function quietHoursSection(ctx) {
  if (!ctx.session || ctx.session.kind !== 'participant') return null;
  const box = h('div', { class: 'card', id: 'quiet-hours' },
    h('h2', { text: t('quiet.title') }), h('p', { text: t('quiet.intro') }));
  let current;
  try {
    current = await request('GET', '/api/push/quiet-hours', undefined, { timeoutMs: 8000 });
  } catch (err) {
    box.append(h('p', { text: err.status ? err.message : t('quiet.needServer') }));
    return box;
  }
  const on = current.start !== current.end;
  const start = h('input', { type: 'time', name: 'start', value: on ? current.start : '21:00' });
  const end = h('input', { type: 'time', name: 'end', value: on ? current.end : '08:00' });
  const times = h('div', { hidden: !on },
    field({ label: t('quiet.from'), control: start }),
    field({ label: t('quiet.until'), control: end }),
    h('p', { class: 'hint', text: t('quiet.zone', { zone: browserZone() }) }));
  const msg = h('p', { role: 'status' });
  const choice = radioGroup({
    name: 'quiet', legend: t('quiet.legend'), value: on ? 'on' : 'off',
    options: [{ value: 'on', label: t('quiet.on') }, { value: 'off', label: t('quiet.off') }],
    onchange: (e) => { times.hidden = e.target.value !== 'on'; },
  });
  const save = button(t('common.save'), async () => {
    const wantOn = box.querySelector('input[name="quiet"]:checked')?.value === 'on';
    const body = wantOn
      ? { start: start.value, end: end.value, timezone: browserZone() }
      : { start: OFF, end: OFF, timezone: browserZone() };
    msg.textContent = t('quiet.saving');
    try {
      const res = await request('PUT', '/api/push/quiet-hours', body);
      msg.textContent = res.released ? t('quiet.savedReleased') : t('settings.saved');
    } catch (err) {
      const control = err.field === 'end' ? end : start;
      if (err.field) control.setAttribute('aria-invalid', 'true');
      msg.textContent = err.status ? t('quiet.badTime') : t('quiet.needServer');
    }
  }, 'btn primary');
  box.append(choice, times, save, msg);
  return box;
}
