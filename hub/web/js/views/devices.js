// Fleet: the device registry with filters; #/devices/<id> opens one device (config and commands).
import { api } from '../api.js';
import { badge, clear, field, fmtTime, h, messageSlot, panel, table } from '../ui.js';
import deviceDetail from './device_detail.js';
import { claimPanel } from './provision.js';

export default async function devices(main, ctx) {
  if (ctx.param) return deviceDetail(main, ctx);
  const msg = messageSlot();
  const list = h('div');
  const q = h('input', { type: 'search', placeholder: 'Id, model or location' });
  const kind = h('select', {}, h('option', { value: '' }, 'Any kind'), h('option', { value: 'door_terminal' }, 'Door terminals'),
    h('option', { value: 'print_box' }, 'Print boxes'));
  const online = h('select', {}, h('option', { value: '' }, 'Online or not'), h('option', { value: 'true' }, 'Online'),
    h('option', { value: 'false' }, 'Offline'));
  const group = h('input', { placeholder: 'Any group' });
  const firmware = h('input', { placeholder: 'Any version' });

  async function load() {
    try {
      const page = await api('/api/v1/devices', { query: { q: q.value.trim(), kind: kind.value, online: online.value,
        group: group.value.trim(), firmware: firmware.value.trim(), limit: 500 } });
      clear(list, h('p', { class: 'muted small' }, `${page.total} device(s)`), table({
        caption: 'Devices', rows: page.items, empty: 'No device matches these filters.',
        columns: [
          { label: 'Device', render: (d) => h('a', { href: `#/devices/${encodeURIComponent(d.id)}` }, d.id) },
          { label: 'Kind', render: (d) => (d.kind || '—').replace('_', ' ') },
          { label: 'Status', render: (d) => (d.revoked ? badge('revoked', 'bad') : badge(d.online ? 'online' : 'offline', d.online ? 'ok' : 'bad')) },
          { label: 'Firmware', render: (d) => d.firmware || '—' },
          { label: 'Group', render: (d) => d.group || '—' },
          { label: 'Location', render: (d) => d.location || '—' },
          { label: 'Last seen', render: (d) => fmtTime(d.last_seen) },
          { label: 'IP', render: (d) => d.ip || '—' },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  let timer = null;
  const off = ctx.live.on((k) => {
    if (k !== 'device') return;
    clearTimeout(timer);
    timer = setTimeout(load, 1000);
  });
  const filters = h('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); load(); } },
    h('div', { class: 'grow' }, field('Search', q)), field('Kind', kind), field('Status', online), field('Group', group),
    field('Firmware', firmware), h('button', { type: 'submit' }, 'Filter'));
  for (const el of [kind, online]) el.addEventListener('change', load);
  main.append(h('h1', {}, 'Devices'), msg, panel('', filters, list));
  if (ctx.user.role === 'admin') main.append(claimPanel());
  await load();
  return () => { off(); clearTimeout(timer); };
}
