// conversation.js renders a print session's output (Claude Code's
// stream-json: system init, assistant and user messages, tool calls and
// results, the result) as DOM, as `clauderon logs` renders it as text.
// Lines that are not stream-json (stderr) are shown as plain lines. All
// of it is the container's: every string goes in as text.

import { h } from './dom.js';

const RESULT_LINES = 5;
const THINKING_LINES = 3;
const MAX_SUMMARY = 120;

export function renderConversation(raw) {
  const out = [];
  let turns = 0;
  let last = '';
  let result = null;
  for (const line of raw.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    let l = null;
    if (t[0] === '{') { try { l = JSON.parse(t); } catch { l = null; } }
    if (!l || typeof l !== 'object' || !l.type) {
      out.push(h('div', { class: 'conv-plain' }, line.slice(0, 4096)));
      continue;
    }
    const sub = l.parent_tool_use_id ? ' sub' : '';
    switch (l.type) {
      case 'system':
        if (l.subtype === 'init') {
          turns++;
          out.push(h('div', { class: 'conv-meta' }, ['turn ' + turns, l.model, l.cwd].filter(Boolean).join(' · ')));
        } else if (l.subtype) out.push(h('div', { class: 'conv-meta' }, l.subtype));
        break;
      case 'assistant':
      case 'user':
        if (l.message) for (const n of message(l.type, l.message.content, sub, (s) => { last = s; })) out.push(n);
        break;
      case 'result': {
        result = l;
        const text = (l.result || '').replace(/\n+$/, '');
        if (text && text !== last) out.push(h('div', { class: 'conv-msg assistant' + (l.is_error ? ' bad' : '') }, text));
        last = '';
        const parts = [l.is_error ? (l.subtype && l.subtype !== 'success' ? 'failed (' + l.subtype + ')' : 'failed') : 'done'];
        if (l.num_turns > 0) parts.push(l.num_turns + (l.num_turns === 1 ? ' turn' : ' turns'));
        const cost = l.total_cost_usd ?? l.cost_usd;
        if (typeof cost === 'number') parts.push('$' + cost.toFixed(4));
        if (l.duration_ms > 0) parts.push((l.duration_ms / 1000).toFixed(1) + 's');
        out.push(h('div', { class: 'conv-end' + (l.is_error ? ' bad' : '') }, '── ' + parts.join(' · ')));
        break;
      }
      default:
        break; // rate limits, partial stream events: nothing to read
    }
  }
  return { nodes: out, result };
}

function message(role, content, sub, setLast) {
  const nodes = [];
  const text = (s) => {
    s = String(s || '').replace(/\n+$/, '');
    if (!s.trim()) return;
    if (role === 'assistant') setLast(s);
    nodes.push(h('div', { class: 'conv-msg ' + role + sub }, s));
  };
  if (typeof content === 'string') { text(content); return nodes; }
  if (!Array.isArray(content)) return nodes;
  for (const b of content) {
    if (!b || typeof b !== 'object') continue;
    switch (b.type) {
      case 'text': text(b.text); break;
      case 'thinking':
        nodes.push(h('div', { class: 'conv-thinking' + sub }, clip(b.thinking || '', THINKING_LINES)));
        break;
      case 'tool_use':
        nodes.push(h('div', { class: 'conv-tool' + sub },
          h('span', { class: 'tool-name' }, String(b.name || '')), '(' + summary(b.name, b.input) + ')'));
        break;
      case 'tool_result': nodes.push(toolResult(b, sub)); break;
      case 'image': nodes.push(h('div', { class: 'conv-meta' + sub }, '[image]')); break;
      default: break;
    }
  }
  return nodes;
}

function toolResult(b, sub) {
  let t = '';
  if (typeof b.content === 'string') t = b.content;
  else if (Array.isArray(b.content)) t = b.content.map((p) => (p && p.type === 'text' ? p.text : p && p.type === 'image' ? '[image]' : '')).filter(Boolean).join('\n');
  t = t.replace(/\n+$/, '');
  if (!t.trim()) t = '(no output)';
  if (b.is_error) t = 'error: ' + t;
  const lines = t.split('\n');
  const cls = 'conv-result' + sub + (b.is_error ? ' bad' : '');
  if (lines.length <= RESULT_LINES) return h('pre', { class: cls }, t);
  return h('details', { class: cls },
    h('summary', null, h('pre', null, lines.slice(0, RESULT_LINES).join('\n')), h('span', { class: 'muted' }, '… ' + (lines.length - RESULT_LINES) + ' more lines')),
    h('pre', null, lines.slice(RESULT_LINES).join('\n')));
}

// summary is a tool call's input in a line: the argument that says what
// it does (a command, a path, a pattern), else its JSON.
function summary(name, input) {
  if (!input || typeof input !== 'object') return '';
  for (const k of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description', 'prompt']) {
    if (typeof input[k] === 'string') return cut(input[k]);
  }
  try { return cut(JSON.stringify(input)); } catch { return ''; }
}

function cut(s) {
  s = s.replace(/\s+/g, ' ');
  return s.length > MAX_SUMMARY ? s.slice(0, MAX_SUMMARY - 1) + '…' : s;
}

function clip(s, n) {
  const lines = s.replace(/\n+$/, '').split('\n');
  return lines.length <= n ? lines.join('\n') : lines.slice(0, n).join('\n') + '\n…';
}
