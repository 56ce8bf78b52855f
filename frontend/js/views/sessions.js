// The session list: every session, live from the event stream, with a
// filter, sortable columns and keyboard navigation (ArrowUp/ArrowDown
// between rows, Enter opens one). Rows waiting for the user stand out.

import { h, clear, errorBox } from '../dom.js';
import * as api from '../api.js';
import { live } from '../events.js';
import * as f from '../format.js';

const columns = [
  { key: 'name', label: 'Name', sort: 'name' },
  { key: 'mode', label: 'Mode' },
  { key: 'status', label: 'Status', sort: 'status' },
  { key: 'activity', label: 'Activity' },
  { key: 'age', label: 'Age', sort: 'age' },
  { key: 'cost', label: 'Cost', sort: 'cost' },
  { key: 'changes', label: 'Unlanded changes' },
  { key: 'parent', label: 'Parent' },
  { key: 'children', label: 'Children' },
];

// Sort and filter survive navigating away and back.
const state = { sort: 'age', dir: 1, filter: '' };

export function render(main, _route, ctx) {
  let listed = null; // GET /sessions, until the stream's snapshot comes
  let error = null;
  const filter = h('input', {
    id: 'filter', type: 'search', placeholder: 'Filter by name, status, activity, parent…',
    'aria-label': 'Filter sessions', value: state.filter, autocomplete: 'off',
  });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const headRow = h('tr');
  const table = h('table', { id: 'sessions', class: 'table rows' }, h('caption', { class: 'sr-only' }, 'Sessions'), h('thead', null, headRow), tbody);
  const empty = h('div', { id: 'sessions-empty', class: 'empty', hidden: true });
  const errArea = h('div');

  main.append(
    h('header', { class: 'view-head' },
      h('h1', null, 'Sessions'),
      h('a', { class: 'button primary', href: '#/new' }, 'New session')),
    h('div', { class: 'toolbar' }, filter, count),
    errArea,
    h('div', { class: 'card flush' }, table, empty));

  function drawHead() {
    clear(headRow, columns.map((c) => {
      if (!c.sort) return h('th', { scope: 'col' }, c.label);
      const active = state.sort === c.sort;
      const aria = active ? (state.dir > 0 ? 'ascending' : 'descending') : 'none';
      return h('th', { scope: 'col', dataset: { sort: c.sort }, 'aria-sort': aria, class: 'sortable',
        on: { click: () => sortBy(c.sort) } },
        h('button', { type: 'button', class: 'th-button', 'aria-label': 'Sort by ' + c.label.toLowerCase() },
          c.label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (state.dir > 0 ? ' ▲' : ' ▼') : '')));
    }));
  }

  function sortBy(key) {
    if (state.sort === key) state.dir = -state.dir;
    else { state.sort = key; state.dir = key === 'cost' ? -1 : 1; }
    drawHead();
    drawBody();
  }

  function all() {
    if (live.ready) return [...live.sessions.values()];
    return listed || [];
  }

  function sorted(list) {
    const d = state.dir;
    const key = {
      name: (s) => s.name,
      status: (s) => s.status + ' ' + s.name,
      // age ascending is the youngest first.
      age: (s) => -(Date.parse(s.created_at) || 0),
      cost: (s) => f.costValue(s),
    }[state.sort] || ((s) => s.name);
    return list.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return c * d || a.name.localeCompare(b.name);
    });
  }

  function matches(s, q) {
    if (!q) return true;
    const hay = [s.name, s.mode, s.status, f.activity(s.activity), s.parent, s.image, s.backend || 'docker'].join(' ').toLowerCase();
    return q.toLowerCase().split(/\s+/).every((w) => hay.includes(w));
  }

  function drawBody() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.session : null;
    const list = all();
    const children = new Map();
    for (const s of list) if (s.parent) children.set(s.parent, (children.get(s.parent) || 0) + 1);
    const shown = sorted(list.filter((s) => matches(s, state.filter)));
    clear(tbody, shown.map((s) => row(s, children.get(s.name) || 0)));
    count.textContent = list.length ? shown.length + ' of ' + list.length : '';
    table.hidden = list.length === 0;
    empty.hidden = list.length !== 0 && shown.length !== 0;
    if (list.length === 0) {
      clear(empty, h('h2', null, 'No sessions yet'),
        h('p', null, 'A session is Claude Code in its own container, with no real credential in it. Start one here, or from a terminal with ',
          h('code', null, 'clauderon create --name NAME'), '.'),
        h('a', { class: 'button primary', href: '#/new' }, 'Start a session'));
    } else if (shown.length === 0) {
      clear(empty, h('p', null, 'No session matches “' + state.filter + '”. ',
        h('button', { type: 'button', class: 'link', on: { click: () => { filter.value = ''; state.filter = ''; drawBody(); filter.focus(); } } }, 'Clear the filter')));
    }
    if (focused) {
      const r = tbody.querySelector('tr[data-session="' + CSS.escape(focused) + '"]');
      if (r) r.focus({ preventScroll: true });
    }
  }

  function row(s, nChildren) {
    const open = () => ctx.navigate('#/sessions/' + encodeURIComponent(s.name));
    const cells = {
      name: h('a', { href: '#/sessions/' + encodeURIComponent(s.name), tabindex: '-1' }, s.name),
      mode: s.backend === 'kubernetes' ? s.mode + ' · kubernetes' : s.mode,
      status: h('span', { class: 'badge status-' + s.status }, f.status(s)),
      activity: f.activity(s.activity),
      age: h('span', { title: s.created_at }, f.age(s.created_at)),
      cost: f.cost(s),
      changes: f.changes(s),
      parent: s.parent || '',
      children: nChildren ? String(nChildren) : '',
    };
    const tr = h('tr', {
      dataset: { session: s.name }, tabindex: '0',
      class: [f.needsYou(s) ? 'needs-you' : '', s.changes && s.changes.unlanded ? 'unlanded' : ''].join(' ').trim() || null,
      'aria-label': s.name + ', ' + s.status + (f.needsYou(s) ? ', waiting for you' : ''),
      on: {
        click: (e) => { if (!e.target.closest('a')) open(); },
        keydown: (e) => {
          if (e.key === 'Enter') { e.preventDefault(); open(); }
          else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            const next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
            if (next) next.focus();
            else if (e.key === 'ArrowUp') filter.focus();
          }
        },
      },
    }, columns.map((c) => h('td', { dataset: { field: c.key } }, cells[c.key])));
    if (s.warning) tr.title = s.warning;
    return tr;
  }

  filter.addEventListener('input', () => { state.filter = filter.value.trim(); drawBody(); });
  filter.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      const first = tbody.querySelector('tr');
      if (first) { e.preventDefault(); first.focus(); }
    }
  });

  drawHead();
  const off = live.subscribe((e) => {
    if (e.kind === 'state') {
      if (live.state === 'reconnecting' && live.lastError && !live.ready) {
        clear(errArea, errorBox(live.lastError, 'The live list could not connect'));
      } else if (live.state === 'live') clear(errArea);
      return;
    }
    if (e.kind === 'audit') return;
    drawBody();
    if (live.ready) ctx.ready();
    // A new or changed session's unlanded changes come only with a list.
    if (e.kind === 'snapshot' || e.kind === 'changed' || e.kind === 'created') refreshChanges();
  });

  let changesTimer = null;
  function refreshChanges() {
    clearTimeout(changesTimer);
    changesTimer = setTimeout(() => {
      api.listSessions().then((l) => { live.mergeList(l.sessions); }).catch(() => {});
    }, 400);
  }

  api.listSessions().then((l) => {
    if (!ctx.current()) return;
    listed = l.sessions || [];
    if (live.ready) live.mergeList(listed);
    error = null;
    drawBody();
    ctx.ready();
  }, (e) => {
    if (!ctx.current()) return;
    error = e;
    clear(errArea, errorBox(error, 'Could not list the sessions'));
    drawBody();
    ctx.ready();
  });
  if (live.ready) { drawBody(); }

  const tick = setInterval(drawBody, 30000);
  return () => { off(); clearInterval(tick); clearTimeout(changesTimer); };
}
