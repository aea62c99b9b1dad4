// One device: registry facts, desired vs reported config with drift, commands with their history.
import { api } from '../api.js';
import { badge, busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';
import { deviceAdminPanel } from './device_admin.js';

const COMMANDS = { door_terminal: ['ping', 'open_door', 'sync_gallery', 'reboot'], print_box: ['ping', 'reboot'] };

function syncBadge(view) {
  const drift = Object.keys(view.drift).length;
  if (view.in_sync) return badge('in sync', 'ok');
  if (drift) return badge(`drift on ${drift} setting${drift > 1 ? 's' : ''}`, 'warn');
  return badge('waiting for the device to report', 'info');
}

const show = (v) => (v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export default async function deviceDetail(main, ctx) {
  const id = ctx.param;
  const isAdmin = ctx.user.role === 'admin';
  const msg = messageSlot();
  const facts = h('div');
  const config = h('div');
  const commands = h('div');
  const cmdSelect = h('select', { name: 'command' });
  main.append(h('p', {}, h('a', { href: '#/devices' }, '← All devices')), h('h1', {}, id), msg,
    h('div', { class: 'grid two' }, panel('Device', facts), panel('Commands', h('div', { class: 'toolbar' }, field('Command', cmdSelect),
      h('button', { type: 'button', onclick: (ev) => busy(ev.currentTarget, send) }, 'Send command')), commands)),
    panel('Configuration', config));

  async function send() {
    try {
      const cmd = await api(`/api/v1/devices/${encodeURIComponent(id)}/commands`, { method: 'POST', json: { name: cmdSelect.value, args: {} } });
      msg.ok(`${cmd.name} sent; it is ${cmd.state}.`);
      loadCommands();
    } catch (err) {
      msg.error(err);
    }
  }

  let timer = null;
  async function loadCommands() {
    clearTimeout(timer);
    const rows = await api(`/api/v1/devices/${encodeURIComponent(id)}/commands`, { query: { limit: 20 } });
    // The live feed announces a command when it is sent; follow it to its ack by polling.
    if (rows.some((c) => c.state === 'pending' || c.state === 'sent')) timer = setTimeout(() => loadCommands().catch(() => {}), 1000);
    clear(commands, table({ caption: 'Recent commands', rows, empty: 'No commands sent yet.', columns: [
      { label: 'When', render: (c) => fmtTime(c.created_at) },
      { label: 'Command', key: 'name' },
      { label: 'State', render: (c) => stateBadge(c.state) },
      { label: 'Result', render: (c) => c.error || (Object.keys(c.result || {}).length ? h('code', { class: 'small' }, JSON.stringify(c.result).slice(0, 120)) : '') },
      { label: 'By', key: 'created_by' },
    ] }));
  }

  async function loadConfig() {
    let view;
    try {
      view = await api(`/api/v1/devices/${encodeURIComponent(id)}/config`);
    } catch (err) {
      clear(config, h('p', { class: 'muted' }, err.message));
      return;
    }
    const keys = [...new Set([...Object.keys(view.desired), ...Object.keys(view.reported)])].sort();
    const edits = new Map();
    const rows = keys.map((k) => ({ key: k, desired: view.desired[k], reported: view.reported[k], drift: k in view.drift,
      override: k in view.overrides }));
    clear(config,
      h('p', {}, `Version ${view.version}; the device reports version ${view.reported_version ?? '—'}. `,
        syncBadge(view)),
      table({ caption: 'Desired and reported configuration', rows, empty: 'No configuration yet.',
        rowClass: (r) => (r.drift ? 'late' : null),
        columns: [
          { label: 'Setting', render: (r) => [r.key, r.override ? badge('device override', 'info') : ''] },
          { label: 'Desired', render: (r) => (isAdmin ? editor(r, edits) : show(r.desired)) },
          { label: 'Reported', render: (r) => show(r.reported) },
          { label: '', render: (r) => (r.drift ? badge('drift', 'warn') : '') },
        ] }),
      isAdmin ? h('div', { class: 'row' }, h('button', { type: 'button', onclick: (ev) => busy(ev.currentTarget, async () => {
        if (!edits.size) { msg.show('Change a value first.', 'info'); return; }
        try {
          await api(`/api/v1/devices/${encodeURIComponent(id)}/config`, { method: 'PATCH',
            json: { values: Object.fromEntries(edits), expected_version: view.version } });
          msg.ok('Configuration saved; the device applies it and reports back.');
          loadConfig();
        } catch (err) {
          msg.error(err);
        }
      }) }, 'Save configuration')) : null);
  }

  function editor(r, edits) {
    const input = h('input', { value: show(r.desired), 'aria-label': r.key, size: '14' });
    input.addEventListener('change', () => {
      let v = input.value.trim();
      try { v = JSON.parse(v); } catch { /* a plain string */ }
      edits.set(r.key, v);
    });
    return input;
  }

  try {
    const d = await api(`/api/v1/devices/${encodeURIComponent(id)}`);
    clear(cmdSelect, (COMMANDS[d.kind] || ['ping']).map((c) => h('option', { value: c }, c.replace('_', ' '))));
    clear(facts, h('dl', { class: 'facts' },
      [['Kind', d.kind], ['Status', d.online ? 'online' : 'offline'], ['Model', d.model], ['Firmware', d.firmware],
        ['Group', d.group], ['Location', d.location], ['Tags', d.tags.join(', ')], ['IP', d.ip],
        ['Uptime', d.uptime_s != null ? `${Math.round(d.uptime_s / 60)} min` : null], ['Last seen', fmtTime(d.last_seen)],
        ['Outbox', d.outbox_depth]].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v == null || v === '' ? '—' : String(v))])));
    if (isAdmin) main.append(deviceAdminPanel(d, { onChange: loadConfig }));
    await Promise.all([loadCommands(), loadConfig()]);
  } catch (err) {
    msg.error(err);
  }
  const off = ctx.live.on((kind, data) => {
    if (kind === 'command' && data.device_id === id) loadCommands().catch(() => {});
  });
  return () => {
    off();
    clearTimeout(timer);
  };
}
