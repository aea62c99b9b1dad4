// Admin: sign in, add an employee, enrol their face by file upload, then watch the dashboard's live
// feed while a simulated terminal (driven by the Python side, over MQTT) checks them in.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { env, run, signal } from './lib.mjs';

run('admin', async (s) => {
  const { page } = s;
  const name = env('EMPLOYEE_NAME');
  const number = env('EMPLOYEE_NO');
  const photoDir = env('ENROL_DIR');
  const photos = readdirSync(photoDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => join(photoDir, f));

  // A wrong password is refused in words, and the form stays usable.
  s.expectHttp(401, '/api/v1/auth/token');
  await page.goto(s.baseUrl + '/');
  await page.getByLabel('Username').fill(env('ADMIN_USER'));
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByLabel('Password').press('Enter');
  await page.getByRole('alert').filter({ hasText: 'wrong username or password' }).waitFor();
  await s.shot('login-refused');

  await s.login(env('ADMIN_USER'), env('ADMIN_PASSWORD'));
  await s.settled('dashboard');
  await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  await s.shot('dashboard-empty');

  await s.open('employees', 'Employees');
  const form = page.getByRole('form', { name: 'Add an employee' });
  await form.getByLabel('Employee number').fill(number);
  await form.getByLabel('Full name').fill(name);
  await form.getByLabel('Department').fill('Engineering');
  await form.getByRole('button', { name: 'Add employee' }).click();
  await page.getByText(`${name} was added`).waitFor();

  // Quality feedback: a group photo is refused with the reason, in words.
  if (process.env.GROUP_PHOTO) {
    s.expectHttp(422, '/faces');
    await page.locator('#enrol-files').setInputFiles(process.env.GROUP_PHOTO);
    await page.getByRole('button', { name: /^Enrol 1 photo/ }).click();
    await page.locator('#enrol-panel .notice.error').waitFor();
    const refusal = await page.locator('#enrol-panel .notice.error').innerText();
    if (!/more than one face/i.test(refusal)) throw new Error(`unexpected refusal text: ${refusal}`);
    await s.shot('enrol-refused');
    await page.locator('#enrol-panel').getByRole('button', { name: 'Remove' }).click();
  }

  // The camera path: Chromium's synthetic camera shows no face, and the hub says so in words.
  s.expectHttp(422, '/faces');
  await page.getByRole('button', { name: 'Use camera' }).click();
  await page.locator('video.camera:not([hidden])').waitFor();
  await page.waitForFunction(() => document.querySelector('video.camera').videoWidth > 0);
  await page.getByRole('button', { name: 'Take photo' }).click();
  await page.getByRole('button', { name: /^Enrol 1 photo/ }).click();
  await page.locator('#enrol-panel .notice.error', { hasText: 'No face was found' }).waitFor();
  await s.shot('enrol-camera-no-face');
  await page.locator('#enrol-panel').getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('button', { name: 'Stop camera' }).click();

  await page.locator('#enrol-files').setInputFiles(photos);
  await page.getByRole('button', { name: `Enrol ${photos.length} photo${photos.length > 1 ? 's' : ''}` }).click();
  await page.getByText(`${name} is enrolled`).waitFor();
  await s.shot('employees-enrolled');

  await s.open('dashboard', 'Dashboard');
  await page.locator('.live-state.on').waitFor();
  const before = await page.url();
  await signal('ready_for_checkin');
  const line = page.locator('#live-feed li.checkin', { hasText: `Check-in: ${name}` });
  await line.waitFor();
  if (page.url() !== before) throw new Error('the page reloaded or navigated');
  const feedText = await line.innerText();
  // The summary refreshes itself after a check-in: the punch is counted in the chart's total.
  await page.locator('#checkins-24h', { hasText: '1' }).waitFor();
  await s.shot('dashboard-live-checkin');

  // The other admin pages, for the record (and for console errors).
  // Attendance: approve an employee's missed-punch request from the corrections table.
  await s.open('attendance', 'Attendance');
  const request = page.getByRole('row').filter({ hasText: env('MISSED_REASON') });
  await request.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Request approved.').waitFor();
  await request.getByText('approved').waitFor();
  await s.shot('attendance-approved');
  for (const [label, ext, magic] of [['Export CSV', 'csv', 'employee_id'], ['Export Excel (XLSX)', 'xlsx', 'PK']]) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
    const head = readFileSync(await download.path()).subarray(0, 200).toString('latin1');
    if (!download.suggestedFilename().endsWith(`.${ext}`) || !head.replace(/^\xEF\xBB\xBF/, '').startsWith(magic)) {
      throw new Error(`${label} gave ${download.suggestedFilename()} starting ${JSON.stringify(head.slice(0, 20))}`);
    }
  }

  // Access: a group for the new employee at this door, weekdays.
  await s.open('access', 'Doors and access');
  const group = page.getByRole('form', { name: 'New access group' });
  await group.getByLabel('Name').fill('Engineering floor');
  await group.getByLabel('Doors').selectOption(env('DOOR_ID'));
  await group.getByLabel('Members').selectOption({ label: name });
  await group.getByRole('button', { name: 'Create group' }).click();
  await page.getByText('Access group Engineering floor created.').waitFor();
  await page.getByRole('row').filter({ hasText: 'Engineering floor' }).filter({ hasText: name }).waitFor();

  await s.shot('access');
  for (const [hash, heading, shot] of [
    ['devices', 'Devices', 'devices'], ['print', 'Printing', 'print'], ['rollouts', 'Firmware and rollouts', 'rollouts'], ['alerts', 'Alerts', 'alerts']]) {
    await s.open(hash, heading);
    await s.shot(shot);
  }
  await s.open('devices', 'Devices');
  await page.getByRole('link', { name: env('DOOR_ID'), exact: true }).click();
  await page.getByRole('heading', { name: 'Configuration' }).waitFor();
  await s.settled();
  // A command, followed live to its acknowledgement.
  await page.getByLabel('Command', { exact: true }).selectOption('ping');
  await page.getByRole('button', { name: 'Send command' }).click();
  await page.getByRole('row').filter({ hasText: 'ping' }).getByText('acked').waitFor();
  await s.shot('device-detail');

  // Narrow screens: the navigation folds above the page.
  await page.setViewportSize({ width: 420, height: 900 });
  await s.open('dashboard', 'Dashboard');
  await s.shot('dashboard-narrow');
  await page.setViewportSize({ width: 1360, height: 900 });

  // A token the hub no longer accepts sends the user back to sign in, with the reason.
  await page.evaluate(() => {
    const saved = JSON.parse(sessionStorage.getItem('officehub.session'));
    sessionStorage.setItem('officehub.session', JSON.stringify({ ...saved, token: 'expired.or.forged' }));
  });
  s.expectHttp(401, '/api/v1/auth/me');
  await page.reload();
  await page.getByText('Your session ended').waitFor();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  await s.shot('session-ended');
  return { feed: feedText };
});
