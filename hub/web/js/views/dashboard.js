// Live dashboard: devices online/offline by kind, check-ins per hour, open alerts, live event feed.
import { api } from '../api.js';
import { barChart } from '../chart.js';
import { badge, busy, card, clear, fmtClock, fmtTime, h, messageSlot, panel, table } from '../ui.js';
import { employeeNames } from './names.js';

const KIND_LABEL = { door_terminal: 'Door terminals', print_box: 'Print boxes' };

function describeLive(kind, d, names) {
  const who = (id) => (id ? names.get(String(id)) || `employee ${id}` : 'someone unknown');
  switch (kind) {
    case 'checkin':
      return d.decision === 'accepted'
        ? `Check-in: ${who(d.employee_id)} at ${d.device_id}${d.distance != null ? ` (distance ${Number(d.distance).toFixed(2)})` : ''}`
        : `Refused at ${d.device_id}: ${String(d.decision).replaceAll('_', ' ')}${d.reason ? ` — ${d.reason}` : ''}`;
    case 'device':
      return `${d.device_id} is ${d.online ? 'online' : 'offline'}${d.reason ? ` (${d.reason})` : ''}`;
    case 'event': {
      const e = d.data || {};
      const detail = [e.action, e.state, e.door && e.door !== 'main' ? e.door : null, e.reason].filter(Boolean).join(' ');
      return `${d.device_id}: ${String(d.type).replaceAll('_', ' ')}${detail ? ` ${String(detail).replaceAll('_', ' ')}` : ''}`;
    }
    case 'alert':
      return `Alert${d.severity ? ` (${d.severity})` : ''}: ${d.message || d.kind || d.code}`;
    case 'print_job':
      return `Print job ${String(d.id).slice(0, 8)}: ${d.state}${d.reason ? ` — ${d.reason}` : ''}`;
    case 'rollout':
      return `Rollout ${String(d.id).slice(0, 8)}: ${d.state}, stage ${d.stage + 1}`;
    case 'command':
      return `Command ${d.name} to ${d.device_id}: ${d.state}`;
    default:
      return null;
  }
}

export default async function dashboard(main, ctx) {
  const msg = messageSlot();
  const cards = h('div', { class: 'cards', 'aria-label': 'Summary' });
  const chart = h('div', { class: 'chart' });
  const alerts = h('div');
  const feed = h('ol', { class: 'feed', 'aria-live': 'polite', 'aria-label': 'Live events', id: 'live-feed' });
  main.append(h('h1', {}, 'Dashboard'), msg, cards,
    h('div', { class: 'grid two' },
      panel('Check-ins per hour (last 24 h)', chart),
      panel('Live feed', feed)),
    panel('Open alerts', alerts));
  let names = new Map();

  async function refresh() {
    try {
      const [d, n] = await Promise.all([api('/api/v1/dashboard'), employeeNames().catch(() => names)]);
      names = n;
      const kinds = Object.entries(d.devices);
      clear(cards,
        kinds.length ? kinds.map(([kind, c]) => card(KIND_LABEL[kind] || kind, `${c.online} / ${c.online + c.offline}`,
          c.offline ? `${c.offline} offline` : 'all online')) : card('Devices', '0', 'none registered yet'),
        card('Check-ins, last 24 h', h('span', { id: 'checkins-24h' }, String(d.checkins_per_hour.reduce((n, p) => n + p.checkins, 0)))),
        card('Open alerts', String(d.open_alerts)),
        card('Print jobs in progress', String(d.print_jobs_active)));
      clear(chart, barChart({ label: 'Check-ins per hour', points: d.checkins_per_hour.map((p) => ({
        label: new Date(p.hour).toLocaleTimeString([], { hour: 'numeric' }), value: p.checkins })) }));
      clear(alerts, table({
        caption: 'Open alerts',
        empty: 'No open alerts.',
        rows: d.alerts,
        columns: [
          { label: 'When', render: (a) => fmtTime(a.at) },
          { label: 'Severity', render: (a) => badge(a.severity, a.severity === 'critical' || a.severity === 'error' ? 'bad' : 'warn') },
          { label: 'Device', key: 'device_id' },
          { label: 'What', key: 'message' },
          { label: '', render: (a) => (a.state === 'open' ? h('button', { type: 'button', class: 'small secondary',
            onclick: (ev) => busy(ev.currentTarget, async () => {
              try { await api(`/api/v1/alerts/${a.id}/ack`, { method: 'POST' }); refresh(); } catch (err) { msg.error(err); }
            }) }, 'Acknowledge') : '') },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 800);
  };

  const off = ctx.live.on((kind, data) => {
    const text = describeLive(kind, data, names);
    if (!text) return;
    const span = h('span', {}, text);
    const li = h('li', { class: `fresh ${kind}`, 'data-kind': kind }, h('time', { datetime: data.at || '' }, fmtClock(data.at)), span);
    if (kind === 'checkin' && data.employee_id && !names.has(String(data.employee_id))) {
      // Someone enrolled after this page loaded: look the name up, then rewrite the line.
      employeeNames(true).then((n) => { names = n; span.textContent = describeLive(kind, data, names); }).catch(() => {});
    }
    feed.prepend(li);
    while (feed.children.length > 60) feed.lastElementChild.remove();
    if (['checkin', 'device', 'alert', 'print_job'].includes(kind)) soon();
  });
  if (!feed.children.length) feed.append(h('li', { class: 'muted placeholder' }, 'Waiting for events…'));
  const offPlaceholder = ctx.live.on(() => {
    feed.querySelector('.placeholder')?.remove();
  });
  await refresh();
  const poll = setInterval(refresh, 30_000);
  return () => {
    off();
    offPlaceholder();
    clearTimeout(timer);
    clearInterval(poll);
  };
}
