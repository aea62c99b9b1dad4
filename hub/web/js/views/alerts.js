// Alerts (device offline, door forced or held open, printer faults, rollout aborted): acknowledge and
// resolve; webhooks that receive them, signed, with their recent deliveries.
import { api } from '../api.js';
import { badge, busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';

export default async function alerts(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  const msg = messageSlot();
  const list = h('div');
  const hooks = h('div');
  const state = h('select', {}, [['active', 'Open or acknowledged'], ['open', 'Open'], ['acked', 'Acknowledged'],
    ['resolved', 'Resolved'], ['', 'All']].map(([v, l]) => h('option', { value: v }, l)));

  const act = (a, verb) => h('button', { type: 'button', class: 'small secondary', onclick: (ev) => busy(ev.currentTarget, async () => {
    try { await api(`/api/v1/alerts/${a.id}/${verb}`, { method: 'POST' }); load(); } catch (err) { msg.error(err); }
  }) }, verb === 'ack' ? 'Acknowledge' : 'Resolve');

  async function load() {
    try {
      const rows = await api('/api/v1/alerts', { query: { state: state.value, limit: 200 } });
      clear(list, table({ caption: 'Alerts', rows, empty: 'No alerts in this state.', columns: [
        { label: 'Last seen', render: (a) => fmtTime(a.last_at) },
        { label: 'Severity', render: (a) => badge(a.severity, a.severity === 'critical' || a.severity === 'error' ? 'bad' : 'warn') },
        { label: 'Kind', render: (a) => a.kind.replaceAll('_', ' ') },
        { label: 'Device', render: (a) => (a.device_id ? h('a', { href: `#/devices/${encodeURIComponent(a.device_id)}` }, a.device_id) : '—') },
        { label: 'What', render: (a) => [a.message, a.count > 1 ? h('span', { class: 'small muted' }, ` (×${a.count})`) : ''] },
        { label: 'State', render: (a) => [stateBadge(a.state), a.acked_by ? h('div', { class: 'small muted' }, `by ${a.acked_by}`) : null] },
        { label: '', render: (a) => h('div', { class: 'row' }, a.state === 'open' ? act(a, 'ack') : null,
          a.state !== 'resolved' ? act(a, 'resolve') : null) },
      ] }));
      if (isAdmin) await loadHooks();
    } catch (err) {
      msg.error(err);
    }
  }

  async function loadHooks() {
    const rows = await api('/api/v1/webhooks');
    clear(hooks, table({ caption: 'Webhooks', rows, empty: 'No webhooks.', columns: [
      { label: 'URL', key: 'url' },
      { label: 'Alert kinds', render: (w) => (w.kinds.length ? w.kinds.join(', ') : 'all') },
      { label: 'Since', render: (w) => fmtTime(w.created_at) },
      { label: '', render: (w) => h('button', { type: 'button', class: 'small danger', onclick: (ev) => busy(ev.currentTarget, async () => {
        try { await api(`/api/v1/webhooks/${w.id}`, { method: 'DELETE' }); msg.ok('Webhook removed.'); loadHooks(); } catch (err) { msg.error(err); }
      }) }, `Remove ${w.url}`) },
    ] }));
  }

  const off = ctx.live.on((kind) => { if (kind === 'alert') load(); });
  state.addEventListener('change', load);
  main.append(h('h1', {}, 'Alerts'), msg, panel('', h('div', { class: 'toolbar' }, field('Show', state)), list));
  if (isAdmin) main.append(panel('Webhooks', hookForm(msg, loadHooks), hooks));
  await load();
  return off;
}

function hookForm(msg, reload) {
  const url = h('input', { type: 'url', required: true, placeholder: 'https://alerts.example.internal/officehub' });
  const kinds = h('input', { placeholder: 'e.g. device_offline, door_forced (empty: all)' });
  const submit = h('button', { type: 'submit' }, 'Add webhook');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', 'aria-label': 'Add a webhook' }, field('URL', url), field('Alert kinds', kinds),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const hook = await api('/api/v1/webhooks', { method: 'POST', json: { url: url.value.trim(),
          kinds: kinds.value.split(',').map((k) => k.trim()).filter(Boolean) } });
        clear(out, h('div', { class: 'notice ok', role: 'status' }, 'Webhook added. Its signing secret is shown only now: ',
          h('code', { class: 'qr' }, hook.secret)));
        form.reset();
        reload();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return [form, out];
}
