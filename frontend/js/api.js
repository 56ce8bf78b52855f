import { keepTail, maxLog } from './format.js';
// api.js is the only module that knows which transport the UI runs on.
//
// In the desktop app (Wails) `window.go` exists and every call goes to a
// bound Go method of desktop.App (desktop/bindings.go), each returning (T, error) so the promise
// rejects with the daemon's own message. The desktop issue binds exactly
// these names:
//   ListSessions() SessionList          GetSession(name, changes bool) Session
//   CreateSession(CreateSession) Session (progress lines arrive as
//     'clauderon:progress' events)
//   StopSession(name) StartSession(name) RestartSession(name)
//   DeleteSession(name, force, discard, recursive bool)
//   SessionLogs(name) string            SessionDiff(name, patch bool) Diff
//   LandSession(name, Land) BroughtBack ApplySession(name, Apply) BroughtBack
//   GetEgress(name) EgressReport        ChangeEgress(name, EgressChange) EgressReport
//   SetBudget(name, SetBudget) Session  Audit(limit int, session string) {entries}
//   Doctor() Doctor  Images() {images}  GetToken(name) TokenStatus
//   PutToken(name, TokenValue) TokenStatus  DeleteToken(name) TokenStatus
//   MCP() {url, token, enabled}
//   WatchEvents(audit bool) — events then arrive as 'clauderon:event'
//     through window.runtime.EventsOn, one api.Event each; StopEvents()
//   Attach(name) — bytes arrive base64 as 'clauderon:attach:NAME' events,
//     'clauderon:attach-end:NAME' when the stream ends;
//     AttachWrite(name, base64) AttachAck(name, n) AttachResize(name, cols, rows) AttachClose(name)
// and, the app's own: BuildImage() (lines as 'clauderon:build' events),
//   ChooseDirectory() string, Reporting() bool, ReportReady(Report).
//
// In a browser it uses fetch against /api/v0 on the page's own origin with
// the session cookie (credentials 'same-origin') and the session token the
// login page stored (localStorage) on every request, and a WebSocket at
// /ui/attach/NAME for a terminal.

// Wails names bound structs by their Go package: the app binds
// desktop.App.
const A = (typeof window !== 'undefined' && window.go && window.go.desktop && window.go.desktop.App) || null;
const wails = !!A;

export const transport = wails ? 'wails' : 'http';

// APIError carries the daemon's own message, its code and HTTP status.
export class APIError extends Error {
  constructor(message, status = 0, code = '') {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function wailsErr(e) {
  return new APIError(typeof e === 'string' ? e : (e && e.message) || String(e));
}

async function bind(method, ...args) {
  try {
    return await A[method](...args);
  } catch (e) {
    throw wailsErr(e);
  }
}

// The session token: the login page put it in this origin's localStorage
// (see login.js). Every API request carries it; the cookie alone reaches
// every port of 127.0.0.1 and is not enough.
function csrf() {
  const t = localStorage.getItem('clauderon-csrf');
  if (!t) throw new APIError('not logged in to this clauderon web UI: run `clauderon ui` to log in', 401);
  return t;
}

async function errorOf(r) {
  let msg = r.status + ' ' + r.statusText;
  let code = '';
  try {
    const b = await r.json();
    if (b && b.error) msg = b.error;
    if (b && b.code) code = b.code;
  } catch { /* not JSON: keep the status line */ }
  return new APIError(msg, r.status, code);
}

function url(path, query) {
  const u = new URL('/api/v0' + path, location.origin);
  if (query) for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== false && v !== '') u.searchParams.set(k, v === true ? '1' : String(v));
  }
  return u.pathname + u.search;
}

// request answers the Response; a non-2xx answer is thrown as APIError.
async function request(method, path, { query, body, signal } = {}) {
  const headers = { 'X-Clauderon-CSRF': csrf() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(url(path, query), {
      method, headers, signal, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError('cannot reach the clauderon daemon (' + e.message + '); is it running? start it with `clauderon daemon`');
  }
  if (!r.ok) throw await errorOf(r);
  return r;
}

async function json(method, path, opts) {
  const r = await request(method, path, opts);
  if (r.status === 204) return null;
  const t = await r.text();
  return t ? JSON.parse(t) : null;
}

// readLines calls fn with each NDJSON line of a streamed body as it arrives.
export async function readLines(body, fn) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) fn(line);
    }
  }
  buf += dec.decode();
  if (buf.trim()) fn(buf.trim());
}

const enc = encodeURIComponent;

export const listSessions = () => wails ? bind('ListSessions') : json('GET', '/sessions');
export const getSession = (name, changes = false) =>
  wails ? bind('GetSession', name, changes) : json('GET', '/sessions/' + enc(name), { query: { changes } });

