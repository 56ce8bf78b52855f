// app.js routes the hash (#/sessions, #/new, #/sessions/NAME, #/audit,
// #/credential, #/mcp, #/doctor) to one view module at a time, keeps the
// nav's current link marked, and moves focus to the new view's heading so
// a keyboard or screen-reader user lands on what they asked for.
// In the desktop app it also opens the first-run setup (#/setup) when no
// credential is configured, follows the routes the tray and the
// notifications ask for, and reports what the window shows when a test
// listens (api.reporter).

import { live } from './events.js';
import { text } from './dom.js';
import * as sessions from './views/sessions.js';
import * as newSession from './views/new.js';
import * as session from './views/session.js';
import * as audit from './views/audit.js';
import * as credential from './views/credential.js';
import * as mcp from './views/mcp.js';
import * as doctor from './views/doctor.js';
import * as setup from './views/setup.js';
import * as api from './api.js';
import { h, confirmDialog, copyText, toast } from './dom.js';

const views = { sessions, new: newSession, session, audit, credential, mcp, doctor, setup };

let cleanup = null;
let generation = 0;

function parse(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts.length === 0) return { view: 'sessions' };
  if (parts[0] === 'sessions' && parts.length >= 2) {
    let name = parts[1];
    try { name = decodeURIComponent(name); } catch { /* keep it as it is */ }
    return { view: 'session', name };
  }
  if (views[parts[0]] && parts[0] !== 'session') return { view: parts[0] };
  return { view: 'sessions', unknown: hash };
}

function route() {
  // Only #/… is a route: other fragments are in-page links.
  if (location.hash && !location.hash.startsWith('#/')) return;
  const r = parse(location.hash);
  const main = document.getElementById('view');
  if (cleanup) {
    try { cleanup(); } catch (e) { console.error(e); }
    cleanup = null;
  }
  const gen = ++generation;
  main.dataset.view = r.view;
  delete main.dataset.ready;
  main.replaceChildren();
  markNav(r.view);
  const ctx = {
    // ready marks the view as loaded (the browser tests wait on it), and
    // only for the view still shown.
    ready: () => { if (gen === generation) main.dataset.ready = '1'; },
    current: () => gen === generation,
    navigate: (h) => { location.hash = h; },
  };
  try {
    cleanup = views[r.view].render(main, r, ctx) || null;
  } catch (e) {
    console.error(e);
    text(main, 'This view failed: ' + e.message);
    ctx.ready();
  }
  if (r.view === 'new') addDirectoryButton(main);
  const heading = main.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  document.title = (heading ? heading.textContent + ' · ' : '') + 'clauderon';
}

function markNav(view) {
  const target = view === 'session' ? 'sessions' : view;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === '#/' + target) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function showConnection() {
  const el = document.getElementById('conn');
  if (!el) return;
  el.dataset.state = live.state;
  const labels = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…' };
  let t = labels[live.state] || live.state;
  if (live.state === 'reconnecting' && live.lastError) t += ' ' + live.lastError.message;
  text(el, t);
}

// addDirectoryButton puts the native directory dialog beside the new
// session's workdir field, where the app has one.
function addDirectoryButton(main) {
  const input = main.querySelector('input[name="workdir"]');
  if (!api.chooseDirectory || !input) return;
  input.after(h('button', { type: 'button', dataset: { action: 'choose-workdir' }, on: { click: async () => {
    try {
      const dir = await api.chooseDirectory();
      if (dir) { input.value = dir; input.dispatchEvent(new Event('input', { bubbles: true })); }
    } catch (e) { console.error(e); }
  } } }, 'Choose…'));
}

// startReports sends what the view shows after each change, once per
// frame at most and only when it differs from the last report.
function startReports(send) {
  const main = document.getElementById('view');
  let last = '';
  let queued = false;
  const flush = () => {
    queued = false;
    if (!main.dataset.ready) return;
    const rep = { view: main.dataset.view, rows: [], setup: {} };
    for (const tr of main.querySelectorAll('tr[data-session]')) rep.rows.push({ name: tr.dataset.session, text: tr.innerText });
    for (const el of main.querySelectorAll('[data-setup]')) rep.setup[el.dataset.setup] = el.dataset.state || '';
    if (main.querySelector('[data-setup] input[name="token"]')) rep.setup.field = 'token';
    for (const f of ['kind', 'fingerprint']) {
      const el = main.querySelector('[data-setup] [data-field="' + f + '"]');
      if (el) rep.setup[f] = el.textContent;
    }
    const j = JSON.stringify(rep);
    if (j === last) return;
    last = j;
    send(rep);
  };
  // Two frames: the report goes once the change has been painted.
  const queue = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => requestAnimationFrame(flush));
  };
  new MutationObserver(queue).observe(main, { subtree: true, childList: true, characterData: true, attributes: true });
  queue();
}

live.subscribe((e) => { if (e.kind === 'state') showConnection(); });
window.addEventListener('hashchange', route);
live.start();
if (api.transport === 'wails') {
  // First run: with no credential the window opens on the setup.
  if (!location.hash || location.hash === '#/sessions') {
    try {
      const st = await api.getToken();
      if (!st.configured) history.replaceState(null, '', '#/setup');
    } catch (e) { console.error(e); }
  }
  api.onNavigate((r) => { location.hash = r; });
  // No terminal emulator for the tray's attach: the command, to copy.
  api.onNoTerminal(async (e) => {
    const body = [h('p', null, 'No terminal emulator could be started to attach to ' + e.session + '. Run this in a terminal:'),
      h('pre', null, h('code', { dataset: { field: 'attach-command' } }, e.command))];
    if (await confirmDialog('Attach in a terminal', body, 'Copy the command')) {
      try { await copyText(e.command); toast('Copied'); } catch (err) { toast(err.message, 'error'); }
    }
  });
  api.reporter().then((send) => { if (send) startReports(send); });
}
if (!location.hash) history.replaceState(null, '', '#/sessions');
route();
