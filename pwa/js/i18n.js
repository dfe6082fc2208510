// Strings come from one catalogue per language; the document's lang and dir follow.
// English is always loaded (the fallback); another language's strings load only when chosen.
import en from './i18n/en.js';

const catalogues = { en };
const loaders = { ur: () => import('./i18n/ur.js') };
const RTL = new Set(['ur']);
export const languages = [
  { code: 'en', name: 'English' },
  { code: 'ur', name: 'اردو' },
];

let lang = 'en';

/** The best catalogue for the browser's language list. */
export function fromNavigator(list = (typeof navigator !== 'undefined' && navigator.languages) || []) {
  for (const l of list) {
    const base = String(l).toLowerCase().split('-')[0];
    if (catalogues[base] || loaders[base]) return base;
  }
  return 'en';
}

/** Register a catalogue loaded by other means (a service worker may not use import()). */
export function addCatalogue(code, catalogue) {
  catalogues[code] = catalogue;
}

/** Load a language's strings if needed, then switch to it; resolves with the code in use. */
export async function loadLang(code) {
  if (!catalogues[code] && loaders[code]) {
    try {
      catalogues[code] = (await loaders[code]()).default;
    } catch {
      return setLang('en'); // not cached and offline: English rather than nothing
    }
  }
  return setLang(code);
}

/** Switch to a language whose strings are loaded (else English). */
export function setLang(code) {
  lang = catalogues[code] ? code : 'en';
  if (typeof document !== 'undefined') {
    document.documentElement.lang = lang;
    document.documentElement.dir = RTL.has(lang) ? 'rtl' : 'ltr';
  }
  return lang;
}

export const getLang = () => lang;

export function t(key, params = {}) {
  let s = catalogues[lang][key] ?? en[key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

/** Plural-aware: keys `${key}.one` and `${key}.other`. */
export function tn(key, n, params = {}) {
  const form = new Intl.PluralRules(lang).select(n) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { n, ...params });
}

// English dates in the British style (30 November 2026, 22:49), not the US one.
const locale = () => (lang === 'en' ? 'en-GB' : lang);

export function time(ms) {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' }).format(new Date(ms));
}

export function date(ms) {
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(ms));
}

/** A date with its time, for deadlines days away ("7 December 2026 at 22:49"). */
export function dateTime(ms) {
  return new Intl.DateTimeFormat(locale(), {
    day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(new Date(ms));
}
