// Attendance for admins: timesheet grid (late/absent highlighted), missed-punch corrections, exports.
import { api } from '../api.js';
import { busy, clear, field, fmtTime, h, messageSlot, panel, stateBadge, table } from '../ui.js';
import { employeeNames } from './names.js';
import { dayCell, daysBetween, exportButtons, weekRange } from './timesheet.js';

export default async function attendance(main, ctx) {
  const msg = messageSlot();
  const range = weekRange();
  const from = h('input', { type: 'date', value: range.from, required: true });
  const to = h('input', { type: 'date', value: range.to, required: true });
  const dept = h('input', { placeholder: 'All departments' });
  const grid = h('div');
  const requests = h('div');
  const query = () => ({ from: from.value, to: to.value, department: dept.value.trim() });
  let names = new Map();

  async function loadGrid() {
    try {
      names = await employeeNames(true);
      const data = await api('/api/v1/attendance/timesheets', { query: query() });
      const days = daysBetween(data.from, data.to);
      const byEmp = new Map();
      for (const r of data.rows) {
        if (!byEmp.has(r.employee_id)) byEmp.set(r.employee_id, new Map());
        byEmp.get(r.employee_id).set(r.work_date, r);
      }
      const head = h('tr', {}, h('th', { scope: 'col' }, 'Employee'),
        days.map((d) => h('th', { scope: 'col' }, new Date(`${d}T12:00:00`).toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' }))));
      const rows = [...byEmp.entries()].map(([id, m]) => h('tr', {},
        h('th', { scope: 'row' }, names.get(String(id)) || `#${id}`), days.map((d) => dayCell(m.get(d)))));
      clear(grid, rows.length
        ? h('div', { class: 'table-wrap' }, h('table', { class: 'timesheet' }, h('thead', {}, head), h('tbody', {}, rows)))
        : h('p', { class: 'muted' }, 'No timesheet rows: employees need a shift to be counted.'),
      h('p', { class: 'small muted' }, 'Yellow: late or left early. Red: absent. Hover a day for the reasons.'));
    } catch (err) {
      msg.error(err);
    }
  }

  async function loadRequests() {
    try {
      const rows = await api('/api/v1/attendance/missed-punches');
      rows.sort((a, b) => (a.state === 'pending' ? -1 : 1) - (b.state === 'pending' ? -1 : 1));
      clear(requests, table({
        caption: 'Missed-punch requests',
        rows,
        empty: 'No missed-punch requests.',
        columns: [
          { label: 'Employee', render: (r) => names.get(String(r.employee_id)) || `#${r.employee_id}` },
          { label: 'Punch', render: (r) => `${r.direction} at ${fmtTime(r.ts)}` },
          { label: 'Reason', key: 'reason' },
          { label: 'State', render: (r) => stateBadge(r.state) },
          { label: '', render: (r) => (r.state === 'pending' ? decide(r) : '') },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  function decide(r) {
    const note = h('input', { placeholder: 'Note (needed to reject)', 'aria-label': 'Note' });
    const act = (verb) => (ev) => busy(ev.currentTarget, async () => {
      try {
        await api(`/api/v1/attendance/missed-punches/${r.id}/${verb}`, { method: 'POST', json: { note: note.value.trim() } });
        msg.ok(`Request ${verb === 'approve' ? 'approved' : 'rejected'}.`);
        await Promise.all([loadRequests(), loadGrid()]);
      } catch (err) {
        msg.error(err);
      }
    });
    return h('div', { class: 'row' }, note,
      h('button', { type: 'button', class: 'small', onclick: act('approve') }, 'Approve'),
      h('button', { type: 'button', class: 'small danger', onclick: act('reject') }, 'Reject'));
  }

  const filters = h('form', { class: 'toolbar', onsubmit: (ev) => { ev.preventDefault(); loadGrid(); } },
    field('From', from), field('To', to), field('Department', dept), h('button', { type: 'submit' }, 'Show'),
    h('div', { class: 'grow' }), exportButtons(query, msg));
  main.append(h('h1', {}, 'Attendance'), msg, panel('Timesheets', filters, grid),
    panel('Missed-punch corrections', requests));
  await loadGrid();
  await loadRequests();
  void ctx;
}