// createSession posts the body and calls onProgress with each progress
// line; it resolves to the created session or throws the daemon's error.
export async function createSession(body, onProgress) {
  if (wails) {
    const off = window.runtime.EventsOn('clauderon:progress', (l) => onProgress && onProgress(l));
    try { return await bind('CreateSession', body); } finally { if (off) off(); }
  }
  const r = await request('POST', '/sessions', { query: { progress: 1 }, body });
  const type = r.headers.get('Content-Type') || '';
  if (!type.includes('ndjson') && !type.includes('stream')) {
    // An answer without progress (an older daemon): the session itself.
    const t = await r.text();
    try {
      const v = JSON.parse(t);
      if (v && v.name && !v.line && !v.done) return v;
      return handleProgress([v], onProgress);
    } catch (e) {
      if (e instanceof APIError) throw e;
      const lines = t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
      return handleProgress(lines, onProgress);
    }
  }
  let result = null;
  let failure = null;
  await readLines(r.body, (line) => {
    let p;
    try { p = JSON.parse(line); } catch { return; }
    if (p.error) failure = new APIError(p.error, p.status || 500);
    else if (p.done) result = p.session;
    else if (onProgress && p.line) onProgress(p.line);
  });
  if (failure) throw failure;
  if (!result) throw new APIError('the daemon ended the stream without saying whether it succeeded');
  return result;
}

function handleProgress(lines, onProgress) {
  for (const p of lines) {
    if (p.error) throw new APIError(p.error, p.status || 500);
    if (p.done) return p.session;
    if (onProgress && p.line) onProgress(p.line);
  }
  throw new APIError('the daemon ended the stream without saying whether it succeeded');
}

export const stopSession = (n) => wails ? bind('StopSession', n) : json('POST', '/sessions/' + enc(n) + '/stop');
export const startSession = (n) => wails ? bind('StartSession', n) : json('POST', '/sessions/' + enc(n) + '/start');
export const restartSession = (n) => wails ? bind('RestartSession', n) : json('POST', '/sessions/' + enc(n) + '/restart');
export const deleteSession = (n, { force = false, discard = false, recursive = false } = {}) =>
  wails ? bind('DeleteSession', n, force, discard, recursive)
    : json('DELETE', '/sessions/' + enc(n), { query: { force, discard, recursive } });

export async function sessionLogs(n) {
  if (wails) return bind('SessionLogs', n);
  const r = await request('GET', '/sessions/' + enc(n) + '/logs');
  // Read as a stream, keeping the tail: the container decides its size.
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let out = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out += dec.decode(value, { stream: true });
    if (out.length > 2 * maxLog) out = keepTail(out);
  }
  return keepTail(out);
}

// followLogs streams a session's output (logs?follow=1) to onText as it
// is written, until the session ends or signal aborts. The desktop
// binding has no stream: it reads the output once.
export async function followLogs(n, onText, signal) {
  if (wails) { onText(await bind('SessionLogs', n)); return; }
  const r = await request('GET', '/sessions/' + enc(n) + '/logs', { query: { follow: 1 }, signal });
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    onText(dec.decode(value, { stream: true }));
  }
}

export const sessionDiff = (n, patch = true) =>
  wails ? bind('SessionDiff', n, patch) : json('GET', '/sessions/' + enc(n) + '/diff', { query: { patch } });
export const landSession = (n, body) => wails ? bind('LandSession', n, body) : json('POST', '/sessions/' + enc(n) + '/land', { body });
export const applySession = (n, body) => wails ? bind('ApplySession', n, body) : json('POST', '/sessions/' + enc(n) + '/apply', { body });
export const getEgress = (n) => wails ? bind('GetEgress', n) : json('GET', '/sessions/' + enc(n) + '/egress');
// allowHost adds one host to a session's allow list (api.EgressChange).
export const allowHost = (n, host) => {
  const body = { allow: [host] };
  return wails ? bind('ChangeEgress', n, body) : json('POST', '/sessions/' + enc(n) + '/egress', { body });
};
// setBudget takes api.SetBudget: {usd} and/or {tokens}; 0 removes a cap.
export const setBudget = (n, body) => wails ? bind('SetBudget', n, body) : json('POST', '/sessions/' + enc(n) + '/budget', { body });
export const audit = (limit = 500, session = '') =>
  wails ? bind('Audit', limit, session) : json('GET', '/audit', { query: { limit, session } });
export const doctor = () => wails ? bind('Doctor') : json('GET', '/doctor');
export const images = () => wails ? bind('Images') : json('GET', '/images');
export const getToken = () => wails ? bind('GetToken', 'anthropic') : json('GET', '/tokens/anthropic');
// putToken sends api.TokenValue; the answer is a TokenStatus, which never
// carries the token back.
export const putToken = (token) => wails ? bind('PutToken', 'anthropic', { token }) : json('PUT', '/tokens/anthropic', { body: { token } });
export const deleteToken = () => wails ? bind('DeleteToken', 'anthropic') : json('DELETE', '/tokens/anthropic');
export const mcp = () => wails ? bind('MCP') : json('GET', '/mcp');

