// Build DOM nodes without innerHTML: user data only ever becomes text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let uid = 0;
export const nextId = (prefix = 'f') => `${prefix}-${(uid += 1)}`;

/** A radio group in a fieldset with a legend; options: [{value, label, hint?, symbol?}]. */
export function radioGroup({ name, legend, options, value, hint, onchange, cls = '' }) {
  const hintId = hint ? nextId('hint') : null;
  return h('fieldset', { class: `choices ${cls}`, 'aria-describedby': hintId },
    h('legend', { text: legend }),
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    options.map((o) => {
      const id = nextId(name);
      const hid = o.hint ? `${id}-hint` : null;
      // The name is the word alone; the hint is a description, the symbol decoration.
      return h('div', { class: 'choice' },
        h('input', {
          type: 'radio', id, name, value: String(o.value), checked: String(value) === String(o.value),
          'aria-labelledby': `${id}-word`, 'aria-describedby': hid, onchange,
        }),
        h('label', { for: id },
          o.symbol ? h('span', { class: 'symbol', 'aria-hidden': 'true', text: o.symbol }) : null,
          h('span', { class: 'word', id: `${id}-word`, text: o.label }),
          o.hint ? h('span', { class: 'choice-hint', id: hid, text: o.hint }) : null));
    }));
}

export function field({ label, hint, control }) {
  const id = control.id || nextId('in');
  control.id = id;
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint`, text: hint });
    control.setAttribute('aria-describedby', `${id}-hint`);
  }
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), hintEl, control);
}

export function checked(form, name) {
  const el = form.querySelector(`input[name="${name}"]:checked`);
  return el ? el.value : null;
}

export function button(text, onclick, cls = 'btn') {
  return h('button', { type: 'button', class: cls, onclick, text });
}

export function link(text, href, cls = 'btn') {
  return h('a', { href, class: cls, text });
}
