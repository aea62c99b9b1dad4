// Employees: search, create, and open the face enrolment panel for one person.
import { api } from '../api.js';
import { badge, busy, clear, field, h, messageSlot, panel, table } from '../ui.js';
import { enrolPanel } from './enrol.js';
import { forget } from './names.js';

export default async function employees(main, ctx) {
  const isAdmin = ctx.user.role === 'admin';
  const msg = messageSlot();
  const q = h('input', { type: 'search', name: 'q', placeholder: 'Name, number or email' });
  const dept = h('input', { name: 'department', placeholder: 'Any' });
  const list = h('div');
  const side = h('div');
  let stopPanel = null;

  async function load() {
    try {
      const page = await api('/api/v1/employees', { query: { q: q.value.trim(), department: dept.value.trim(), limit: 200 } });
      clear(list, h('p', { class: 'muted small' }, `${page.total} employee(s)`), table({
        caption: 'Employees',
        rows: page.items,
        empty: 'No employee matches.',
        columns: [
          { label: 'No.', key: 'employee_no' },
          { label: 'Name', key: 'name' },
          { label: 'Department', render: (e) => e.department || '—' },
          { label: 'Faces', num: true, render: (e) => (e.templates ? String(e.templates) : badge('none', 'warn')) },
          { label: 'Status', render: (e) => (e.erased_at ? badge('erased', 'bad') : e.active ? badge('active', 'ok') : badge('inactive')) },
          { label: '', render: (e) => (isAdmin && !e.erased_at ? h('button', { type: 'button', class: 'small secondary',
            'data-employee': e.employee_no, onclick: () => openEnrol(e) }, `Enrol face for ${e.name}`) : '') },
        ],
      }));
    } catch (err) {
      msg.error(err);
    }
  }

  function openEnrol(emp) {
    if (stopPanel) stopPanel();
    const p = enrolPanel(emp, { onDone: load });
    stopPanel = p.stop;
    clear(side, p.el);
    p.el.querySelector('input, button')?.focus();
  }

  const search = h('form', { class: 'toolbar', role: 'search', onsubmit: (ev) => { ev.preventDefault(); load(); } },
    h('div', { class: 'grow' }, field('Search', q)), field('Department', dept),
    h('button', { type: 'submit' }, 'Search'));

  main.append(h('h1', {}, 'Employees'), msg);
  if (isAdmin) main.append(createForm(msg, (emp) => { forget(); load(); openEnrol(emp); }));
  main.append(side, panel('People', search, list));
  await load();
  return () => stopPanel && stopPanel();
}

function createForm(msg, onCreated) {
  const no = h('input', { name: 'employee_no', required: true, maxlength: '64' });
  const name = h('input', { name: 'name', required: true, maxlength: '200' });
  const email = h('input', { name: 'email', type: 'email' });
  const department = h('input', { name: 'department' });
  const shift = h('select', { name: 'shift_id' }, h('option', { value: '' }, 'No shift'));
  api('/api/v1/attendance/shifts').then((rows) => {
    for (const s of rows) shift.append(h('option', { value: String(s.id) }, s.name));
  }).catch(() => {});
  const submit = h('button', { type: 'submit' }, 'Add employee');
  const form = h('form', { class: 'stack', 'aria-label': 'Add an employee' },
    field('Employee number', no), field('Full name', name), field('Email', email), field('Department', department),
    field('Shift', shift), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const emp = await api('/api/v1/employees', { method: 'POST', json: {
          employee_no: no.value.trim(), name: name.value.trim(), email: email.value.trim() || null,
          department: department.value.trim() || null, shift_id: shift.value ? Number(shift.value) : null } });
        msg.ok(`${emp.name} was added. Now enrol their face below.`);
        form.reset();
        onCreated(emp);
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('Add an employee', form);
}
