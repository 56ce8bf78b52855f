// New session: every field of api.CreateSession the UI offers, a suggested
// name, the engine's images, and the daemon's own validation: a 400's
// message is shown under the field it names when it names one, else in
// #form-error. Progress lines of the create (image checks, the workspace
// copy) appear in #progress while it runs.

import { h, clear, text, toast } from '../dom.js';
import * as api from '../api.js';
import { live } from '../events.js';

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,39}$/;
const DEFAULT_IMAGE = 'clauderon-agent:latest';
const OTHER = '__other__';

// suggestName is a name no live session has: task-<4 random characters>.
function suggestName() {
  const abc = 'abcdefghijkmnpqrstuvwxyz23456789';
  for (;;) {
    let s = 'task-';
    const r = crypto.getRandomValues(new Uint8Array(4));
    for (const b of r) s += abc[b % abc.length];
    if (!live.sessions.has(s)) return s;
  }
}

// fieldFor guesses which field a daemon error is about, from its words.
// Order matters: "spawn image" is spawn's, "egress mode" is egress's.
export function fieldFor(msg, code) {
  const m = msg.toLowerCase();
  if (code === 'exists' || /session name|^session [a-z0-9-]+ exists|already exists/.test(m)) return 'name';
  if (/spawn/.test(m)) return 'spawn';
  if (/backend|kubernetes|binds host paths/.test(m)) return 'backend';
  if (/egress mode/.test(m)) return 'egress';
  if (/budget/.test(m)) return 'budget_usd';
  if (/prompt/.test(m)) return 'prompt';
  if (/\bmode\b/.test(m)) return 'mode';
  if (/--from|\bref\b|branch, tag or commit|revision/.test(m)) return 'from';
  if (/workdir|directory|repository|home/.test(m)) return 'workdir';
  if (/image/.test(m) || code === 'image') return 'image';
  if (/host|allow|domain/.test(m)) return 'allow';
  return '';
}

