// Firmware: artefacts, and staged rollouts with progress bars that move as devices report.
import { api } from '../api.js';
import { busy, clear, field, fmtTime, h, messageSlot, panel, progress, stateBadge, table } from '../ui.js';

const FAILED = ['failed', 'timed_out', 'rolled_back'];
const IN_FLIGHT = ['offered', 'downloading', 'applying'];
const ACTIONS = { draft: ['start'], running: ['pause', 'advance', 'abort'], paused: ['resume', 'abort'],
  aborted: ['rollback'], completed: ['rollback'] };

function bar(r) {
  const c = r.counts || {};
  const total = Object.values(c).reduce((s, n) => s + n, 0);
  const sum = (keys) => keys.reduce((s, k) => s + (c[k] || 0), 0);
  const ok = c.succeeded || 0;
  const bad = sum(FAILED);
  const busyN = sum(IN_FLIGHT);
  return h('div', { class: 'rollout-progress', 'data-rollout': r.id },
    progress([{ value: ok, kind: 'done', label: 'updated' }, { value: bad, kind: 'failed', label: 'failed' },
      { value: busyN, kind: 'active', label: 'in progress' }], total, `Rollout ${r.target_version} progress`),
    h('div', { class: 'small muted' }, `${ok} of ${total} updated${bad ? `, ${bad} failed` : ''}${busyN ? `, ${busyN} in progress` : ''}`));
}

export default async function rollouts(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  const msg = messageSlot();
  const list = h('div');
  const fwList = h('div');
  const fwSelect = h('select', { required: true, 'aria-label': 'Firmware' });
  let timer = null;

  async function load() {
    clearTimeout(timer);
    try {
      const [fws, rs] = await Promise.all([api('/api/v1/firmware'), api('/api/v1/rollouts', { query: { limit: 10 } })]);
      const full = await Promise.all(rs.map((r) => api(`/api/v1/rollouts/${r.id}`)));
      clear(fwSelect, fws.map((f) => h('option', { value: String(f.id) }, `${f.kind.replace('_', ' ')} ${f.version}`)));
      clear(fwList, table({ caption: 'Firmware', rows: fws, empty: 'No firmware uploaded.', columns: [
        { label: 'Kind', render: (f) => f.kind.replace('_', ' ') + (f.model ? ` (${f.model})` : '') },
        { label: 'Version', key: 'version' },
        { label: 'Installs over', render: (f) => (f.min_version ? `${f.min_version} or later` : 'any older') },
        { label: 'Size', num: true, render: (f) => `${Math.ceil(f.size / 1024)} KB` },
        { label: 'SHA-256', render: (f) => h('code', { class: 'small', title: f.sha256 }, `${f.sha256.slice(0, 12)}…`) },
        { label: 'Uploaded', render: (f) => `${fmtTime(f.created_at)} by ${f.created_by}` },
      ] }));
      clear(list, table({ caption: 'Rollouts', rows: full, empty: 'No rollouts yet.', columns: [
        { label: 'Started', render: (r) => fmtTime(r.created_at) },
        { label: 'Firmware', render: (r) => `${r.kind.replace('_', ' ')} ${r.target_version}` },
        { label: 'Group', render: (r) => r.group || 'selected devices' },
        { label: 'Stage', render: (r) => `${r.stage + 1} of ${r.plan.stages?.length ?? '?'} (${(r.plan.stages || []).join('% → ')}%)` },
        { label: 'State', render: (r) => h('span', { class: 'rollout-state', 'data-rollout': r.id }, stateBadge(r.state),
          r.reason ? h('div', { class: 'small muted' }, r.reason) : null) },
        { label: 'Progress', render: bar },
        { label: '', render: (r) => (isAdmin ? h('div', { class: 'row' }, (ACTIONS[r.state] || []).map((a) => h('button', {
          type: 'button', class: `small ${a === 'abort' || a === 'rollback' ? 'danger' : 'secondary'}`,
          onclick: (ev) => busy(ev.currentTarget, async () => {
            try { await api(`/api/v1/rollouts/${r.id}/${a}`, { method: 'POST' }); msg.ok(`Rollout ${a} done.`); load(); } catch (err) { msg.error(err); }
          }) }, a))) : '') },
      ] }));
      if (full.some((r) => ['running', 'rolling_back'].includes(r.state))) timer = setTimeout(load, 1500);
    } catch (err) {
      msg.error(err);
    }
  }

  const off = ctx.live.on((kind) => { if (kind === 'rollout') load(); });
  main.append(h('h1', {}, 'Firmware and rollouts'), msg, panel('Rollouts', list));
  if (isAdmin) main.append(h('div', { class: 'grid two' }, rolloutForm(msg, fwSelect, load), uploadForm(msg, load)));
  main.append(panel('Firmware', fwList));
  await load();
  return () => { off(); clearTimeout(timer); };
}

function rolloutForm(msg, fwSelect, reload) {
  const group = h('input', { required: true, placeholder: 'e.g. lobby' });
  const stages = h('input', { value: '5,25,100', pattern: '\\s*\\d+(\\s*,\\s*\\d+)*\\s*' });
  const ok = h('input', { type: 'number', min: '0', max: '100', value: '95' });
  const bad = h('input', { type: 'number', min: '0', max: '100', value: '10' });
  const submit = h('button', { type: 'submit' }, 'Start rollout');
  const form = h('form', { class: 'stack', 'aria-label': 'New rollout' }, field('Firmware', fwSelect), field('Device group', group),
    field('Stages (% of devices)', stages), field('Success needed (%)', ok), field('Abort above failures (%)', bad),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const r = await api('/api/v1/rollouts', { method: 'POST', json: { firmware_id: Number(fwSelect.value), group: group.value.trim(),
          stages: stages.value.split(',').map((s) => Number(s.trim())), success_threshold_pct: Number(ok.value),
          failure_threshold_pct: Number(bad.value) } });
        msg.ok(`Rollout of ${r.target_version} to ${r.devices?.length ?? 0} device(s) started.`);
        reload();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('New rollout', form);
}

function uploadForm(msg, reload) {
  const kind = h('select', {}, h('option', { value: 'door_terminal' }, 'Door terminal'), h('option', { value: 'print_box' }, 'Print box'));
  const version = h('input', { required: true, placeholder: '1.4.0' });
  // Signed into the manifest: devices below it refuse the image (empty: installs over any older version).
  const minVersion = h('input', { placeholder: 'Any (e.g. 1.2.0)' });
  const model = h('input', { placeholder: 'Any model of this kind' });
  const file = h('input', { type: 'file', required: true });
  const notes = h('input', { placeholder: 'What changed' });
  const submit = h('button', { type: 'submit' }, 'Upload firmware');
  const form = h('form', { class: 'stack', 'aria-label': 'Upload firmware' }, field('For', kind), field('Version', version),
    field('Oldest it installs over', minVersion, 'Devices running an older version refuse the image. Empty: any.'),
    field('Device model', model, 'Only devices reporting this model install it. Empty: every model.'),
    field('Image file', file), field('Notes', notes), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      const data = new FormData();
      data.append('kind', kind.value);
      data.append('version', version.value.trim());
      data.append('notes', notes.value);
      if (minVersion.value.trim()) data.append('min_version', minVersion.value.trim());
      if (model.value.trim()) data.append('model', model.value.trim());
      data.append('file', file.files[0]);
      try {
        const fw = await api('/api/v1/firmware', { method: 'POST', form: data });
        msg.ok(`Firmware ${fw.version} uploaded and signed by the hub.`);
        form.reset();
        reload();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('Upload firmware', form);
}
