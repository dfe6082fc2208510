// Read aloud: the browser's own speech synthesis, in the language of the words read.
// The button is offered only where the browser has a voice for that language.

const VOICE_WAIT_MS = 1500;

function synth() {
  return typeof speechSynthesis !== 'undefined' ? speechSynthesis : null;
}

/** The voices, waiting briefly for the list (Chromium fills it after a `voiceschanged`). */
async function voices() {
  const s = synth();
  if (!s) return [];
  const now = s.getVoices();
  if (now.length) return now;
  return new Promise((resolve) => {
    const done = () => resolve(s.getVoices());
    s.addEventListener('voiceschanged', done, { once: true });
    setTimeout(done, VOICE_WAIT_MS);
  });
}

/** A voice for a language code ('en', 'ur'), or null. */
export async function voiceFor(lang) {
  const list = await voices();
  const base = String(lang).toLowerCase();
  return list.find((v) => String(v.lang).toLowerCase().replace('_', '-').split('-')[0] === base) || null;
}

/** Say text in lang with that language's voice; stops anything still being read. */
export function say(text, lang, voice) {
  const s = synth();
  if (!s || !text) return;
  s.cancel();
  const u = new SpeechSynthesisUtterance(text);
  u.lang = voice ? voice.lang : lang;
  try {
    if (voice) u.voice = voice;
  } catch {
    // Not a voice this browser made: the language alone still picks one.
  }
  s.speak(u);
}
