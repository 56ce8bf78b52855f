// Small DOM helpers. Everything the UI shows may come from a hostile
// container (session names are checked, but prompts, logs, diffs, tool
// names, error texts are not), so text is only ever set with textContent
// or text nodes, and attributes with setAttribute: nothing here parses HTML.

// h builds an element: h('td', {dataset: {field: 'name'}, class: 'x'}, 'text', child).
// attrs: class, dataset, on (event handlers), any other key is an attribute
// (false/null/undefined leave it out; true sets it empty).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// text sets an element's whole content to a string, safely.
export function text(el, s) {
  el.textContent = s === undefined || s === null ? '' : String(s);
  return el;
}

// clear empties an element and puts children in it.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }
export function $$(sel, root = document) { return [...root.querySelectorAll(sel)]; }

let toastTimer;
// toast shows a short message in #toast (role=status, aria-live=polite),
// where a screen reader announces it.
export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  if (!t) return;
  t.dataset.kind = kind;
  text(t, msg);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, kind === 'error' ? 12000 : 5000);
}

// errorBox is an inline error shown where the work failed, with the
// daemon's own message (which names the fix).
export function errorBox(err, what) {
  return h('div', { class: 'error', role: 'alert' },
    what ? h('strong', null, what + ': ') : null, errText(err));
}

export function errText(err) {
  if (!err) return '';
  return err.message || String(err);
}

// confirm asks in a <dialog> (button[data-confirm], button[data-cancel]);
// body is nodes or text. It resolves true when confirmed.
export function confirmDialog(title, body, confirmLabel = 'Confirm', danger = false) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const cancel = h('button', { type: 'button', dataset: { cancel: '' } }, 'Cancel');
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary', dataset: { confirm: '' } }, confirmLabel);
    const titleId = 'dlg-title-' + Math.random().toString(36).slice(2, 8);
    const dlg = h('dialog', { 'aria-labelledby': titleId, class: 'confirm' },
      h('h2', { id: titleId }, title),
      h('div', { class: 'dialog-body' }, body),
      h('div', { class: 'actions' }, cancel, ok));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      if (opener && opener.focus) opener.focus();
      resolve(v);
    };
    cancel.addEventListener('click', () => done(false));
    ok.addEventListener('click', () => done(true));
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// copyText copies to the clipboard, falling back to a selection when the
// Clipboard API is not there.
export async function copyText(s) {
  try {
    await navigator.clipboard.writeText(s);
    return true;
  } catch {
    const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    ta.value = s;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
    return ok;
  }
}
