// The egress card of a session: its policy, allowed hosts and the latest
// refused tunnels, each with a button that allows that host.

import { h, clear, toast, errorBox } from '../dom.js';
import * as api from '../api.js';

// hostOnly drops a tunnel's port (example.com:443, [::1]:443): an allow
// list names hosts, and the daemon refuses one with a port.
export function hostOnly(h) {
  h = String(h || '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1];
  const m = /^([^:]+):\d+$/.exec(h);
  return m ? m[1] : h;
}

// allowButton adds host to session's allow list (POST .../egress) and
// calls done with the new report.
export function allowButton(session, host, done) {
  host = hostOnly(host);
  return h('button', {
    type: 'button', class: 'small', dataset: { action: 'allow-host', host, session },
    'aria-label': 'Allow ' + host + ' for session ' + session,
    on: { click: async (e) => {
      const b = e.currentTarget;
      b.disabled = true;
      try {
        const r = await api.allowHost(session, host);
        toast('Allowed ' + host + ' for ' + session);
        b.textContent = 'allowed';
        if (done) done(r);
      } catch (err) {
        b.disabled = false;
        toast(err.message, 'error');
        b.after(errorBox(err));
      }
    } },
  }, 'Allow this host for this session');
}

export async function egressCard(name) {
  const card = h('section', { class: 'card', id: 'egress', 'aria-labelledby': 'egress-h' });
  const draw = (r) => {
    const denials = (r.denials || []).slice().reverse();
    clear(card,
      h('h2', { id: 'egress-h' }, 'Egress'),
      h('p', null, 'Policy ', h('strong', null, r.mode || 'open'),
        r.allow && r.allow.length ? ['; also allowed: ', h('code', null, r.allow.join(', '))] : ''),
      r.balanced && r.balanced.length ? h('details', null, h('summary', null, 'The ' + r.balanced.length + ' development hosts balanced allows'), h('p', null, h('code', null, r.balanced.join(', ')))) : null,
      denials.length
        ? h('table', { class: 'table' }, h('caption', null, 'Refused hosts'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Host'), h('th', { scope: 'col' }, 'Times'), h('th', { scope: 'col' }, 'Last'), h('th', { scope: 'col' }, ''))),
          h('tbody', null, denials.map((d) => h('tr', { class: 'denied' },
            h('td', null, d.host), h('td', null, String(d.count)), h('td', null, new Date(d.time).toLocaleString()),
            h('td', null, allowButton(name, d.host, draw))))))
        : h('p', { class: 'muted' }, 'No host was refused since the daemon started.'));
  };
  try {
    draw(await api.getEgress(name));
  } catch (e) {
    clear(card, h('h2', { id: 'egress-h' }, 'Egress'), errorBox(e, 'The egress policy could not be read'));
  }
  return card;
}
