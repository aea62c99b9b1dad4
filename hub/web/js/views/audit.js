// Audit log (admins): who enrolled, viewed or erased biometric data, changed config, ran rollouts,
// signed in or failed to. Newest first; filter by action (or a prefix such as "face."), older pages on demand.
import { api } from '../api.js';
import { busy, clear, field, fmtTime, h, messageSlot, panel, table } from '../ui.js';

export default async function audit(main) {
  const msg = messageSlot();
  const list = h('div');
  const action = h('input', { placeholder: 'e.g. employee.erase, or face. for every face action' });
  const target = h('input', { placeholder: 'target id (employee, device, rollout…)' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Older entries');
  let rows = [];
  let before = null;

  async function load(append) {
    try {
      const query = { limit: 100, action: action.value.trim() || undefined, target_id: target.value.trim() || undefined };
      if (append && before) query.before = before;
      const page = await api('/api/v1/audit', { query });
      rows = append ? rows.concat(page.items) : page.items;
      before = page.next_before;
      more.hidden = !before;
      clear(list, table({ caption: 'Audit log', rows, empty: 'No entries.', columns: [
        { label: 'When', render: (e) => fmtTime(e.at) },
        { label: 'Who', key: 'actor' },
        { label: 'Action', key: 'action' },
        { label: 'Target', render: (e) => `${e.target_type} ${e.target_id}` },
        { label: 'Detail', render: (e) => h('code', { class: 'small' }, JSON.stringify(e.detail)) },
      ] }));
    } catch (err) {
      msg.error(err);
    }
  }

  const form = h('form', { class: 'toolbar', 'aria-label': 'Filter the audit log' },
    field('Action', action), field('Target', target), h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  more.addEventListener('click', (ev) => busy(ev.currentTarget, () => load(true)));
  main.append(h('h1', {}, 'Audit log'), msg, panel('', form, list, more));
  await load(false);
}
