// Texts that staff write (statements, project title, summary, consent text) in the app's
// language when a translation came with the records, else in English with a note.
import { getLang, t } from './i18n.js';
import { h } from './dom.js';

/** {text, lang, fallback}: the field in the app's language, or the English and fallback=true. */
export function localized(rec, field) {
  const lang = getLang();
  const own = lang !== 'en' && rec && rec.translations && rec.translations[lang] && rec.translations[lang][field];
  if (own) return { text: own, lang, fallback: false };
  const text = (rec && rec[field]) || '';
  return { text, lang: 'en', fallback: lang !== 'en' && Boolean(text) };
}

/** A span of the text marked with its language, so screen readers speak it rightly. */
export function textSpan(rec, field, cls) {
  const l = localized(rec, field);
  return h('span', { class: cls || null, lang: l.lang, dir: 'auto', text: l.text });
}

/** The visible note shown once on a screen that has English in place of the person's language. */
export function fallbackNote() {
  return h('p', { class: 'hint fallback-note', text: t('i18n.fallback') });
}
