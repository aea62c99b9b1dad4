// Timesheet helpers shared by the admin grid and "my attendance": date ranges, cells, exports.
import { download } from '../api.js';
import { h, isoDate, stateBadge } from '../ui.js';

export function weekRange() {
  const today = new Date();
  const monday = new Date(today);
  monday.setDate(today.getDate() - ((today.getDay() + 6) % 7));
  return { from: isoDate(monday), to: isoDate(today) };
}

export function daysBetween(from, to) {
  const out = [];
  const d = new Date(`${from}T12:00:00`);
  const end = new Date(`${to}T12:00:00`);
  while (d <= end && out.length < 62) {
    out.push(isoDate(d));
    d.setDate(d.getDate() + 1);
  }
  return out;
}

const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '');

export function severity(statuses) {
  if (statuses.includes('absent')) return 'absent';
  if (statuses.includes('late') || statuses.includes('serious_late') || statuses.includes('early_leave')) return 'late';
  return '';
}

export function dayCell(row) {
  if (!row) return h('td', { class: 'muted' }, '—');
  const statuses = row.statuses ? row.statuses.split(',') : [];
  const times = [clock(row.first_in), clock(row.last_out)].filter(Boolean).join(' – ');
  return h('td', { class: severity(statuses), title: row.reasons || '' },
    statuses.map((s) => stateBadge(s)), times ? h('div', { class: 'small' }, times) : null,
    row.late_minutes ? h('div', { class: 'small' }, `${row.late_minutes} min late`) : null);
}

export function exportButtons(query, msg) {
  const make = (format, label) => h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      const q = query();
      await download('/api/v1/attendance/timesheets', { ...q, format }, `timesheet_${q.from}_${q.to}.${format}`);
    } catch (err) {
      msg.error(err);
    }
  } }, label);
  return [make('csv', 'Export CSV'), make('xlsx', 'Export Excel (XLSX)')];
}
