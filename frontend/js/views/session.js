// Session detail: its state, live; the terminal (interactive) or the
// conversation and result (print); usage and budget; the workspace's diff
// with Land and Apply; Stop, Start, Restart and Delete. Each action that
// loses or moves work asks first in a <dialog>.

import { h, clear, text, toast, errorBox, confirmDialog } from '../dom.js';
import * as api from '../api.js';
import { live } from '../events.js';
import * as f from '../format.js';
import { openTerminal } from '../term.js';
import { renderConversation } from '../conversation.js';
import { egressCard } from './egress.js';

export function render(main, route, ctx) {
  const name = route.name;
  let s = live.sessions.get(name) || null;
  let term = null;
  let termFor = ''; // the container id the terminal is attached to
  let diff = null;
  let logsTimer = null;
  let gone = false;

  const statusEl = h('span', { dataset: { field: 'status' }, class: 'badge' });
  const activityEl = h('span', { dataset: { field: 'activity' } });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Session actions' });
  const facts = h('dl', { class: 'facts' });
  const warn = h('div');
  const usage = h('section', { id: 'usage', class: 'card', 'aria-labelledby': 'usage-h' });
  const body = h('div', { class: 'session-body' });
  const diffBox = h('section', { id: 'diff', class: 'card', 'aria-labelledby': 'diff-h' });
  const egressBox = h('div');
  const errArea = h('div');
  const section = h('section', { id: 'session', dataset: { name } },
    h('header', { class: 'view-head' },
      h('div', null,
        h('p', { class: 'crumbs' }, h('a', { href: '#/sessions' }, 'Sessions'), ' / '),
        h('h1', null, name)),
      h('div', { class: 'state' }, statusEl, ' ', activityEl)),
    actions, errArea, warn, facts, usage, body, diffBox, egressBox);
  main.append(section);

  function act(label, action, fn, { danger = false, primary = false } = {}) {
    return h('button', { type: 'button', dataset: { action }, class: danger ? 'danger' : primary ? 'primary' : null,
      on: { click: async (e) => {
        const b = e.currentTarget;
        b.disabled = true;
        b.setAttribute('aria-busy', 'true');
        try { await fn(); } catch (err) { clear(errArea, errorBox(err, label + ' failed')); } finally {
          b.disabled = false;
          b.removeAttribute('aria-busy');
          if (s) drawActions();
        }
      } } }, label);
  }

  function drawActions() {
    const running = s.status === 'running' || s.status === 'creating';
    const ended = s.status === 'exited' || s.status === 'stopped';
    const list = [
      act('Stop', 'stop', async () => { await api.stopSession(name); toast('Stopped ' + name); }),
      act('Start', 'start', async () => { await api.startSession(name); toast('Started ' + name); }, { primary: true }),
      act('Restart', 'restart', async () => {
        if (await confirmDialog('Restart ' + name + '?', 'Its container stops and starts again; the workspace is kept.', 'Restart')) {
          await api.restartSession(name);
          toast('Restarted ' + name);
        }
      }),
      act('Delete', 'delete', del, { danger: true }),
    ];
    list[0].disabled = !running;
    list[1].disabled = !ended;
    list[2].disabled = !(running || ended);
    clear(actions, list);
  }

  async function del() {
    // Ask the daemon what would be lost: the dialog names it.
    let fresh = s;
    try { fresh = await api.getSession(name, true); } catch (e) { if (e.status !== 404) throw e; }
    const c = fresh && fresh.changes;
    const running = fresh && (fresh.status === 'running' || fresh.status === 'creating');
    const kids = [...live.sessions.values()].filter((x) => x.parent === name).map((x) => x.name);
    const lines = [];
    if (running) lines.push(h('p', null, 'It is ' + fresh.status + ': its container is stopped first.'));
    let unlanded = false;
    if (c && (c.unlanded || (c.other_refs && c.other_refs.length))) {
      unlanded = true;
      const what = [];
      if (c.unlanded) what.push(c.files + (c.files === 1 ? ' changed file' : ' changed files') + ' never landed or applied');
      if (c.other_refs && c.other_refs.length) what.push('commits on ' + c.other_refs.join(', '));
      lines.push(h('p', { class: 'warning', dataset: { field: 'unlanded' } }, 'Unlanded work will be lost: ' + what.join('; ') + '. Land or apply it first to keep it.'));
    } else if (c && c.error) {
      unlanded = true;
      lines.push(h('p', { class: 'warning', dataset: { field: 'unlanded' } }, 'Its workspace could not be read (' + c.error + '), so it may hold unlanded work.'));
    } else if (fresh && fresh.workspace) {
      lines.push(h('p', null, 'Its workspace holds no unlanded work.'));
    }
    if (kids.length) lines.push(h('p', null, 'Its children are deleted too: ' + kids.join(', ') + '.'));
    const ok = await confirmDialog('Delete ' + name + '?', lines.length ? lines : 'Its container and state are removed.', unlanded ? 'Delete and discard the work' : 'Delete', true);
    if (!ok) return;
    await api.deleteSession(name, { force: running, discard: unlanded, recursive: kids.length > 0 });
    toast('Deleted ' + name);
    gone = true;
    ctx.navigate('#/sessions');
  }

  function drawHead() {
    text(statusEl, f.status(s));
    statusEl.className = 'badge status-' + s.status;
    text(activityEl, f.activity(s.activity));
    activityEl.className = f.needsYou(s) ? 'needs-you-text' : 'muted';
    const rows = [
      ['Mode', s.mode], ['Runs on', s.backend || 'docker'], ['Image', s.image], ['Created', new Date(s.created_at).toLocaleString() + ' (' + f.age(s.created_at) + ' ago)'],
      ['Egress', (s.egress && s.egress.mode) || 'open'],
    ];
    if (s.workspace) rows.push(['Workspace', s.workspace.source + (s.workspace.subdir ? '/' + s.workspace.subdir : '') + ' → ' + s.workspace.branch]);
    if (s.parent) rows.push(['Parent', h('a', { href: '#/sessions/' + encodeURIComponent(s.parent) }, s.parent)]);
    const kids = [...live.sessions.values()].filter((x) => x.parent === name);
    if (kids.length) rows.push(['Children', kids.flatMap((k, i) => [i ? ', ' : '', h('a', { href: '#/sessions/' + encodeURIComponent(k.name) }, k.name)])]);
    if (s.spawn) rows.push(['May start', s.spawned + ' of ' + s.spawn + ' children started']);
    if (s.reason) rows.push(['Reason', s.reason]);
    if (s.prompt) rows.push(['Prompt', h('span', { class: 'pre-wrap' }, s.prompt)]);
    clear(facts, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
    clear(warn, s.warning ? h('div', { class: 'warning', role: 'alert' }, s.warning) : null);
  }

  function drawUsage() {
    const u = s.usage;
    const b = (u && u.budget) || {};
    const cost = u ? f.usd(u.cost_usd) + (u.cost_known === false ? ' (some models unpriced)' : '') : (s.result ? f.usd(s.result.cost_usd) : '$0.0000');
    const rows = [
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Cost'), h('span', { class: 'stat-value', dataset: { field: 'cost' } }, cost)),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Tokens'), h('span', { class: 'stat-value', dataset: { field: 'tokens' } }, u ? f.tokens(u.input_tokens + u.output_tokens + u.cache_write_tokens + u.cache_read_tokens) : '0')),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Requests'), h('span', { class: 'stat-value' }, u ? String(u.requests) : '0')),
      h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Budget'), h('span', { class: 'stat-value', dataset: { field: 'budget' } },
        b.usd || b.tokens ? [b.usd ? f.usd(b.usd) : '', b.tokens ? f.tokens(b.tokens) + ' tokens' : ''].filter(Boolean).join(' and ') : 'none')),
    ];
    if (u && (b.usd || b.tokens)) {
      rows.push(h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Spent with children'), h('span', { class: 'stat-value' }, f.usd(u.tree_cost_usd) + ' · ' + f.tokens(u.tree_tokens) + ' tokens')));
    }
    if (s.mode === 'print' && s.turns) rows.push(h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, 'Turns'), h('span', { class: 'stat-value', dataset: { field: 'turns' } }, String(s.turns))));
    const spent = u && ((b.usd && u.tree_cost_usd >= b.usd) || (b.tokens && u.tree_tokens >= b.tokens));
    clear(usage, h('h2', { id: 'usage-h' }, 'Usage'), h('div', { class: 'stats' }, rows),
      spent ? h('p', { class: 'warning' }, 'The budget is spent: the proxy refuses its requests until you raise it.') : null,
      h('div', { class: 'actions' }, act('Raise budget…', 'raise-budget', raiseBudget)));
  }

  async function raiseBudget() {
    const cur = (s.usage && s.usage.budget && s.usage.budget.usd) || 0;
    const input = h('input', { id: 'budget-usd', type: 'number', min: '0', step: '0.01', value: String(cur ? Math.ceil(cur * 2 * 100) / 100 : 1), inputmode: 'decimal' });
    const body = [h('label', { for: 'budget-usd' }, 'New budget in US dollars (0 removes it)'), input];
    const opened = confirmDialog('Budget for ' + name, body, 'Set budget');
    setTimeout(() => input.focus(), 0);
    if (!(await opened)) return;
    const usd = Number(input.value);
    if (!(usd >= 0)) throw new api.APIError('a budget is a number of US dollars, 0 or more', 400);
    s = await api.setBudget(name, { usd }) || s;
    toast('Budget set to ' + f.usd(usd));
    drawUsage();
  }

  function drawBody() {
    if (s.mode === 'interactive') drawTerminal();
    else drawPrint();
  }

  function drawTerminal() {
    const running = s.status === 'running';
    if (running && term && termFor === (s.container_id || 'x')) return;
    if (term) { term.close(); term = null; }
    if (!running) {
      clear(body, h('section', { class: 'card' }, h('h2', null, 'Terminal'),
        h('p', { class: 'empty-inline' }, s.status === 'creating' ? 'The container is starting…' : 'The session is ' + s.status + '. Start it to attach to its terminal.')));
      return;
    }
    const el = h('div', { id: 'terminal', class: 'terminal', role: 'application', 'aria-label': 'Terminal of session ' + name });
    clear(body, h('section', { class: 'card' }, h('h2', null, 'Terminal'), el,
      h('p', { class: 'hint' }, 'Keys go to the session. Detaching (leaving this page) leaves it running.')));
    termFor = s.container_id || 'x';
    term = openTerminal(el, name, { onEnd: () => { termFor = ''; } });
  }

  let convBox = null;
  let resultBox = null;
  function drawPrint() {
    if (!convBox) {
      convBox = h('div', { id: 'conversation', class: 'conversation', 'aria-live': 'off' });
      resultBox = h('div', { class: 'result', dataset: { field: 'result' } });
      clear(body,
        h('section', { class: 'card' }, h('h2', null, 'Result'), resultBox),
        h('section', { class: 'card' }, h('h2', null, 'Conversation'), convBox));
    }
    drawResult(null);
  }

  function drawResult(fromLogs) {
    const r = s.result;
    const t = r ? r.text : fromLogs ? fromLogs.result || '' : '';
    resultBox.classList.toggle('bad', !!(r ? r.is_error : fromLogs && fromLogs.is_error));
    if (t) text(resultBox, t);
    else text(resultBox, s.status === 'running' || s.status === 'creating' ? 'Still working…' : 'No result.');
    if (r) {
      resultBox.dataset.cost = String(r.cost_usd);
      resultBox.title = f.usd(r.cost_usd) + ' · ' + r.num_turns + ' turns · ' + (r.duration_ms / 1000).toFixed(1) + 's';
    }
  }

  // A running print session's output is followed as it is written; a
  // finished one's is read once.
  let follow = null;
  async function loadLogs() {
    if (s.mode !== 'print') return;
    const running = s.status === 'running' || s.status === 'creating';
    if (running && follow) return;
    if (running) {
      const ctl = new AbortController();
      let raw = '';
      let timer = null;
      follow = ctl;
      const draw = () => { timer = null; if (ctx.current()) showLogs(raw); };
      const first = new Promise((resolve) => {
        api.followLogs(name, (chunk) => {
          raw = f.keepTail(raw + chunk);
          if (!timer) timer = setTimeout(draw, 200);
          resolve();
        }, ctl.signal).then(() => { draw(); resolve(); }, (e) => {
          if (e.name !== 'AbortError' && ctx.current()) clear(convBox, errorBox(e, 'Its logs could not be read'));
          resolve();
        }).finally(() => { if (follow === ctl) follow = null; });
        // The first view is ready without waiting for output to come.
        setTimeout(resolve, 1500);
      });
      return first;
    }
    try {
      const raw = await api.sessionLogs(name);
      if (ctx.current()) showLogs(raw);
    } catch (e) {
      if (ctx.current()) clear(convBox, errorBox(e, 'Its logs could not be read'));
    }
  }

  function showLogs(raw) {
    const { nodes, result } = renderConversation(raw);
    const atEnd = convBox.scrollHeight - convBox.scrollTop - convBox.clientHeight < 40;
    clear(convBox, nodes.length ? nodes : h('p', { class: 'empty-inline' }, s.status === 'running' || s.status === 'creating' ? 'Nothing yet: Claude Code is starting.' : 'The session wrote nothing.'));
    if (atEnd) convBox.scrollTop = convBox.scrollHeight;
    drawResult(result);
  }

  function scheduleLogs() {
    clearTimeout(logsTimer);
    logsTimer = setTimeout(loadLogs, 500);
  }

  async function loadDiff() {
    if (!s.workspace) {
      clear(diffBox, h('h2', { id: 'diff-h' }, 'Changes'), h('p', { class: 'empty-inline' }, 'This session has no workspace, so there is nothing to land.'));
      return;
    }
    try {
      diff = await api.sessionDiff(name, true);
    } catch (e) {
      if (!ctx.current()) return;
      clear(diffBox, h('h2', { id: 'diff-h' }, 'Changes'), errorBox(e, 'The diff could not be read'));
      return;
    }
    if (!ctx.current()) return;
    drawDiff();
  }

  function drawDiff() {
    const files = diff.files || [];
    const head = h('div', { class: 'diff-head' },
      h('h2', { id: 'diff-h' }, 'Changes'),
      h('span', { class: 'muted' }, files.length + (files.length === 1 ? ' file' : ' files') + ', ',
        h('span', { class: 'adds' }, '+' + (diff.additions || 0)), ' ', h('span', { class: 'removes' }, '−' + (diff.deletions || 0)),
        diff.commits ? ', ' + diff.commits + (diff.commits === 1 ? ' commit' : ' commits') : '', diff.uncommitted ? ', uncommitted work' : ''),
      h('div', { class: 'actions' },
        act('Land…', 'land', land, { primary: true }),
        act('Apply…', 'apply', apply),
        h('button', { type: 'button', on: { click: () => loadDiff() } }, 'Refresh')));
    const nodes = files.map((fc) => h('section', { dataset: { file: fc.path }, class: 'diff-file' },
      h('details', { open: files.length <= 20 },
        h('summary', null,
          h('span', { class: 'file-status status-' + fc.status }, fc.status), ' ',
          h('code', { class: 'path' }, fc.old_path ? fc.old_path + ' → ' + fc.path : fc.path), ' ',
          h('span', { class: 'adds', dataset: { field: 'adds' } }, '+' + fc.additions), ' ',
          h('span', { class: 'removes', dataset: { field: 'removes' } }, '−' + fc.deletions)),
        fc.binary ? h('p', { class: 'muted' }, 'Binary file (' + f.bytes(fc.old_size) + ' → ' + f.bytes(fc.new_size) + ')')
          : fc.patch ? patch(fc.patch) : h('p', { class: 'muted' }, 'No patch text.'))));
    clear(diffBox, head, diff.truncated ? h('p', { class: 'warning' }, 'The patches were cut at the daemon’s size limit; clauderon diff shows all of it.') : null,
      files.length ? nodes : h('p', { class: 'empty-inline', id: 'diff-empty' }, 'No changes since the session started.'));
    for (const b of diffBox.querySelectorAll('button[data-action="land"], button[data-action="apply"]')) b.disabled = files.length === 0;
  }

  function patch(p) {
    const pre = h('pre', { class: 'patch' });
    for (const line of p.split('\n')) {
      const c = line[0];
      const cls = line.startsWith('@@') ? 'hunk' : c === '+' && !line.startsWith('+++') ? 'add' : c === '-' && !line.startsWith('---') ? 'del' : 'ctx';
      pre.append(h('span', { class: 'pl ' + cls }, line + '\n'));
    }
    return pre;
  }

  function summaryOf() {
    const files = diff.files || [];
    return h('div', null,
      h('p', null, files.length + (files.length === 1 ? ' file' : ' files') + ' (+' + diff.additions + ' −' + diff.deletions + ') into ' + (s.workspace.source || 'your repository') + '.'),
      h('ul', { class: 'file-list' }, files.slice(0, 15).map((fc) => h('li', null, h('code', null, fc.path)))),
      files.length > 15 ? h('p', { class: 'muted' }, 'and ' + (files.length - 15) + ' more') : null);
  }

  async function land() {
    const branch = s.workspace.branch || 'clauderon/' + name;
    if (!(await confirmDialog('Land ' + name + '’s work?', [summaryOf(), h('p', null, 'It becomes branch ' + branch + ' in your repository; your working tree is not touched.')], 'Land'))) return;
    const r = await api.landSession(name, { tree: diff.tree });
    toast('Landed on ' + ((r && r.mark && r.mark.branch) || branch) + ' in ' + ((r && r.repository) || 'your repository'));
    loadDiff();
  }

  async function apply() {
    if (!(await confirmDialog('Apply ' + name + '’s work?', [summaryOf(), h('p', null, 'The changes are written into your working tree, uncommitted.')], 'Apply'))) return;
    const r = await api.applySession(name, { tree: diff.tree });
    toast('Applied into ' + ((r && r.repository) || 'your working tree'));
    loadDiff();
  }

  function drawAll() {
    drawHead();
    drawActions();
    drawUsage();
    drawBody();
  }

  function notFound(e) {
    clear(section.querySelector('.state'));
    clear(errArea, errorBox(e, 'No session ' + name));
    errArea.append(h('p', null, h('a', { href: '#/sessions' }, 'Back to the sessions')));
  }

  const off = live.subscribe((e) => {
    if (e.name !== name && e.kind !== 'snapshot') return;
    if (gone || !s) return;
    if (e.kind === 'removed') {
      gone = true;
      if (term) { term.close(); term = null; }
      clear(errArea, h('div', { class: 'warning', role: 'alert' }, 'Session ' + name + ' was deleted. ', h('a', { href: '#/sessions' }, 'Back to the sessions')));
      return;
    }
    const n = live.sessions.get(name);
    if (!n) return;
    const before = s;
    s = { ...n, changes: n.changes || s.changes };
    drawHead();
    if (e.kind === 'usage') { drawUsage(); return; }
    if (e.kind === 'activity') {
      if (s.mode === 'print') scheduleLogs();
      return;
    }
    drawActions();
    drawUsage();
    drawBody();
    if (s.mode === 'print') scheduleLogs();
    if (before.status !== s.status && s.workspace) loadDiff();
  });

  (async () => {
    try {
      s = await api.getSession(name, true);
    } catch (e) {
      if (!ctx.current()) return;
      notFound(e);
      ctx.ready();
      return;
    }
    if (!ctx.current()) return;
    drawAll();
    const egress = egressCard(name).then((c) => { if (ctx.current()) clear(egressBox, c); });
    await Promise.all([loadLogs(), loadDiff(), egress]);
    ctx.ready();
  })();

  return () => {
    off();
    clearTimeout(logsTimer);
    if (follow) follow.abort();
    if (term) term.close();
  };
}
