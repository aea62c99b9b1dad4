// Provisioning: an admin issues a one-time claim token; the new device presents it once and gets
// its own MQTT credentials. The token is shown here once and never again.
import { api } from '../api.js';
import { busy, clear, field, fmtTime, h, messageSlot, panel } from '../ui.js';

export function claimPanel() {
  const msg = messageSlot();
  const kind = h('select', {}, h('option', { value: 'door_terminal' }, 'Door terminal'), h('option', { value: 'print_box' }, 'Print box'));
  const group = h('input', { placeholder: 'e.g. lobby', pattern: '[A-Za-z0-9][A-Za-z0-9_.:-]*' });
  const location = h('input', { placeholder: 'e.g. Building A, floor 2' });
  // Optional: pins the device id. Required to re-provision a device the hub already knows (a wiped
  // or replaced unit); a token without one only ever creates a new device.
  const deviceId = h('input', { placeholder: 'new device: leave empty', pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}' });
  const hours = h('input', { type: 'number', min: '1', max: '720', value: '24' });
  const out = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit' }, 'Create claim token');
  const form = h('form', { class: 'stack', 'aria-label': 'Add a device' }, field('Device kind', kind), field('Group', group),
    field('Location', location), field('Device id (to re-provision a known device)', deviceId),
    field('Valid for (hours)', hours), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        const claim = await api('/api/v1/provisioning/claims', { method: 'POST', json: { device_kind: kind.value,
          group: group.value.trim() || null, location: location.value.trim() || null,
          device_id: deviceId.value.trim() || null, ttl_s: Number(hours.value) * 3600 } });
        const token = h('code', { class: 'qr', id: 'claim-token' }, claim.token);
        clear(out, h('div', { class: 'notice ok', role: 'status' },
          h('p', {}, `Give this one-time token to the new ${claim.device_kind.replace('_', ' ')} (valid until ${fmtTime(claim.expires_at)}). `,
            'It is shown only now.'), token, ' ',
          h('button', { type: 'button', class: 'small secondary', onclick: async (e) => {
            try {
              await navigator.clipboard.writeText(claim.token);
              e.currentTarget.textContent = 'Copied';
            } catch {
              msg.show('Copying is not allowed here; select the token and copy it by hand.', 'info');
            }
          } }, 'Copy')));
        msg.reset();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('Add a device', h('p', { class: 'muted' }, 'Start the new device with --claim-token <token> --hub-url <this hub> and it provisions itself.'),
    form, msg, out);
}
