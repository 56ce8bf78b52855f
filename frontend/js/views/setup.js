// Setup: the desktop app's first run, shown when no credential is
// configured. Four steps on one page: paste the token (stored in the OS
// keychain through the daemon), see its kind and fingerprint, see whether
// the engine answers (with the fix when not), and whether the agent image
// is present (with a button that builds it, showing the build's lines).
// Each step's element carries data-setup=STEP and data-state, which the
// window test reads through the app's report.

import { h, clear, text, errText } from '../dom.js';
import * as api from '../api.js';

const SETUP_TOKEN_DOCS = 'https://docs.anthropic.com/en/docs/claude-code/setup';
// The build log keeps its last lines only: a build prints thousands.
const MAX_BUILD_LINES = 200;

export function render(main, _route, ctx) {
  const tokenStep = h('section', { class: 'card', dataset: { setup: 'token', state: 'loading' }, 'aria-live': 'polite' });
  const engineStep = h('section', { class: 'card', dataset: { setup: 'engine', state: 'loading' }, 'aria-live': 'polite' });
  const imageStep = h('section', { class: 'card', dataset: { setup: 'image', state: 'loading' }, 'aria-live': 'polite' });
  const done = h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'primary', dataset: { action: 'setup-done' }, on: { click: () => ctx.navigate('#/sessions') } }, 'Go to the sessions'));

  main.append(
    h('header', { class: 'view-head' }, h('h1', null, 'Set up clauderon')),
    h('p', { class: 'muted' }, 'Sessions never hold your token: the proxy on this machine adds it to their requests to Anthropic. Three things are needed before the first session.'),
    tokenStep, engineStep, imageStep, done);

  const token = h('input', { id: 'setup-token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'sk-ant-oat01-…', 'aria-describedby': 'setup-token-hint setup-token-error' });
  const tokenErr = h('div', { id: 'setup-token-error', class: 'field-error', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save to the keychain');
  const form = h('form', { class: 'form', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'setup-token' }, 'Anthropic token'),
      token,
      h('div', { class: 'hint', id: 'setup-token-hint' },
        'The token comes from Claude Code: install it (', h('code', null, 'npm install -g @anthropic-ai/claude-code'),
        '), run ', h('code', null, 'claude setup-token'),
        ' in a terminal, sign in through the browser it opens, and paste the long-lived token it prints (sk-ant-oat01-…). An API key (sk-ant-api…) from console.anthropic.com works too. ',
        h('a', { href: SETUP_TOKEN_DOCS, target: '_blank', rel: 'noopener noreferrer' }, 'About claude setup-token')),
      tokenErr),
    h('div', { class: 'actions' }, save));

  function drawToken(st) {
    const unavailable = st.keychain === 'unavailable';
    tokenStep.dataset.state = st.configured ? 'ok' : unavailable ? 'no-keychain' : 'missing';
    const facts = st.configured ? h('dl', { class: 'facts' },
      h('dt', null, 'Kind'), h('dd', { dataset: { field: 'kind' } }, st.kind || '—'),
      h('dt', null, 'Ends in'), h('dd', null, h('code', { dataset: { field: 'fingerprint' } }, st.fingerprint || '—')),
      h('dt', null, 'Stored in'), h('dd', null, st.origin === 'environment' ? 'the environment (' + (st.env_var || '') + ')' : 'the OS keychain')) : null;
    clear(tokenStep,
      h('h2', null, '1. Your Anthropic token'),
      facts,
      unavailable ? h('div', { class: 'error', role: 'alert', dataset: { field: 'keychain' } },
        h('p', null, 'No OS keychain is available, so the token cannot be stored.'),
        h('p', null, st.error || ''),
        h('p', null, 'Fix that, then reopen the app; or start ', h('code', null, 'clauderon daemon'),
          ' with CLAUDE_CODE_OAUTH_TOKEN set in its environment, and the app uses that daemon.')) : null,
      // An empty keychain is this step's normal start, not an error.
      !unavailable && st.error && !st.configured && st.keychain !== 'empty' ? h('p', { class: 'error' }, st.error) : null,
      st.warning ? h('p', { class: 'warning' }, st.warning) : null,
      // No field where the token could not be stored.
      st.configured || unavailable ? null : form);
  }

  async function loadToken() {
    try { drawToken(await api.getToken()); } catch (e) {
      tokenStep.dataset.state = 'error';
      clear(tokenStep, h('h2', null, '1. Your Anthropic token'), h('p', { class: 'error' }, errText(e)));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    text(tokenErr, '');
    const v = token.value.trim();
    if (!v) { text(tokenErr, 'paste a token first'); token.focus(); return; }
    save.disabled = true;
    try {
      const st = await api.putToken(v);
      token.value = ''; // the page keeps no copy
      drawToken(st || await api.getToken());
    } catch (ex) {
      text(tokenErr, ex.message);
      token.setAttribute('aria-invalid', 'true');
      token.focus();
    } finally {
      save.disabled = false;
    }
  });

  function drawCheck(step, title, c, extra) {
    step.dataset.state = !c ? 'unknown' : c.ok ? 'ok' : 'missing';
    clear(step, h('h2', null, title),
      h('p', { dataset: { field: 'detail' } }, c ? c.detail || (c.ok ? 'ok' : '') : 'not checked'),
      c && !c.ok && c.fix ? h('p', { class: 'hint', dataset: { field: 'fix' } }, 'Fix: ', c.fix) : null,
      extra || null);
  }

  let building = false;
  function buildButton(c) {
    if (!c || c.ok || !api.buildImage) return null;
    const log = h('pre', { class: 'log', dataset: { field: 'build-log' }, 'aria-live': 'off' });
    const status = h('p', { dataset: { field: 'build-status' }, 'aria-live': 'polite' });
    const lines = [];
    const btn = h('button', { type: 'button', dataset: { action: 'build-image' }, disabled: building, on: { click: async () => {
      building = true;
      btn.disabled = true;
      imageStep.dataset.state = 'building';
      text(status, 'Building the agent image…');
      try {
        await api.buildImage((l) => {
          lines.push(l);
          if (lines.length > MAX_BUILD_LINES) lines.shift();
          text(log, lines.join('\n'));
          log.scrollTop = log.scrollHeight;
        });
        text(status, 'Built.');
        building = false;
        await loadChecks();
      } catch (e) {
        building = false;
        btn.disabled = false;
        imageStep.dataset.state = 'missing';
        text(status, 'The build failed: ' + errText(e));
      }
    } } }, 'Build the agent image');
    return h('div', null, h('div', { class: 'actions' }, btn), status, log);
  }

  async function loadChecks() {
    try {
      const d = await api.doctor();
      const by = Object.fromEntries((d.checks || []).map((c) => [c.name, c]));
      drawCheck(engineStep, '2. The container engine', by.engine);
      drawCheck(imageStep, '3. The agent image', by.image, buildButton(by.image));
    } catch (e) {
      for (const [s, t] of [[engineStep, '2. The container engine'], [imageStep, '3. The agent image']]) {
        s.dataset.state = 'error';
        clear(s, h('h2', null, t), h('p', { class: 'error' }, errText(e)));
      }
    }
  }

  Promise.all([loadToken(), loadChecks()]).then(() => ctx.ready());
}