// The desktop app's own calls; in a browser they are absent (null), so a
// view offers them only where they exist.

// buildImage builds the agent image, calling onLine with each progress line.
export const buildImage = !wails ? null : async (onLine) => {
  const off = window.runtime.EventsOn('clauderon:build', (l) => onLine && onLine(l));
  try { return await bind('BuildImage'); } finally { if (off) off(); }
};
// chooseDirectory opens the native directory dialog: '' when cancelled.
export const chooseDirectory = !wails ? null : () => bind('ChooseDirectory');
// reporter answers a function that sends what the window shows to the app
// (desktop.Report), or null when nothing listens: only the window test
// and the benchmark do.
export async function reporter() {
  if (!wails) return null;
  try { return (await bind('Reporting')) ? (r) => A.ReportReady(r) : null; } catch { return null; }
}
// onNavigate calls fn with each route the app asks the window to show (a
// tray item, a notification's click).
export const onNavigate = (fn) => wails && window.runtime.EventsOn('clauderon:navigate', fn);
// onNoTerminal calls fn with {session, command, error} when the tray's
// attach found no terminal emulator to run the command in.
export const onNoTerminal = (fn) => wails && window.runtime.EventsOn('clauderon:no-terminal', fn);

// watchEvents calls onEvent with each api.Event of the daemon's stream
// and resolves when the stream ends (a resync, a dropped connection, or
// signal aborted). The caller reconnects.
export async function watchEvents({ audit: withAudit = false, signal } = {}, onEvent) {
  if (wails) {
    // Listen before asking: the app sends the snapshot as soon as the
    // daemon's stream opens, before WatchEvents' answer arrives.
    let off = null;
    const ended = new Promise((resolve) => {
      off = window.runtime.EventsOn('clauderon:event', (ev) => {
        onEvent(ev);
        if (ev.kind === 'resync') { if (off) off(); resolve(); }
      });
      if (signal) signal.addEventListener('abort', () => { if (off) off(); A.StopEvents(); resolve(); });
    });
    try { await bind('WatchEvents', withAudit); } catch (e) { if (off) off(); throw e; }
    return ended;
  }
  const r = await request('GET', '/events', { query: { audit: withAudit }, signal });
  await readLines(r.body, (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { return; }
    onEvent(ev);
  });
}

// attach connects a terminal: onData gets Uint8Array chunks, onEnd the
// reason the stream ended. The answer sends bytes, resizes and closes.
export function attach(name, { onData, onEnd, onOpen }) {
  if (wails) {
    // Each chunk is acknowledged once the page has it: the app sends no
    // more than a megabyte ahead (desktop/attach.go).
    const offData = window.runtime.EventsOn('clauderon:attach:' + name, (b64) => {
      const bytes = b64ToBytes(b64);
      onData(bytes);
      bind('AttachAck', name, bytes.length).catch(() => {});
    });
    const offEnd = window.runtime.EventsOn('clauderon:attach-end:' + name, (reason) => { cleanup(); onEnd(reason || 'session ended'); });
    const cleanup = () => { if (offData) offData(); if (offEnd) offEnd(); };
    bind('Attach', name).then(() => onOpen && onOpen(), (e) => { cleanup(); onEnd(e.message); });
    return {
      send: (bytes) => A.AttachWrite(name, bytesToB64(bytes)),
      resize: (cols, rows) => A.AttachResize(name, cols, rows),
      close: () => { cleanup(); A.AttachClose(name); },
    };
  }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // A WebSocket cannot set a header: the token rides as a subprotocol
  // the server checks and never echoes.
  const ws = new WebSocket(proto + '//' + location.host + '/ui/attach/' + enc(name), ['clauderon', 'clauderon-csrf.' + csrf()]);
  ws.binaryType = 'arraybuffer';
  let closedByUs = false;
  ws.addEventListener('open', () => onOpen && onOpen());
  ws.addEventListener('message', (m) => {
    if (m.data instanceof ArrayBuffer) onData(new Uint8Array(m.data));
  });
  ws.addEventListener('close', (c) => {
    if (closedByUs) return;
    onEnd(c.reason || (c.code === 1000 ? 'session ended' : 'the connection closed (code ' + c.code + ')'));
  });
  return {
    send: (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes); },
    resize: (cols, rows) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'resize', cols, rows })); },
    close: () => { closedByUs = true; ws.close(1000, 'detached'); },
    ready: () => ws.readyState === WebSocket.OPEN,
  };
}

function b64ToBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function bytesToB64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
