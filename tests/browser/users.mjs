// Admin manages a user on the Users page (add, role, password reset, disable and re-enable, end all
// their sessions); then that user signs in and changes their own password on the Account page, and the
// console carries on with the new token.
import { env, run } from './lib.mjs';

run('users', async (s) => {
  const { page } = s;
  const name = env('NEW_USER');
  const first = env('FIRST_PASSWORD');
  const reset = env('RESET_PASSWORD');
  const final = env('FINAL_PASSWORD');
  const row = () => page.locator('tr', { has: page.getByText(name, { exact: true }) });

  await s.login(env('ADMIN_USER'), env('ADMIN_PASSWORD'));
  await s.open('users', 'Users');
  const add = page.getByRole('form', { name: 'Add a user' });
  await add.getByLabel('Username').fill(name);
  await add.getByLabel('Full name').fill('Kim Keyholder');
  await add.getByLabel('Role').selectOption('employee');
  await add.getByLabel('Initial password').fill(first);
  await add.getByRole('button', { name: 'Add user' }).click();
  await page.getByText(`User ${name} added.`).waitFor();

  await page.getByLabel(`Role of ${name}`).selectOption('operator');
  await page.getByText(`${name} is now operator; their sessions ended.`).waitFor();

  const resetForm = page.getByRole('form', { name: 'Reset a password' });
  await resetForm.getByLabel('User').selectOption({ label: name });
  await resetForm.getByLabel('New password').fill(reset);
  await resetForm.getByRole('button', { name: 'Set password' }).click();
  await page.getByText(`Password of ${name} reset; their sessions ended.`).waitFor();

  await page.getByRole('button', { name: `Disable ${name}` }).click();
  await page.getByText(`${name} is disabled and signed out.`).waitFor();
  await row().getByText('disabled', { exact: true }).waitFor();
  await s.shot('users-disabled');
  await page.getByRole('button', { name: `Enable ${name}` }).click();
  await page.getByText(`${name} can sign in again.`).waitFor();
  await row().getByText('active', { exact: true }).waitFor();
  await page.getByRole('button', { name: `End sessions of ${name}` }).click();
  await page.getByText(`Every session of ${name} has ended.`).waitFor();
  await s.shot('users');
  await s.logout();

  await s.login(name, reset);
  await s.open('me/account', 'Account');
  const form = page.getByRole('form', { name: 'Change your password' });
  s.expectHttp(400, '/api/v1/auth/password'); // a wrong current password, on purpose
  await form.getByLabel('Current password').fill('not-my-password');
  await form.getByLabel('New password', { exact: true }).fill(final);
  await form.getByLabel('Repeat the new password').fill(final);
  await form.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('the current password is wrong').waitFor();
  await form.getByLabel('Current password').fill(reset);
  await form.getByLabel('New password', { exact: true }).fill(final);
  await form.getByLabel('Repeat the new password').fill(final);
  await form.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Password changed. Your other sessions were signed out.').waitFor();
  await s.shot('account');
  // The session continues with the new token: another page loads its data, no sign-in prompt.
  await page.locator('nav.nav a[href="#/devices"]').click();
  await s.settled('devices');
  await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
  return { user: name };
});
