// Your account (everyone): who you are signed in as, and a password change. The change signs out
// your other sessions; this one continues with the new token the hub answers with.
import { api, session } from '../api.js';
import { busy, field, h, messageSlot, panel } from '../ui.js';

export default async function account(main, ctx) {
  const msg = messageSlot();
  const current = h('input', { name: 'current-password', type: 'password', required: true, autocomplete: 'current-password' });
  const next = h('input', { name: 'new-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const again = h('input', { name: 'repeat-password', type: 'password', required: true, minlength: '8', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit' }, 'Change password');
  const form = h('form', { class: 'stack', 'aria-label': 'Change your password' }, field('Current password', current),
    field('New password', next, 'At least 8 characters.'), field('Repeat the new password', again), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (next.value !== again.value) {
      msg.show('The two new passwords differ.');
      again.select();
      return;
    }
    busy(submit, async () => {
      try {
        const token = await api('/api/v1/auth/password', { method: 'POST',
          json: { current_password: current.value, new_password: next.value } });
        session.set({ ...session.get(), token: token.access_token, expiresAt: Date.now() + token.expires_in * 1000 });
        // The live feed was opened with the old token: reconnect with the new one.
        ctx.live.close();
        ctx.live.open();
        form.reset();
        msg.ok('Password changed. Your other sessions were signed out.');
      } catch (err) {
        msg.error(err);
        current.select();
      }
    });
  });
  const { user } = ctx;
  main.append(h('h1', {}, 'Account'), msg,
    h('div', { class: 'grid two' },
      panel('Signed in as', h('p', {}, h('strong', {}, user.username), ` · ${user.role}`,
        user.employee_id ? ` · employee #${user.employee_id}` : '')),
      panel('Change your password', form)));
}
