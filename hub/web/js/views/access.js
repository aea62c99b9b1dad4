// Doors and access groups: who may open which door, when; recent door alerts.
import { api } from '../api.js';
import { badge, busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';
import { employeeNames } from './names.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export default async function access(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  const msg = messageSlot();
  const groups = h('div');
  const alerts = h('div');
  const doors = h('div');
  let names = new Map();
  let doorIds = [];

  const schedule = (g) => (g.schedule.length
    ? g.schedule.map((s) => `${s.days.map((d) => DAYS[d]).join(' ')} ${s.start}–${s.end}`).join('; ')
    : 'any time');

  async function load() {
    try {
      names = await employeeNames(true);
      const [gs, as, devs] = await Promise.all([
        api('/api/v1/access/groups'), api('/api/v1/alerts', { query: { limit: 100 } }),
        api('/api/v1/devices', { query: { kind: 'door_terminal', limit: 500 } }),
      ]);
      doorIds = devs.items.map((d) => d.id);
      clear(doors, table({
        caption: 'Doors', rows: devs.items, empty: 'No door terminals yet.',
        columns: [
          { label: 'Door terminal', key: 'id' },
          { label: 'Location', render: (d) => d.location || '—' },
          { label: 'Status', render: (d) => badge(d.online ? 'online' : 'offline', d.online ? 'ok' : 'bad') },
          { label: 'Lock', render: (d) => String(d.reported_state?.door ?? d.reported_state?.lock ?? '—') },
          { label: '', render: (d) => (h('button', { type: 'button', class: 'small secondary', onclick: (ev) => busy(ev.currentTarget, async () => {
            try {
              await api(`/api/v1/devices/${encodeURIComponent(d.id)}/commands`, { method: 'POST', json: { name: 'open_door', args: {} } });
              msg.ok(`Open command sent to ${d.id}.`);
            } catch (err) { msg.error(err); }
          }) }, 'Open door')) },
        ],
      }));
      clear(groups, table({
        caption: 'Access groups', rows: gs, empty: 'No access groups yet.',
        columns: [
          { label: 'Group', key: 'name' },
          { label: 'Doors', render: (g) => (g.doors.length ? g.doors.join(', ') : 'none') },
          { label: 'When', render: (g) => `${schedule(g)} (${g.tz})` },
          { label: 'Members', render: (g) => g.members.map((m) => names.get(String(m)) || `#${m}`).join(', ') || 'none' },
          { label: '', render: (g) => (isAdmin ? h('button', { type: 'button', class: 'small danger', onclick: (ev) => busy(ev.currentTarget, async () => {
            try { await api(`/api/v1/access/groups/${g.id}`, { method: 'DELETE' }); msg.ok(`Group ${g.name} deleted.`); load(); } catch (err) { msg.error(err); }
          }) }, `Delete ${g.name}`) : '') },
        ],
      }));
      const doorSet = new Set(doorIds);
      clear(alerts, table({
        caption: 'Door alerts', rows: as.filter((a) => doorSet.has(a.device_id)).slice(0, 20), empty: 'No door alerts.',
        columns: [
          { label: 'When', render: (a) => fmtTime(a.last_at) },
          { label: 'Door', key: 'device_id' },
          { label: 'What', key: 'message' },
          { label: 'Severity', render: (a) => badge(a.severity, a.severity === 'critical' ? 'bad' : 'warn') },
          { label: 'State', render: (a) => stateBadge(a.state) },
        ],
      }));
      if (form) form.fill();
    } catch (err) {
      msg.error(err);
    }
  }

  const form = isAdmin ? groupForm(msg, () => doorIds, () => names, () => load()) : null;
  main.append(h('h1', {}, 'Doors and access'), msg, panel('Doors', doors));
  if (form) main.append(form.el);
  main.append(panel('Access groups', groups), panel('Recent door alerts', alerts));
  await load();
}

function groupForm(msg, doorIds, names, reload) {
  const name = h('input', { required: true, maxlength: '128' });
  const doors = h('select', { multiple: true, size: '4' });
  const members = h('select', { multiple: true, size: '4' });
  const start = h('input', { type: 'time', value: '07:00' });
  const end = h('input', { type: 'time', value: '19:00' });
  const tz = h('input', { value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const weekdays = DAYS.map((d, i) => h('input', { type: 'checkbox', value: String(i), 'aria-label': d }));
  weekdays.forEach((w, i) => { w.defaultChecked = i < 5; }); // the default survives form.reset()
  const fill = () => {
    const keep = (sel) => new Set([...sel.selectedOptions].map((o) => o.value));
    const d0 = keep(doors);
    const m0 = keep(members);
    clear(doors, doorIds().map((d) => h('option', { value: d, selected: d0.has(d) }, d)));
    clear(members, [...names().entries()].map(([id, n]) => h('option', { value: id, selected: m0.has(id) }, n)));
  };
  const submit = h('button', { type: 'submit' }, 'Create group');
  const form = h('form', { class: 'stack', 'aria-label': 'New access group' },
    field('Name', name), field('Doors', doors, 'Ctrl/Cmd-click for several'), field('Members', members),
    field('From', start), field('Until', end), field('Time zone', tz),
    h('fieldset', { class: 'row' }, h('legend', {}, 'Days'), weekdays.map((w, i) => h('label', { class: 'check' }, w, DAYS[i]))),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const days = weekdays.filter((w) => w.checked).map((w) => Number(w.value));
        await api('/api/v1/access/groups', { method: 'POST', json: {
          name: name.value.trim(), tz: tz.value.trim(), doors: [...doors.selectedOptions].map((o) => o.value),
          members: [...members.selectedOptions].map((o) => Number(o.value)),
          schedule: [{ days, start: start.value, end: end.value }] } });
        msg.ok(`Access group ${name.value.trim()} created.`);
        form.reset();
        reload();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return { el: panel('New access group', form), fill };
}
