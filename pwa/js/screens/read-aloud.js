// The speaker button on a statement: reads it (Easy Read text when on) in its language.
import { button } from '../dom.js';
import { t } from '../i18n.js';
import { say, voiceFor } from '../speech.js';

/**
 * A "Read aloud" button for the text current() gives ({text, lang}). It starts hidden and
 * shows once the browser turns out to have a voice for the language (never blocks the screen).
 */
export function readAloudButton(current) {
  const b = button(`🔊 ${t('speech.read')}`, async () => {
    const now = current();
    say(now.text, now.lang, await voiceFor(now.lang));
  }, 'btn read-aloud');
  b.hidden = true;
  voiceFor(current().lang).then((voice) => {
    b.hidden = !voice;
    b.dataset.voice = voice ? 'yes' : 'no'; // decided: tests wait for this
  });
  return b;
}
