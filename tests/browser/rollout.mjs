// Admin: upload a firmware image, start a staged rollout over a group, watch its progress bar to done.
import { env, run } from './lib.mjs';

run('rollout', async (s) => {
  const { page } = s;
  const version = env('FW_VERSION');
  const group = env('FW_GROUP');
  await s.login(env('ADMIN_USER'), env('ADMIN_PASSWORD'));
  await s.open('rollouts', 'Firmware and rollouts');

  const upload = page.getByRole('form', { name: 'Upload firmware' });
  await upload.getByLabel('For').selectOption('door_terminal');
  await upload.getByLabel('Version').fill(version);
  await upload.getByLabel('Image file').setInputFiles(env('FW_PATH'));
  await upload.getByRole('button', { name: 'Upload firmware' }).click();
  await page.getByText(`Firmware ${version} uploaded`).waitFor();

  const form = page.getByRole('form', { name: 'New rollout' });
  await form.getByLabel('Firmware').selectOption({ label: `door terminal ${version}` });
  await form.getByLabel('Device group').fill(group);
  await form.getByLabel('Stages (% of devices)').fill('25,50,100');
  await form.getByLabel('Success needed (%)').fill('100');
  await form.getByRole('button', { name: 'Start rollout' }).click();
  await page.getByText(`Rollout of ${version}`).waitFor();

  const bar = page.locator('.rollout-progress [role="progressbar"]').first();
  const percents = [];
  let shotMid = false;
  for (let i = 0; i < 900; i += 1) {
    const pct = Number(await bar.getAttribute('data-percent'));
    if (percents[percents.length - 1] !== pct) percents.push(pct);
    if (!shotMid && pct > 0 && pct < 100) {
      await s.shot('rollout-in-progress', { settle: false });
      shotMid = true;
    }
    const state = (await page.locator('.rollout-state').first().innerText()).trim();
    if (pct === 100 && state.startsWith('completed')) break;
    if (/aborted|rolled back/.test(state)) throw new Error(`rollout ended as ${state}`);
    await page.waitForTimeout(200);
  }
  const state = (await page.locator('.rollout-state').first().innerText()).trim();
  if (!state.startsWith('completed')) throw new Error(`rollout did not complete: ${state}; progress ${percents}`);
  await s.shot('rollout-done');
  return { percents, state };
});
