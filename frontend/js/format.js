// Formatting shared by the views.

export function age(ts, now = Date.now()) {
  if (!ts) return '';
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return '';
  let s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm';
  const hr = Math.floor(m / 60);
  if (hr < 48) return hr + 'h' + (m % 60 ? ' ' + (m % 60) + 'm' : '');
  return Math.floor(hr / 24) + 'd';
}

export function usd(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '';
  return '$' + Number(n).toFixed(n >= 1 ? 2 : 4);
}

// cost is a session's cost for a table: the Messages API usage the proxy
// metered, or the print result's own figure.
export function cost(s) {
  if (s.usage) return usd(s.usage.cost_usd) + (s.usage.cost_known === false ? '+' : '');
  if (s.result) return usd(s.result.cost_usd);
  return '';
}

export function costValue(s) {
  if (s.usage) return s.usage.cost_usd || 0;
  if (s.result) return s.result.cost_usd || 0;
  return 0;
}

// activity mirrors api.Activity.String: "working: Bash", "waiting for input".
export function activity(a) {
  if (!a) return '';
  let s = String(a.state || '').replaceAll('_', ' ');
  if (a.tool) s += ': ' + a.tool;
  if (a.known === false) s += ' (activity unknown)';
  return s;
}

export function needsYou(s) {
  const st = s.activity && s.activity.state;
  return s.status === 'running' && (st === 'waiting_for_input' || st === 'waiting_for_permission');
}

export function changes(s) {
  const c = s.changes;
  if (!c) return s.workspace ? '' : '—';
  if (c.error) return 'unknown';
  if (c.pending) return '…';
  const others = c.other_refs && c.other_refs.length;
  if (c.unlanded) {
    if (!c.files) return '+branches';
    return '+' + c.files + (c.files === 1 ? ' file' : ' files') + (others ? ' +branches' : '');
  }
  if (!c.files) return 'none';
  // Everything is kept somewhere: say where, as clauderon list does.
  const w = s.workspace || {};
  const at = (m) => (m && m.at ? Date.parse(m.at) : NaN);
  if (w.landed && (!w.applied || at(w.landed) > at(w.applied))) return 'landed';
  return 'applied';
}

export function status(s) {
  let t = s.status || '';
  if (s.status === 'exited' && s.exit_code !== undefined && s.exit_code !== null) t += ' (' + s.exit_code + ')';
  return t;
}

export function bytes(n) {
  if (!n && n !== 0) return '';
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

export function tokens(n) {
  if (!n) return '0';
  if (n >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return String(n);
}

// A session's output shown in the page is at most its last maxLog
// characters, cut at a line: the container decides how much it writes.
export const maxLog = 2 * 1024 * 1024;
export function keepTail(s, max = maxLog) {
  if (s.length <= max) return s;
  const cut = s.indexOf('\n', s.length - max);
  return cut < 0 ? s.slice(-max) : s.slice(cut + 1);
}
