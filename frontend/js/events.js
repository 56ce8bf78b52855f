// events.js keeps the UI live from the daemon's one event stream
// (GET /api/v0/events): a snapshot of every session first, then each
// change. It holds the session map the views read and tells them what
// changed. A resync event, or a stream that drops, starts a new stream
// (with a fresh snapshot) after a backoff, so nothing is missed for long.

import * as api from './api.js';

const MIN_BACKOFF = 500;
const MAX_BACKOFF = 15000;

export class Live {
  // audit asks for the proxy's audit lines too (?audit=1).
  constructor({ audit = false } = {}) {
    this.audit = audit;
    this.sessions = new Map();
    this.ready = false; // a snapshot arrived
    this.state = 'connecting';
    this.listeners = new Set();
    this.stopped = true;
    this.backoff = MIN_BACKOFF;
    this.abort = null;
    this.lastError = null;
  }

  // subscribe: fn({kind, name, event, live}); the answer unsubscribes.
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(kind, name, event) {
    for (const fn of [...this.listeners]) {
      try { fn({ kind, name, event, live: this }); } catch (e) { console.error(e); }
    }
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
  }

  setState(s, err) {
    this.state = s;
    this.lastError = err || null;
    this.emit('state', '', null);
  }

  async loop() {
    while (!this.stopped) {
      this.abort = new AbortController();
      let gotSnapshot = false;
      try {
        await api.watchEvents({ audit: this.audit, signal: this.abort.signal }, (ev) => {
          if (ev.kind === 'snapshot') gotSnapshot = true;
          this.apply(ev);
        });
        if (!this.stopped) this.setState('reconnecting');
      } catch (e) {
        if (this.stopped) break;
        this.setState('reconnecting', e);
        if (e.status === 401) {
          // Logged out (the daemon restarted, or the login expired): no
          // point retrying fast; the user must run `clauderon ui`.
          this.backoff = MAX_BACKOFF;
        }
      }
      if (this.stopped) break;
      if (gotSnapshot) this.backoff = MIN_BACKOFF;
      await sleep(this.backoff * (0.75 + Math.random() * 0.5));
      this.backoff = Math.min(MAX_BACKOFF, this.backoff * 2);
    }
  }

  apply(ev) {
    switch (ev.kind) {
      case 'snapshot': {
        const old = this.sessions;
        this.sessions = new Map();
        for (const s of ev.sessions || []) this.sessions.set(s.name, keep(old.get(s.name), s));
        this.ready = true;
        this.setState('live');
        this.emit('snapshot', '', ev);
        break;
      }
      case 'created':
      case 'changed':
        if (ev.session) {
          this.sessions.set(ev.name || ev.session.name, keep(this.sessions.get(ev.name || ev.session.name), ev.session));
          this.emit(ev.kind, ev.name || ev.session.name, ev);
        }
        break;
      case 'removed':
        this.sessions.delete(ev.name);
        this.emit('removed', ev.name, ev);
        break;
      case 'activity':
      case 'usage': {
        const s = this.sessions.get(ev.name);
        if (s) {
          this.sessions.set(ev.name, { ...s, [ev.kind]: ev[ev.kind] });
          this.emit(ev.kind, ev.name, ev);
        }
        break;
      }
      case 'audit':
        this.emit('audit', ev.name, ev);
        break;
      case 'resync':
        // The daemon dropped us for reading too slowly: the stream ends
        // after this, and the loop reconnects for a fresh snapshot.
        this.emit('resync', '', ev);
        break;
      default:
        break;
    }
  }

  // merge fills in what a list answer (GET /sessions) adds: unlanded
  // changes, which events do not carry.
  mergeList(list) {
    for (const s of list || []) {
      const cur = this.sessions.get(s.name);
      if (cur && s.changes) this.sessions.set(s.name, { ...cur, changes: s.changes });
    }
    this.emit('changes', '', null);
  }
}

// keep carries a session's computed changes over a new state that lacks
// them (events do not compute them).
function keep(old, s) {
  if (old && old.changes && !s.changes) return { ...s, changes: old.changes };
  return s;
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// live is the stream every view shares; the audit view opens its own
// with audit lines.
export const live = new Live();
