// A notification's words in each language. The service worker shows them, and it cannot
// load a whole catalogue on demand (no import() in service workers), so they live here.
export default {
  en: { title: 'WithUs', body: 'Something changed because of what you said.' },
  ur: { title: 'WithUs', body: 'آپ کی بات کی وجہ سے کچھ بدلا ہے۔' },
};
