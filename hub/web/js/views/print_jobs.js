// Print job table shared by the admin page and self-service: state, pages, printer, cancel.
import { api } from '../api.js';
import { busy, fmtTime, h, stateBadge, table } from '../ui.js';

export const ACTIVE = new Set(['pending', 'queued', 'sent', 'printing', 'held']);

export function jobsTable(jobs, { msg, reload, showOwner = false }) {
  return table({
    caption: 'Print jobs',
    rows: jobs,
    empty: 'No print jobs yet.',
    columns: [
      { label: 'Submitted', render: (j) => fmtTime(j.created_at) },
      { label: 'Document', render: (j) => h('span', { class: 'job-file' }, j.filename) },
      showOwner ? { label: 'Owner', key: 'owner' } : null,
      { label: 'Printer', render: (j) => j.printer || 'any' },
      { label: 'Pages', num: true, render: (j) => String(j.pages_charged || j.pages_planned || j.pages) },
      { label: 'State', render: (j) => h('span', { class: 'job-state', 'data-job': j.id }, stateBadge(j.state),
        j.reason && !['completed'].includes(j.state) ? h('div', { class: 'small muted' }, j.reason) : null) },
      { label: '', render: (j) => (ACTIVE.has(j.state) ? h('button', { type: 'button', class: 'small secondary',
        onclick: (ev) => busy(ev.currentTarget, async () => {
          try { await api(`/api/v1/print/jobs/${j.id}`, { method: 'DELETE' }); msg.ok(`${j.filename} was cancelled.`); reload(); } catch (err) { msg.error(err); }
        }) }, `Cancel ${j.filename}`) : '') },
    ].filter(Boolean),
  });
}
