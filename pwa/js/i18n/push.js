// A notification's words in each language. The service worker shows them, and it cannot
// load a whole catalogue on demand (no import() in service workers), so they live here.
// The server names the line it means ("done"); a line we do not know falls back to the
// server's English (in English) or to our own generic line.
export default {
  en: {
    title: 'WithUs',
    body: 'Something changed because of what you said.',
    lines: {
      linked: ['Your feedback was heard', 'It is now part of an action. Tap to see what is happening.'],
      planned: ['An action is planned', 'Something you told us about is planned. Tap to see.'],
      in_progress: ['Work has started', 'Something you told us about is now under way. Tap to see.'],
      done: ['Your contribution made a difference', 'What you told us led to a change. Tap to see what we did.'],
      not_possible: ['An update on your feedback', 'An action could not go ahead. Tap to see why.'],
      progress: ['News about your feedback', 'There is an update on something you told us about. Tap to see.'],
      update: ['An update on your feedback', 'Tap to see what changed.'],
    },
  },
  ur: {
    title: 'WithUs',
    body: 'آپ کی بات کی وجہ سے کچھ بدلا ہے۔',
    lines: {
      linked: ['آپ کی بات سنی گئی', 'اب یہ ایک کام کا حصہ ہے۔ دیکھنے کے لیے دبائیں کہ کیا ہو رہا ہے۔'],
      planned: ['ایک کام طے ہو گیا ہے', 'آپ نے جو بتایا تھا اس پر کام طے ہو گیا ہے۔ دیکھنے کے لیے دبائیں۔'],
      in_progress: ['کام شروع ہو گیا ہے', 'آپ نے جو بتایا تھا اس پر اب کام ہو رہا ہے۔ دیکھنے کے لیے دبائیں۔'],
      done: ['آپ کی بات سے فرق پڑا', 'آپ نے جو بتایا اس سے تبدیلی آئی۔ دیکھنے کے لیے دبائیں کہ ہم نے کیا کیا۔'],
      not_possible: ['آپ کی بات کے بارے میں خبر', 'ایک کام آگے نہیں بڑھ سکا۔ وجہ دیکھنے کے لیے دبائیں۔'],
      progress: ['آپ کی بات کے بارے میں نئی خبر', 'آپ نے جو بتایا تھا اس کے بارے میں نئی بات ہے۔ دیکھنے کے لیے دبائیں۔'],
      update: ['آپ کی بات کے بارے میں خبر', 'دیکھنے کے لیے دبائیں کہ کیا بدلا۔'],
    },
  },
};
