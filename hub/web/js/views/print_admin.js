// Printing for admins: printers with their CUPS state, all jobs, page quotas, print alerts.
import { api } from '../api.js';
import { badge, busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';
import { jobsTable } from './print_jobs.js';

export default async function printAdmin(main, ctx) {
  const msg = messageSlot();
  const printers = h('div');
  const jobs = h('div');
  const alerts = h('div');
  const state = h('select', {}, ['', 'pending', 'queued', 'sent', 'printing', 'held', 'completed', 'failed', 'canceled', 'expired']
    .map((s) => h('option', { value: s }, s || 'Any state')));

  async function load() {
    try {
      const [ps, js, as] = await Promise.all([api('/api/v1/printers'), api('/api/v1/print/jobs', { query: { state: state.value, limit: 200 } }),
        api('/api/v1/print/alerts', { query: { limit: 20 } })]);
      clear(printers, table({
        caption: 'Printers', rows: ps, empty: 'No printers: print boxes report their CUPS queues when they connect.',
        columns: [
          { label: 'Printer', key: 'id' },
          { label: 'Model', key: 'make_model' },
          { label: 'Box', render: (p) => badge(p.online ? 'online' : 'offline', p.online ? 'ok' : 'bad') },
          { label: 'State', render: (p) => [stateBadge(p.state), p.accepting ? '' : badge('not accepting', 'bad')] },
          { label: 'Reasons', render: (p) => p.reasons.filter((r) => r !== 'none').join(', ') || '—' },
          { label: 'Supplies', render: (p) => p.supplies.map((s) => `${s.name ?? s.type ?? 'supply'} ${s.level ?? ''}%`).join(', ') || '—' },
        ],
      }));
      clear(jobs, jobsTable(js.items, { msg, reload: load, showOwner: true }));
      clear(alerts, table({
        caption: 'Print alerts', rows: as, empty: 'No print alerts.',
        columns: [
          { label: 'When', render: (a) => fmtTime(a.at) },
          { label: 'Printer', render: (a) => [a.box_id, a.queue].filter(Boolean).join('/') },
          { label: 'What', key: 'message' },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  const off = ctx.live.on((kind) => { if (kind === 'print_job') load(); });
  main.append(h('h1', {}, 'Printing'), msg, panel('Printers', printers),
    panel('Jobs', h('div', { class: 'toolbar' }, field('State', state)), jobs));
  if (ctx.user.role === 'admin') main.append(quotaForm(msg));
  main.append(panel('Print alerts', alerts));
  state.addEventListener('change', load);
  await load();
  return off;
}

function quotaForm(msg) {
  const scope = h('select', {}, h('option', { value: 'employee' }, 'An employee'), h('option', { value: 'department' }, 'A department'));
  const key = h('input', { required: true, placeholder: 'emp:12 or Finance' });
  const pages = h('input', { type: 'number', min: '0', placeholder: 'empty = no limit' });
  const submit = h('button', { type: 'submit' }, 'Save quota');
  const form = h('form', { class: 'stack', 'aria-label': 'Monthly page quota' }, field('For', scope),
    field('Who', key, 'Employee: emp:<employee id>. Department: its name.'), field('Pages per month', pages),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        await api('/api/v1/print/quotas', { method: 'PUT', json: { scope: scope.value, key: key.value.trim(),
          monthly_pages: pages.value === '' ? null : Number(pages.value) } });
        msg.ok(`Quota saved for ${key.value.trim()}.`);
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('Page quotas', form);
}
