// Admin actions on one device: registry attributes (group, location, tags) and revocation.
import { api } from '../api.js';
import { busy, field, h, messageSlot, panel } from '../ui.js';

export function deviceAdminPanel(device, { onChange }) {
  const msg = messageSlot();
  const group = h('input', { value: device.group || '', pattern: '[A-Za-z0-9][A-Za-z0-9_.:-]*' });
  const location = h('input', { value: device.location || '' });
  const tags = h('input', { value: device.tags.join(', '), placeholder: 'comma separated' });
  const save = h('button', { type: 'submit' }, 'Save');
  const form = h('form', { class: 'stack', 'aria-label': 'Registry' }, field('Group', group, 'Changing it applies the group\'s config'),
    field('Location', location), field('Tags', tags), h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(save, async () => {
      try {
        await api(`/api/v1/devices/${encodeURIComponent(device.id)}`, { method: 'PATCH', json: {
          group: group.value.trim() || null, location: location.value.trim() || null,
          tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean) } });
        msg.ok('Saved.');
        onChange?.();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  // Two steps, because a revoked device is cut off at the broker and must be provisioned again.
  const confirm = h('button', { type: 'button', class: 'danger', hidden: true }, `Yes, revoke ${device.id}`);
  const revoke = h('button', { type: 'button', class: 'secondary', disabled: device.revoked,
    onclick: () => { confirm.hidden = false; confirm.focus(); } }, device.revoked ? 'Revoked' : 'Revoke device…');
  confirm.addEventListener('click', () => busy(confirm, async () => {
    try {
      const res = await api(`/api/v1/devices/${encodeURIComponent(device.id)}/revoke`, { method: 'POST' });
      msg.ok(`${device.id} is revoked (${res.cancelled_commands} pending command(s) cancelled).`);
      confirm.hidden = true;
      revoke.disabled = true;
      onChange?.();
    } catch (err) {
      msg.error(err);
    }
  }));
  return panel('Registry', form, h('div', { class: 'row' }, revoke, confirm), msg);
}
