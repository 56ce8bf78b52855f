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
      cancelAnimationFrame(raf);
      sub1.dispose();
      sub2.dispose();
      conn.close();
      term.dispose();
    },
  };
}
