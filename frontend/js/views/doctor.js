// Doctor: the daemon's checks (GET /doctor), each with what to do when it
// fails.

import { h, clear, errorBox } from '../dom.js';
import * as api from '../api.js';

export function render(main, _route, ctx) {
  const list = h('ul', { id: 'doctor', class: 'checks', 'aria-busy': 'true' });
  const summary = h('p', { 'aria-live': 'polite' }, 'Running the checks…');
  const again = h('button', { type: 'button', on: { click: () => run() } }, 'Run again');
  main.append(h('header', { class: 'view-head' }, h('h1', null, 'Doctor'), again), summary, h('div', { class: 'card' }, list));

  async function run() {
    again.disabled = true;
    list.setAttribute('aria-busy', 'true');
    try {
      const d = await api.doctor();
      if (!ctx.current()) return;
      const checks = (d && d.checks) || [];
      const bad = checks.filter((c) => !c.ok).length;
      summary.className = bad ? 'warning' : 'ok';
      summary.textContent = bad ? bad + (bad === 1 ? ' check fails' : ' checks fail') + ': each says what to do.' : 'Every check passes.';
      clear(list, checks.map((c) => h('li', { dataset: { check: c.name, ok: String(!!c.ok) }, class: c.ok ? 'ok' : 'bad' },
        h('span', { class: 'mark', 'aria-hidden': 'true' }, c.ok ? '✓' : '✗'),
        h('div', null,
          h('strong', null, c.name), h('span', { class: 'sr-only' }, c.ok ? ' passes' : ' fails'),
          c.detail ? h('div', { class: 'detail' }, c.detail) : null,
          !c.ok && c.fix ? h('div', { class: 'fix' }, c.fix) : null))));
    } catch (e) {
      if (!ctx.current()) return;
      summary.textContent = '';
      clear(list, h('li', null, errorBox(e, 'The checks could not run')));
    } finally {
      list.removeAttribute('aria-busy');
      again.disabled = false;
      ctx.ready();
    }
  }
  run();
}
