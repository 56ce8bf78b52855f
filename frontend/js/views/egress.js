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

// oneClick reports whether a refused host may be allowed with one click.
// The agent chose the host it was refused, so a wildcard (*.co.uk allows a
// whole suffix), a host's own or private address, or a name for one, is
// left to `clauderon egress allow`, typed on purpose.
export function oneClick(host) {
  host = String(host || '').toLowerCase().replace(/\.$/, '');
  if (!host || host.includes('*') || host.includes('/')) return false;
  if (['localhost', 'host.docker.internal', 'gateway.docker.internal', 'metadata.google.internal', 'metadata'].includes(host)) return false;
  if (host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) return false;
  if (host.includes(':')) { // IPv6: loopback, unspecified, unique-local, link-local, mapped
    return !(/^(::1?|::ffff:.*|f[cd][0-9a-f]{0,2}:.*|fe[89ab][0-9a-f]?:.*)$/.test(host));
  }
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return !(a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224);
  }
  if (/^\d+$/.test(host) || /^0x/.test(host)) return false; // an address in another spelling
  return true;
}

// allowButton adds host to session's allow list (POST .../egress) and
// calls done with the new report; for a host oneClick refuses it is a note
// with the command instead.
export function allowButton(session, host, done) {
  host = hostOnly(host);
  if (!oneClick(host)) {
    return h('span', { class: 'note', dataset: { allowNote: host } },
      'Not allowed from here (a wildcard, or an address of this machine or its network): run `clauderon egress allow ' + session + ' HOST` if you mean it.');
  }
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
