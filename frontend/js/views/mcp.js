// MCP: the configuration that gives an MCP host clauderon's tools, as
// `clauderon mcp setup` prints it: Claude Code over stdio, Claude Code
// over the daemon's HTTP endpoint (with its bearer token), and Claude
// Desktop's JSON entry. The token stays hidden until revealed.

import { h, clear, text, toast, errorBox, copyText } from '../dom.js';
import * as api from '../api.js';

// shellQuote quotes s for a POSIX shell as the CLI's shellQuote does.
function shellQuote(s) {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replaceAll("'", "'\\''") + "'";
}

const MASK = '••••••••••••••••';

export function snippets(url, token) {
  return {
    'claude-code-stdio': 'claude mcp add --scope user clauderon -- clauderon mcp',
    'claude-code-http': 'claude mcp add --scope user --transport http clauderon ' + shellQuote(url) + ' --header ' + shellQuote('Authorization: Bearer ' + token),
    'claude-desktop': JSON.stringify({ clauderon: { command: 'clauderon', args: ['mcp'] } }, null, 2),
  };
}

export function render(main, _route, ctx) {
  const box = h('div', { id: 'mcp' });
  main.append(
    h('header', { class: 'view-head' }, h('h1', null, 'MCP')),
    h('p', { class: 'muted' }, 'Give Claude Code, Claude Desktop or another MCP host clauderon’s tools: it can then start sessions that hold no credential.'),
    box);

  api.mcp().then((m) => {
    if (!ctx.current()) return;
    draw(m || {});
    ctx.ready();
  }, (e) => {
    if (!ctx.current()) return;
    draw({});
    box.prepend(errorBox(e, 'The MCP endpoint could not be read'));
    ctx.ready();
  });

  function draw(m) {
    let revealed = false;
    const url = m.url || 'http://127.0.0.1:18090/mcp';
    const real = snippets(url, m.token || '');
    const tokenEl = h('code', { dataset: { field: 'mcp-token' }, class: 'secret', 'aria-label': 'MCP bearer token, hidden' }, MASK);
    const pres = {};
    const block = (key, title, note) => {
      pres[key] = h('pre', { dataset: { config: key }, class: 'snippet', tabindex: '0', 'aria-label': title });
      return h('section', { class: 'card' },
        h('div', { class: 'snippet-head' }, h('h2', null, title),
          h('button', { type: 'button', dataset: { copy: key }, 'aria-label': 'Copy the ' + title + ' configuration',
            on: { click: async () => { toast(await copyText(real[key]) ? 'Copied' : 'Copy failed: select the text and copy it', 'info'); } } }, 'Copy')),
        note ? h('p', { class: 'muted' }, note) : null,
        pres[key]);
    };
    const reveal = h('button', { type: 'button', dataset: { action: 'reveal-token' }, 'aria-pressed': 'false',
      disabled: !m.token, on: { click: () => { revealed = !revealed; fill(); } } }, 'Reveal token');
    function fill() {
      const shown = revealed ? real : snippets(url, MASK);
      for (const k of Object.keys(pres)) text(pres[k], shown[k]);
      text(tokenEl, revealed ? m.token : MASK);
      tokenEl.setAttribute('aria-label', revealed ? 'MCP bearer token' : 'MCP bearer token, hidden');
      text(reveal, revealed ? 'Hide token' : 'Reveal token');
      reveal.setAttribute('aria-pressed', String(revealed));
    }
    clear(box,
      h('section', { class: 'card' },
        h('h2', null, 'Endpoint'),
        h('dl', { class: 'facts' },
          h('dt', null, 'URL'), h('dd', null, h('code', { dataset: { field: 'mcp-url' } }, url)),
          h('dt', null, 'State'), h('dd', null, m.enabled === false ? 'off (mcp.port is -1 in config.json): use stdio' : 'on'),
          h('dt', null, 'Bearer token'), h('dd', null, tokenEl, ' ', reveal)),
        h('p', { class: 'muted' }, 'Anyone with this token can start and control sessions: share it with no one.')),
      block('claude-code-stdio', 'Claude Code (stdio)', 'Run once. Claude Code starts clauderon mcp itself, which starts the daemon when none runs.'),
      block('claude-code-http', 'Claude Code (HTTP)', 'Run once. Claude Code talks to the running daemon’s endpoint; the copy button copies the real token.'),
      block('claude-desktop', 'Claude Desktop', 'Add this under "mcpServers" in claude_desktop_config.json, then restart Claude Desktop (or run clauderon mcp setup claude-desktop --write).'));
    fill();
  }
}
