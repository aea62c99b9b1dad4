// Employee self-service: my days, and a missed-punch request when I forgot to check in or out.
import { api } from '../api.js';
import { busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';
import { dayCell, exportButtons, severity, weekRange } from './timesheet.js';

export default async function myAttendance(main, ctx) {
  const msg = messageSlot();
  const range = weekRange();
  const from = h('input', { type: 'date', value: range.from });
  const to = h('input', { type: 'date', value: range.to });
  const days = h('div');
  const mine = h('div');
  const query = () => ({ from: from.value, to: to.value });

  async function load() {
    try {
      const [sheet, reqs] = await Promise.all([
        api('/api/v1/attendance/timesheets', { query: query() }),
        api('/api/v1/attendance/missed-punches'),
      ]);
      clear(days, table({
        caption: 'My days',
        rows: sheet.rows,
        empty: 'No days yet: ask HR to assign you a shift.',
        rowClass: (r) => severity(r.statuses.split(',')),
        columns: [
          { label: 'Day', render: (r) => new Date(`${r.work_date}T12:00:00`).toLocaleDateString() },
          { label: 'Status and times', render: (r) => [...dayCell(r).childNodes] },
          { label: 'Worked (h)', num: true, key: 'worked_hours' },
          { label: 'Why', render: (r) => h('span', { class: 'small' }, r.reasons) },
        ],
      }));
      clear(mine, table({
        caption: 'My missed-punch requests',
        rows: reqs,
        empty: 'You have not filed any request.',
        columns: [
          { label: 'Punch', render: (r) => `${r.direction} at ${fmtTime(r.ts)}` },
          { label: 'Reason', key: 'reason' },
          { label: 'State', render: (r) => stateBadge(r.state) },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  const when = h('input', { type: 'datetime-local', required: true });
  const direction = h('select', {}, h('option', { value: 'IN' }, 'Check-in (arrived)'), h('option', { value: 'OUT' }, 'Check-out (left)'));
  const reason = h('input', { required: true, maxlength: '500', placeholder: 'e.g. forgot to check in at the door' });
  const submit = h('button', { type: 'submit' }, 'Send request');
  const form = h('form', { class: 'stack', 'aria-label': 'Request a missed punch' },
    field('When', when), field('Direction', direction), field('Reason', reason), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const ts = new Date(when.value);
        if (Number.isNaN(ts.getTime())) throw new Error('Pick the date and time of the missed punch.');
        await api('/api/v1/attendance/missed-punches', { method: 'POST',
          json: { ts: ts.toISOString(), direction: direction.value, reason: reason.value.trim() } });
        msg.ok('Your request was sent. You will see here when it is approved.');
        form.reset();
        await load();
      } catch (err) {
        msg.error(err);
      }
    });
  });

  main.append(h('h1', {}, 'My attendance'), msg,
    panel('My days', h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); load(); } },
      field('From', from), field('To', to), h('button', { type: 'submit' }, 'Show'), h('div', { class: 'grow' }),
      exportButtons(query, msg)), days),
    panel('Missed a punch?', form, mine));
  await load();
  void ctx;
}
