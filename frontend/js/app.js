// app.js routes the hash (#/sessions, #/new, #/sessions/NAME, #/audit,
// #/credential, #/mcp, #/doctor) to one view module at a time, keeps the
// nav's current link marked, and moves focus to the new view's heading so
// a keyboard or screen-reader user lands on what they asked for.

import { live } from './events.js';
import { text } from './dom.js';
import * as sessions from './views/sessions.js';
import * as newSession from './views/new.js';
import * as session from './views/session.js';
import * as audit from './views/audit.js';
import * as credential from './views/credential.js';
import * as mcp from './views/mcp.js';
import * as doctor from './views/doctor.js';

const views = { sessions, new: newSession, session, audit, credential, mcp, doctor };

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

live.subscribe((e) => { if (e.kind === 'state') showConnection(); });
window.addEventListener('hashchange', route);
live.start();
if (!location.hash) history.replaceState(null, '', '#/sessions');
route();
