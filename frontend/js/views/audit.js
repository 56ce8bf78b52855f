// Audit: the proxy's recent requests for every session (GET /audit), then
// each new one live (the event stream with ?audit=1). Refused tunnels are
// marked, with a button that allows the host for that session.

import { h, clear, errorBox } from '../dom.js';
import * as api from '../api.js';
import { Live } from '../events.js';
import { allowButton } from './egress.js';

const MAX_ROWS = 2000;

// denied: the egress policy (or the dial policy) refused the tunnel.
function denied(e) {
  return e.status === 403 && !!e.error && /refused/.test(e.error);
}
function egressDenied(e) {
  return denied(e) && /egress refused/.test(e.error);
}

export function render(main, _route, ctx) {
  const entries = [];
  const fSession = h('input', { id: 'audit-filter-session', type: 'search', placeholder: 'session', autocomplete: 'off' });
  const fHost = h('input', { id: 'audit-filter-host', type: 'search', placeholder: 'host', autocomplete: 'off' });
  const fStatus = h('select', { id: 'audit-filter-status' },
    h('option', { value: '' }, 'any status'), h('option', { value: 'denied' }, 'refused'),
    h('option', { value: 'ok' }, '2xx/3xx'), h('option', { value: 'error' }, '4xx/5xx or failed'));
  const fInjected = h('select', { id: 'audit-filter-injected' },
    h('option', { value: '' }, 'injected or not'), h('option', { value: 'yes' }, 'credential injected'), h('option', { value: 'no' }, 'not injected'));
  const tbody = h('tbody');
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const empty = h('div', { id: 'audit-empty', class: 'empty', hidden: true });
  const errArea = h('div');
  const table = h('table', { id: 'audit', class: 'table' },
    h('caption', { class: 'sr-only' }, 'Proxy audit log'),
    h('thead', null, h('tr', null, ['Time', 'Session', 'Method', 'Host', 'Path', 'Status', 'Credential', 'Duration', ''].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);

  main.append(
    h('header', { class: 'view-head' }, h('h1', null, 'Audit'), count),
    h('p', { class: 'muted' }, 'Every request the proxy handled. It never records a header value or a credential.'),
    h('div', { class: 'toolbar filters' },
      lab('audit-filter-session', 'Session', fSession), lab('audit-filter-host', 'Host', fHost),
      lab('audit-filter-status', 'Status', fStatus), lab('audit-filter-injected', 'Credential', fInjected)),
    errArea,
    h('div', { class: 'card flush scroll' }, table, empty));

  function lab(id, t, el) { return h('div', { class: 'field inline' }, h('label', { for: id }, t), el); }

  function match(e) {
    const s = fSession.value.trim().toLowerCase();
    const ho = fHost.value.trim().toLowerCase();
    if (s && !String(e.session || '').toLowerCase().includes(s)) return false;
    if (ho && !String(e.host || '').toLowerCase().includes(ho)) return false;
    switch (fStatus.value) {
      case 'denied': if (!denied(e)) return false; break;
      case 'ok': if (!(e.status >= 200 && e.status < 400) || e.error) return false; break;
      case 'error': if (!(e.status >= 400 || e.error || !e.status)) return false; break;
      default: break;
    }
    if (fInjected.value === 'yes' && !e.auth_injected) return false;
    if (fInjected.value === 'no' && e.auth_injected) return false;
    return true;
  }

  function row(e) {
    const d = denied(e);
    return h('tr', { dataset: { auditRow: '' }, class: d ? 'denied' : null },
      h('td', { class: 'nowrap', title: e.time }, new Date(e.time).toLocaleTimeString()),
      h('td', { dataset: { field: 'session' } }, e.session ? h('a', { href: '#/sessions/' + encodeURIComponent(e.session) }, e.session) : ''),
      h('td', null, e.method || (e.intercepted ? '' : 'CONNECT')),
      h('td', { dataset: { field: 'host' } }, e.host),
      h('td', { class: 'path' }, e.path || ''),
      h('td', { dataset: { field: 'status' }, title: e.error || null }, (e.status ? String(e.status) : '') + (e.error ? (e.status ? ' ' : '') + e.error : '')),
      h('td', { dataset: { field: 'injected' } }, e.auth_injected ? 'auth_injected' : e.intercepted ? 'intercepted' : 'tunnel'),
      h('td', { class: 'nowrap' }, e.duration_ms !== undefined ? e.duration_ms + ' ms' : ''),
      h('td', null, egressDenied(e) && e.session ? allowButton(e.session, e.host) : null));
  }

  function draw() {
    const shown = entries.filter(match);
    // Newest first: the latest request is what one looks for.
    clear(tbody, shown.slice().reverse().map(row));
    count.textContent = entries.length ? shown.length + ' of ' + entries.length + ' requests' : '';
    empty.hidden = shown.length !== 0;
    table.hidden = shown.length === 0;
    clear(empty, entries.length
      ? h('p', null, 'No request matches these filters.')
      : h('p', null, 'No request was proxied yet. Start a session and its requests to Anthropic (and every host it tunnels to) appear here as they happen.'));
  }

  for (const el of [fSession, fHost]) el.addEventListener('input', draw);
  for (const el of [fStatus, fInjected]) el.addEventListener('change', draw);

  const stream = new Live({ audit: true });
  let loaded = false;
  const pending = [];
  stream.subscribe((e) => {
    if (e.kind !== 'audit' || !e.event.audit) return;
    if (!loaded) { pending.push(e.event.audit); return; }
    entries.push(e.event.audit);
    if (entries.length > MAX_ROWS) entries.splice(0, entries.length - MAX_ROWS);
    const a = e.event.audit;
    if (match(a)) {
      tbody.prepend(row(a));
      while (tbody.rows.length > MAX_ROWS) tbody.lastElementChild.remove();
      table.hidden = false;
      empty.hidden = true;
    }
    count.textContent = entries.length + ' requests';
  });
  stream.start();

  api.audit(500).then((r) => {
    if (!ctx.current()) return;
    for (const a of (r && r.entries) || []) entries.push(a);
    // Lines that came live while the list loaded, unless already in it.
    const seen = new Set(entries.map(key));
    for (const a of pending) if (!seen.has(key(a))) entries.push(a);
    loaded = true;
    draw();
    ctx.ready();
  }, (e) => {
    if (!ctx.current()) return;
    loaded = true;
    clear(errArea, errorBox(e, 'The audit log could not be read'));
    draw();
    ctx.ready();
  });

  return () => stream.stop();
}

function key(a) { return [a.time, a.session, a.host, a.method, a.path, a.status].join('|'); }
