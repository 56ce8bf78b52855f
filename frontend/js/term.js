// term.js puts a session's TTY in an xterm.js terminal: bytes from the
// WebSocket (or the desktop binding) go to the terminal as they are, keys
// go back as bytes, and the TTY follows the element's size (FitAddon
// computes cols and rows from the element and xterm's cell size; a
// ResizeObserver refits and sends a resize when either changes).
//
// xterm.js is the only thing that interprets what the container wrote,
// and it draws into its own DOM and canvas: none of it becomes HTML.

import { Terminal } from '../vendor/xterm/xterm.mjs';
import { FitAddon } from '../vendor/addon-fit/addon-fit.mjs';
import * as api from './api.js';

// open attaches the session to a terminal in el. onEnd(reason) runs when
// the stream ends. The answer's close() detaches and frees it.
export function openTerminal(el, name, { onEnd, onOpen } = {}) {
  const dark = window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  const term = new Terminal({
    cursorBlink: !(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches),
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: 13,
    scrollback: 5000,
    // The session's own TUI sets its colours; these are the defaults.
    theme: dark ? { background: '#0f1115', foreground: '#e6e6e6' } : { background: '#fbfbfc', foreground: '#1d1f23', cursor: '#1d1f23', selectionBackground: '#c9d7f2' },
    screenReaderMode: false,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  const styles = cspStyles(el);
  term.open(el);
  const enc = new TextEncoder();
  let last = { cols: 0, rows: 0 };
  let ended = false;

  const conn = api.attach(name, {
    onOpen: () => { sendSize(true); if (onOpen) onOpen(); term.focus(); },
    onData: (bytes) => term.write(bytes),
    onEnd: (reason) => {
      if (ended) return;
      ended = true;
      term.write('\r\n\x1b[2m[' + String(reason).replace(/[\x00-\x1f\x7f-\x9f]/g, '') + ']\x1b[0m\r\n');
      if (onEnd) onEnd(reason);
    },
  });

  function sendSize(force) {
    try { fit.fit(); } catch { return; }
    if (force || term.cols !== last.cols || term.rows !== last.rows) {
      last = { cols: term.cols, rows: term.rows };
      if (!ended) conn.resize(term.cols, term.rows);
      el.dataset.cols = String(term.cols);
      el.dataset.rows = String(term.rows);
    }
  }

  const sub1 = term.onData((s) => conn.send(enc.encode(s)));
  // onBinary carries bytes that are not UTF-8 text (some mouse reports).
  const sub2 = term.onBinary((s) => {
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
    conn.send(b);
  });
  let raf = 0;
  const ro = new ResizeObserver(() => {
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(() => sendSize(false));
  });
  ro.observe(el);
  sendSize(false);

  return {
    term,
    focus: () => term.focus(),
    close: () => {
      ended = true;
      ro.disconnect();
      styles.disconnect();
      cancelAnimationFrame(raf);
      sub1.dispose();
      sub2.dispose();
      conn.close();
      term.dispose();
    },
  };
}

// cspStyles makes xterm.js's DOM renderer work under the UI's CSP
// (style-src 'self'), which blocks what it does for colours and cell
// sizes: <style> elements it fills (theme, dimensions) and style
// attributes it sets with setAttribute (true-colour cells). Both stay in
// the DOM, unapplied; this copies each <style>'s text into a constructed
// stylesheet and each style attribute into the element's CSSOM style,
// neither of which the CSP restricts. Only xterm's own output reaches
// these (the container's bytes become colours, never CSS text).
function cspStyles(root) {
  const sheets = new Map(); // <style> → [CSSStyleSheet, text applied]
  const applied = new WeakMap(); // element → the style text it was given
  const syncStyle = (st) => {
    let e = sheets.get(st);
    if (!e) {
      e = [new CSSStyleSheet(), null];
      sheets.set(st, e);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, e[0]];
    }
    if (e[1] !== st.textContent) {
      e[1] = st.textContent;
      try { e[0].replaceSync(st.textContent); } catch { /* keep the last good one */ }
    }
  };
  const syncAttr = (node) => {
    const v = node.getAttribute('style');
    if (v === null || applied.get(node) === v) return;
    node.style.cssText = v;
    // cssText re-serialises the attribute; remember that form so the
    // mutation it causes is not taken for a new one.
    applied.set(node, node.getAttribute('style'));
  };
  const scan = (n) => {
    if (n.nodeType !== 1) {
      if (n.parentNode && n.parentNode.nodeName === 'STYLE') syncStyle(n.parentNode);
      return;
    }
    if (n.nodeName === 'STYLE') syncStyle(n);
    if (n.hasAttribute('style')) syncAttr(n);
    for (const st of n.querySelectorAll('style')) syncStyle(st);
    for (const x of n.querySelectorAll('[style]')) syncAttr(x);
  };
  const mo = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') syncAttr(r.target);
      else if (r.type === 'characterData') scan(r.target);
      else {
        if (r.target.nodeName === 'STYLE') syncStyle(r.target);
        for (const n of r.addedNodes) scan(n);
      }
    }
    // Styles xterm removed with its elements go with them.
    for (const [st, [sheet]] of sheets) {
      if (!st.isConnected) {
        sheets.delete(st);
        document.adoptedStyleSheets = document.adoptedStyleSheets.filter((x) => x !== sheet);
      }
    }
  });
  mo.observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['style'] });
  return {
    disconnect: () => {
      mo.disconnect();
      const mine = new Set([...sheets.values()].map((e) => e[0]));
      document.adoptedStyleSheets = document.adoptedStyleSheets.filter((x) => !mine.has(x));
      sheets.clear();
    },
  };
}