export function render(main, _route, ctx) {
  const errs = {};
  const field = (name, label, control, hint) => {
    control.id = control.id || 'f-' + name;
    const hintId = hint ? control.id + '-hint' : null;
    errs[name] = h('div', { class: 'field-error', dataset: { errorFor: name }, id: control.id + '-error', 'aria-live': 'polite' });
    control.setAttribute('aria-describedby', [hintId, control.id + '-error'].filter(Boolean).join(' '));
    return h('div', { class: 'field' },
      h('label', { for: control.id }, label),
      control,
      hint ? h('div', { class: 'hint', id: hintId }, hint) : null,
      errs[name]);
  };

  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: '40', autocomplete: 'off', spellcheck: 'false', value: suggestName(), pattern: '[a-z0-9][a-z0-9\\-]{0,39}' });
  const prompt = h('textarea', { name: 'prompt', rows: '6', placeholder: 'What should Claude Code do?' });
  const mode = h('select', { name: 'mode' },
    h('option', { value: 'interactive' }, 'interactive — a live terminal you attach to'),
    h('option', { value: 'print' }, 'print — runs once and keeps the result'));
  const image = h('select', { name: 'image' }, h('option', { value: DEFAULT_IMAGE }, DEFAULT_IMAGE));
  const imageOther = h('input', { name: 'image_other', type: 'text', placeholder: 'registry/image:tag', 'aria-label': 'Other image reference', hidden: true, spellcheck: 'false' });
  const backend = h('select', { name: 'backend' },
    h('option', { value: '' }, 'default (config.json default_backend; docker unless set)'),
    h('option', { value: 'docker' }, 'docker — this machine’s engine'),
    h('option', { value: 'kubernetes' }, 'kubernetes — the cluster in config.json'));
  const workdir = h('input', { name: 'workdir', type: 'text', placeholder: '/home/you/project', spellcheck: 'false' });
  const from = h('input', { name: 'from', type: 'text', placeholder: 'main, v1.2, a commit', spellcheck: 'false' });
  const egress = h('select', { name: 'egress' },
    h('option', { value: '' }, 'default (config.json egress.default; balanced unless set)'),
    h('option', { value: 'balanced' }, 'balanced — common development hosts and the list below'),
    h('option', { value: 'locked' }, 'locked — only the hosts below'),
    h('option', { value: 'open' }, 'open — any host'));
  const allow = h('textarea', { name: 'allow', rows: '3', placeholder: 'example.com\n*.example.org', spellcheck: 'false' });
  const budget = h('input', { name: 'budget_usd', type: 'number', min: '0', step: '0.01', placeholder: 'no cap', inputmode: 'decimal' });
  const spawn = h('input', { name: 'spawn', type: 'number', min: '0', step: '1', placeholder: '0', inputmode: 'numeric' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create session');
  const formError = h('div', { id: 'form-error', class: 'error', role: 'alert', hidden: true });
  const progress = h('ol', { id: 'progress', class: 'progress', 'aria-live': 'polite', 'aria-label': 'Progress', hidden: true });

  const form = h('form', { id: 'new-session', class: 'card form', novalidate: true },
    field('name', 'Name', name, '1–40 lowercase letters, digits and “-”, starting with a letter or digit.'),
    field('prompt', 'Prompt', prompt, 'Required for a print session; an interactive one starts with it typed in.'),
    h('div', { class: 'row2' },
      field('mode', 'Mode', mode),
      h('div', { class: 'field' },
        h('label', { for: 'f-image' }, 'Image'), image, imageOther,
        h('div', { class: 'hint', id: 'f-image-hint' }, 'The engine’s local images; “Other…” takes any reference.'),
        (errs.image = h('div', { class: 'field-error', dataset: { errorFor: 'image' }, id: 'f-image-error', 'aria-live': 'polite' })))),
    field('backend', 'Runs on', backend, 'Where its container runs. The token stays on this machine either way.'),
    field('workdir', 'Project directory', workdir, 'An absolute host path. Its copy is the session’s /workspace; your directory is never mounted. Empty gives an empty workspace.'),
    field('from', 'Start from', from, 'A git branch, tag or commit instead of HEAD (your uncommitted changes are then not carried).'),
    h('div', { class: 'row2' },
      field('egress', 'Egress', egress),
      field('budget_usd', 'Budget (US dollars)', budget, 'Stops its requests to Anthropic once it and its children spent this much.')),
    field('allow', 'Also allow these hosts', allow, 'One host a line: example.com, *.example.com, or an IP address.'),
    field('spawn', 'Children it may start', spawn, 'Lets its own Claude Code start this many sessions through clauderon’s MCP tools.'),
    formError,
    h('div', { class: 'actions' }, submit),
    progress);
  image.id = 'f-image';
  image.setAttribute('aria-describedby', 'f-image-hint f-image-error');

  main.append(h('header', { class: 'view-head' }, h('h1', null, 'New session')), form);

  image.addEventListener('change', () => {
    imageOther.hidden = image.value !== OTHER;
    if (!imageOther.hidden) imageOther.focus();
  });
  name.addEventListener('input', () => {
    const v = name.value;
    text(errs.name, v && !NAME_RE.test(v) ? 'use 1 to 40 lowercase letters, digits and “-”, starting with a letter or digit' : '');
    name.toggleAttribute('aria-invalid', !!errs.name.textContent);
  });

  function clearErrors() {
    for (const [k, el] of Object.entries(errs)) {
      text(el, '');
      const c = form.elements[k];
      if (c && c.removeAttribute) c.removeAttribute('aria-invalid');
    }
    formError.hidden = true;
    text(formError, '');
  }

  function showError(e) {
    const f = e.status && e.status < 500 ? fieldFor(e.message, e.code) : '';
    if (f && errs[f]) {
      text(errs[f], e.message);
      const c = form.elements[f];
      if (c) { c.setAttribute('aria-invalid', 'true'); c.focus(); }
    } else {
      text(formError, e.message);
      formError.hidden = false;
      formError.focus && formError.setAttribute('tabindex', '-1');
      formError.focus();
    }
  }

  function body() {
    const b = { name: name.value.trim(), mode: mode.value };
    if (prompt.value.trim()) b.prompt = prompt.value;
    const img = image.value === OTHER ? imageOther.value.trim() : image.value;
    if (img) b.image = img;
    if (backend.value) b.backend = backend.value;
    if (workdir.value.trim()) b.workdir = workdir.value.trim();
    if (from.value.trim()) b.from = from.value.trim();
    const hosts = allow.value.split('\n').map((s) => s.trim()).filter(Boolean);
    if (egress.value || hosts.length) b.egress = { ...(egress.value ? { mode: egress.value } : {}), ...(hosts.length ? { allow: hosts } : {}) };
    if (budget.value !== '') b.budget = { usd: Number(budget.value) };
    if (spawn.value !== '') b.spawn = Number(spawn.value);
    return b;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    const b = body();
    // Checks the daemon would make anyway, said before a round trip.
    if (!NAME_RE.test(b.name)) {
      showError({ status: 400, message: b.name ? 'session name "' + b.name + '" is not valid: use 1 to 40 lowercase letters, digits and \'-\', starting with a letter or digit' : 'a session name is required' });
      return;
    }
    if (b.mode === 'print' && !b.prompt) {
      showError({ status: 400, message: 'a print session needs a prompt: what Claude Code should do' });
      return;
    }
    if (b.budget && !(b.budget.usd >= 0)) { showError({ status: 400, message: 'a budget cannot be negative' }); return; }
    if (b.spawn !== undefined && !(Number.isInteger(b.spawn) && b.spawn >= 0)) { showError({ status: 400, message: 'spawn is a whole number, 0 or more' }); return; }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    clear(progress, h('li', null, 'Creating ' + b.name + '…'));
    progress.hidden = false;
    try {
      const s = await api.createSession(b, (line) => {
        progress.append(h('li', null, line));
        progress.scrollTop = progress.scrollHeight;
      });
      toast('Created session ' + (s && s.name ? s.name : b.name));
      if (ctx.current()) ctx.navigate('#/sessions/' + encodeURIComponent((s && s.name) || b.name));
    } catch (err) {
      if (!ctx.current()) return;
      progress.append(h('li', { class: 'bad' }, 'failed'));
      showError(err);
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  api.images().then((r) => {
    if (!ctx.current()) return;
    const refs = [...new Set((r && r.images || []).map((i) => i.ref).filter(Boolean))].sort();
    const opts = refs.map((ref) => h('option', { value: ref }, ref));
    if (!refs.includes(DEFAULT_IMAGE)) opts.unshift(h('option', { value: DEFAULT_IMAGE }, DEFAULT_IMAGE + ' (not built yet: clauderon image build)'));
    clear(image, opts, h('option', { value: OTHER }, 'Other…'));
    image.value = DEFAULT_IMAGE;
    ctx.ready();
  }, (err) => {
    if (!ctx.current()) return;
    clear(image, h('option', { value: DEFAULT_IMAGE }, DEFAULT_IMAGE), h('option', { value: OTHER }, 'Other…'));
    text(errs.image, 'The image list could not be read: ' + err.message);
    ctx.ready();
  });
}
