// Users (admins): sign-in accounts with their role; disable or re-enable, reset a password, end a
// user's sessions, add an account. Every change is audited; role changes and disabling end the
// user's sessions at once (the hub checks each token's version on every request).
import { api } from '../api.js';
import { badge, busy, clear, field, fmtTime, h, messageSlot, panel, table } from '../ui.js';
import { employeeNames } from './names.js';

const ROLES = ['employee', 'operator', 'admin'];

export default async function users(main) {
  const msg = messageSlot();
  const list = h('div');
  let rows = [];
  let names = new Map();

  const patch = async (u, change, done) => {
    try {
      await api(`/api/v1/users/${u.id}`, { method: 'PATCH', json: change });
      msg.ok(done);
    } catch (err) {
      msg.error(err);
    }
    await load();
  };

  const roleSelect = (u) => {
    const select = h('select', { 'aria-label': `Role of ${u.username}` },
      ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
    select.addEventListener('change', () => patch(u, { role: select.value },
      `${u.username} is now ${select.value}; their sessions ended.`));
    return select;
  };

  const button = (label, cls, fn) => h('button', { type: 'button', class: `small ${cls}`,
    onclick: (ev) => busy(ev.currentTarget, fn) }, label);

  const actions = (u) => h('div', { class: 'row' },
    u.active
      ? button(`Disable ${u.username}`, 'danger', () => patch(u, { active: false }, `${u.username} is disabled and signed out.`))
      : button(`Enable ${u.username}`, 'secondary', () => patch(u, { active: true }, `${u.username} can sign in again.`)),
    button(`End sessions of ${u.username}`, 'secondary', async () => {
      try {
        await api(`/api/v1/users/${u.id}/revoke-tokens`, { method: 'POST' });
        msg.ok(`Every session of ${u.username} has ended.`);
      } catch (err) { msg.error(err); }
    }));

  async function load() {
    try {
      [rows, names] = await Promise.all([api('/api/v1/users'), employeeNames(true)]);
      clear(list, table({ caption: 'Users', rows, empty: 'No users.', rowClass: (u) => (u.active ? null : 'muted'), columns: [
        { label: 'User', render: (u) => [h('strong', {}, u.username), u.full_name ? h('div', { class: 'small muted' }, u.full_name) : null] },
        { label: 'Role', render: roleSelect },
        { label: 'Employee', render: (u) => (u.employee_id ? names.get(String(u.employee_id)) || `#${u.employee_id}` : '—') },
        { label: 'Status', render: (u) => badge(u.active ? 'active' : 'disabled', u.active ? 'ok' : 'bad') },
        { label: 'Since', render: (u) => fmtTime(u.created_at) },
        { label: '', render: actions },
      ] }));
      resetForm.update(rows);
    } catch (err) {
      msg.error(err);
    }
  }

  const resetForm = passwordResetForm(msg);
  main.append(h('h1', {}, 'Users'), msg, panel('Accounts', list),
    h('div', { class: 'grid two' }, panel('Add a user', createForm(msg, load)), panel('Reset a password', resetForm)));
  await load();
}

function createForm(msg, reload) {
  const username = h('input', { name: 'new-username', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9_.@\\-]{2,128}' });
  const fullName = h('input', { name: 'full-name', autocomplete: 'off' });
  const role = h('select', { name: 'new-role' }, ROLES.map((r) => h('option', { value: r }, r)));
  const employee = h('input', { name: 'employee-id', type: 'number', min: '1', placeholder: 'only for employee logins' });
  const password = h('input', { name: 'new-user-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit' }, 'Add user');
  const form = h('form', { class: 'stack', 'aria-label': 'Add a user' }, field('Username', username), field('Full name', fullName),
    field('Role', role), field('Employee id', employee, 'Links the login to an employee record (their attendance, print jobs).'),
    field('Initial password', password, 'At least 8 characters; ask them to change it after signing in.'),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const u = await api('/api/v1/users', { method: 'POST', json: { username: username.value.trim(), full_name: fullName.value.trim(),
          role: role.value, employee_id: employee.value ? Number(employee.value) : null, password: password.value } });
        msg.ok(`User ${u.username} added.`);
        form.reset();
        await reload();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return form;
}

function passwordResetForm(msg) {
  const who = h('select', { name: 'reset-user', required: true });
  const password = h('input', { name: 'reset-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit' }, 'Set password');
  const form = h('form', { class: 'stack', 'aria-label': 'Reset a password' }, field('User', who),
    field('New password', password, 'The user is signed out everywhere and signs in with this password.'),
    h('div', { class: 'actions' }, submit));
  form.update = (rows) => {
    const keep = who.value;
    clear(who, rows.map((u) => h('option', { value: String(u.id), selected: String(u.id) === keep }, u.username)));
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = who.selectedOptions[0]?.textContent || '';
    busy(submit, async () => {
      try {
        await api(`/api/v1/users/${who.value}/password`, { method: 'PUT', json: { password: password.value } });
        msg.ok(`Password of ${name} reset; their sessions ended.`);
        password.value = '';
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return form;
}
