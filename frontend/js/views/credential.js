// Credential: the Anthropic token the proxy injects. It goes to the OS
// keychain through the daemon; nothing ever shows it again: the status
// names its kind, where it was found, and at most its last 4 characters.

import { h, clear, text, toast, errorBox, confirmDialog } from '../dom.js';
import * as api from '../api.js';

const SETUP_TOKEN_DOCS = 'https://docs.anthropic.com/en/docs/claude-code/setup';

export function render(main, _route, ctx) {
  const status = h('section', { id: 'credential-status', class: 'card', 'aria-labelledby': 'cred-h', 'aria-live': 'polite' });
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
    placeholder: 'sk-ant-oat01-…', 'aria-describedby': 'token-hint token-error' });
  const err = h('div', { id: 'token-error', class: 'field-error', dataset: { errorFor: 'token' }, 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save to the keychain');
  const form = h('form', { id: 'credential', class: 'card form', novalidate: true },
    h('h2', null, 'Set the token'),
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'Anthropic token'),
      token,
      h('div', { class: 'hint', id: 'token-hint' },
        'Run ', h('code', null, 'claude setup-token'), ' and paste the long-lived token it prints (sk-ant-oat01-…), or an API key (sk-ant-api…). ',
        h('a', { href: SETUP_TOKEN_DOCS, target: '_blank', rel: 'noopener noreferrer' }, 'How claude setup-token works')),
      err),
    h('div', { class: 'actions' }, submit));

  main.append(
    h('header', { class: 'view-head' }, h('h1', null, 'Credential')),
    h('p', { class: 'muted' }, 'Sessions never hold this token: the proxy on your machine adds it to their requests to Anthropic.'),
    status, form);

  function draw(st) {
    const rows = [];
    rows.push(['Configured', st.configured ? 'yes' : 'no']);
    rows.push(['Kind', h('span', { dataset: { field: 'kind' } }, st.kind === 'oauth' ? 'oauth' : st.kind === 'api-key' ? 'api-key' : '—')]);
    rows.push(['Source', h('span', { dataset: { field: 'source' } }, st.origin === 'environment' ? 'environment (' + (st.env_var || '') + ')' : st.origin || '—')]);
    rows.push(['Ends in', h('code', { dataset: { field: 'fingerprint' } }, st.fingerprint || '—')]);
    rows.push(['Keychain', h('span', { dataset: { field: 'keychain' } }, st.keychain || '')]);
    const shadowed = st.warning || (st.origin === 'environment' && st.keychain === 'set' ? 'the environment variable ' + (st.env_var || '') + ' shadows the token in the keychain' : '');
    clear(status,
      h('h2', { id: 'cred-h' }, 'Current credential'),
      h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
      shadowed ? h('p', { id: 'credential-shadowed', class: 'warning', role: 'alert' }, shadowed) : null,
      st.error ? h('p', { class: 'error' }, st.error) : null,
      !st.configured && !st.error ? h('p', { class: 'empty-inline' }, 'No token yet: paste one below, or run clauderon token set in a terminal.') : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', dataset: { action: 'remove-token' }, disabled: st.keychain !== 'set',
          on: { click: remove } }, 'Remove from the keychain')));
  }

  async function load() {
    try {
      draw(await api.getToken());
    } catch (e) {
      clear(status, h('h2', { id: 'cred-h' }, 'Current credential'), errorBox(e, 'Its status could not be read'));
    }
  }

  async function remove() {
    if (!(await confirmDialog('Remove the token?', 'Sessions cannot reach Anthropic until you set one again.', 'Remove', true))) return;
    try {
      draw(await api.deleteToken() || await api.getToken());
      toast('Removed the token from the keychain');
    } catch (e) {
      status.append(errorBox(e, 'Remove failed'));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    text(err, '');
    const v = token.value.trim();
    if (!v) { text(err, 'paste a token first'); token.focus(); return; }
    submit.disabled = true;
    try {
      const st = await api.putToken(v);
      // The field is emptied at once: the page keeps no copy.
      token.value = '';
      draw(st || await api.getToken());
      toast('Saved the token to the keychain');
    } catch (ex) {
      text(err, ex.message);
      token.setAttribute('aria-invalid', 'true');
      token.focus();
    } finally {
      submit.disabled = false;
    }
  });

  load().then(() => ctx.ready());
}
