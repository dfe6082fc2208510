// Drafts: text a person has typed but not saved yet, kept in IndexedDB as they type,
// so leaving the screen, a reload or a closed tab loses nothing. Cleared once saved.
import * as storage from './storage.js';

const WAIT_MS = 300;
const metaKey = (key) => `draft:${key}`;

/** The draft kept under key, or null. */
export async function get(key) {
  const draft = await storage.getMeta(metaKey(key));
  return draft && typeof draft.text === 'string' ? draft.text : null;
}

/** Forget the draft under key (the text was saved). */
export function clear(key) {
  return storage.deleteMeta(metaKey(key));
}

/**
 * Keep control's text as a draft under key: restore a draft into it now, then store
 * every change shortly after typing stops (and at once when the page is hidden).
 * Returns {restored, clear}: call clear() once the text is saved for real.
 */
export async function keep(control, key) {
  const saved = await get(key);
  if (saved !== null) control.value = saved;
  let timer = null;
  let last = control.value;
  const store = () => {
    clearTimeout(timer);
    timer = null;
    if (control.value === last) return;
    last = control.value;
    storage.setMeta(metaKey(key), { text: control.value, at: Date.now() }).catch(() => {});
  };
  const onHidden = () => {
    if (!control.isConnected) { document.removeEventListener('visibilitychange', onHidden); return; }
    if (document.visibilityState === 'hidden') store();
  };
  control.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(store, WAIT_MS);
  });
  control.addEventListener('blur', store);
  document.addEventListener('visibilitychange', onHidden);
  return {
    restored: saved !== null,
    async clear() {
      clearTimeout(timer);
      timer = null;
      last = control.value;
      await clear(key);
    },
  };
}

/** Key naming one place a person types, for one participant. */
export function draftKey(subj, ...where) {
  return [subj.participant_id, subj.project_id, ...where].join(':');
}
