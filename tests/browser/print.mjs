// Employee self-service: my attendance (file a missed punch), then drop a PDF on the print page and
// follow it until the printer has it.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { env, run } from './lib.mjs';

run('employee', async (s) => {
  const { page } = s;
  const pdfPath = env('PDF_PATH');
  const printerId = env('PRINTER_ID');
  await s.login(env('EMP_USER'), env('EMP_PASSWORD'));
  await s.settled('me/attendance');
  await page.getByRole('heading', { level: 1, name: 'My attendance' }).waitFor();

  const yesterday = new Date(Date.now() - 86_400_000);
  yesterday.setHours(9, 0, 0, 0);
  const local = new Date(yesterday.getTime() - yesterday.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  const req = page.getByRole('form', { name: 'Request a missed punch' });
  await req.getByLabel('When').fill(local);
  await req.getByLabel('Reason').fill('Forgot to look at the door camera');
  await req.getByRole('button', { name: 'Send request' }).click();
  await page.getByText('Your request was sent').waitFor();
  await page.getByRole('cell', { name: 'Forgot to look at the door camera' }).waitFor();
  await s.shot('my-attendance');

  await page.getByRole('link', { name: 'Print' }).click();
  await s.settled('me/print');
  await page.getByLabel('Printer', { exact: true }).selectOption(printerId);
  await page.getByLabel('Copies').fill('1');
  // A real drag and drop: a DataTransfer holding the PDF, dropped on the drop zone.
  const b64 = readFileSync(pdfPath).toString('base64');
  const transfer = await page.evaluateHandle(({ data, name }) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type: 'application/pdf' }));
    return dt;
  }, { data: b64, name: basename(pdfPath) });
  await page.dispatchEvent('#print-drop', 'dragover', { dataTransfer: transfer });
  await s.shot('print-dragover');
  await page.dispatchEvent('#print-drop', 'drop', { dataTransfer: transfer });
  await page.locator('.chosen', { hasText: basename(pdfPath) }).waitFor();
  await page.getByRole('button', { name: 'Print', exact: true }).click();
  await page.getByText(`${basename(pdfPath)} was sent`).waitFor();
  const state = page.locator('.job-state').first();
  const jobId = await state.getAttribute('data-job');
  const seen = new Set();
  // The page polls while the job is on its way; wait for "completed" without reloading.
  for (let i = 0; i < 600; i += 1) {
    const text = (await state.innerText()).trim();
    seen.add(text.split('\n')[0]);
    if (text.startsWith('completed')) break;
    if (/failed|canceled/.test(text)) throw new Error(`print job ended as ${text}`);
    await page.waitForTimeout(200);
  }
  if (!(await state.innerText()).startsWith('completed')) throw new Error(`job never completed; seen ${[...seen]}`);
  await s.shot('print-completed');

  // Secure release: a held job waits with its QR release code; the PIN (typed at the box after the
  // employee number) is set on the same page.
  await page.locator('#print-file').setInputFiles(pdfPath);
  await page.getByLabel('Hold until I release it at the printer').check();
  await page.getByRole('button', { name: 'Print', exact: true }).click();
  const held = page.locator('figure.held');
  await held.locator('svg.qr-code').waitFor();
  const heldId = await held.getAttribute('data-job');
  const pin = page.getByRole('form', { name: 'Release PIN' });
  await pin.getByLabel('New PIN (4–12 digits)').fill('4711');
  await pin.getByRole('button', { name: 'Save PIN' }).click();
  await page.getByText('Your release PIN is saved.').waitFor();
  await held.getByText('type your employee number, then your PIN').waitFor();
  await s.shot('print-held');
  return { job_id: jobId, held_id: heldId, states_seen: [...seen] };
});
