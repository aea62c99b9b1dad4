// Self-service printing: drop a document, pick options, follow it to the printer; PIN and release codes.
import { api } from '../api.js';
import { busy, clear, field, h, messageSlot, panel } from '../ui.js';
import { qrSvg } from '../qr.js';
import { ACTIVE, jobsTable } from './print_jobs.js';

const ACCEPT = '.pdf,.png,.jpg,.jpeg,.doc,.docx,.odt,.xls,.xlsx,.ods,.ppt,.pptx,.odp';

export default async function myPrint(main) {
  const msg = messageSlot();
  const jobs = h('div');
  const held = h('div');
  const usage = h('p', { class: 'muted' });
  const printer = h('select', { name: 'printer' }, h('option', { value: 'any' }, 'Any printer'));
  const copies = h('input', { type: 'number', name: 'copies', min: '1', max: '999', value: '1' });
  const ranges = h('input', { name: 'page_ranges', placeholder: 'e.g. 1-3,5' });
  const duplex = h('input', { type: 'checkbox', name: 'duplex' });
  const color = h('input', { type: 'checkbox', name: 'color' });
  const hold = h('input', { type: 'checkbox', name: 'hold' });
  const input = h('input', { type: 'file', accept: ACCEPT, id: 'print-file', class: 'visually-hidden' });
  const chosen = h('p', { class: 'chosen', 'aria-live': 'polite' }, 'No document chosen.');
  const drop = h('div', { class: 'dropzone', id: 'print-drop' }, h('p', {}, 'Drop a PDF or picture here, or '),
    h('label', { for: 'print-file', class: 'button secondary' }, 'choose a file'), input, chosen);
  const submit = h('button', { type: 'submit', disabled: true }, 'Print');
  let file = null;
  let timer = null;

  function choose(f) {
    file = f || null;
    chosen.textContent = file ? `${file.name} (${Math.max(1, Math.round(file.size / 1024))} KB)` : 'No document chosen.';
    submit.disabled = !file;
  }
  input.addEventListener('change', () => choose(input.files[0]));
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    if (ev.dataTransfer.files.length > 1) msg.show('Drop one document at a time; the first one was taken.', 'info');
    choose(ev.dataTransfer.files[0]);
  });

  async function load() {
    clearTimeout(timer);
    try {
      const [page, use] = await Promise.all([api('/api/v1/print/jobs', { query: { limit: 50 } }), api('/api/v1/print/usage')]);
      usage.textContent = use.limit == null ? `You printed ${use.used} page(s) this month (${use.period}).`
        : `You printed ${use.used} of your ${use.limit} pages this month (${use.period}).`;
      clear(jobs, jobsTable(page.items, { msg, reload: load }));
      const waiting = page.items.filter((j) => j.state === 'held');
      clear(held, waiting.length ? panel('Waiting for you at the printer', h('div', { class: 'held-jobs' }, waiting.map(heldCard))) : null);
      // Employees do not get the live feed: poll while something of mine is on its way.
      if (page.items.some((j) => ACTIVE.has(j.state))) timer = setTimeout(load, 2000);
    } catch (err) {
      msg.error(err);
    }
  }

  const form = h('form', { 'aria-label': 'Send a document to print' }, drop,
    h('div', { class: 'stack' }, field('Printer', printer), field('Copies', copies), field('Pages', ranges, 'Leave empty for all pages'),
      h('div', { class: 'row wide' }, h('label', { class: 'check' }, duplex, 'Both sides'), h('label', { class: 'check' }, color, 'Colour'),
        h('label', { class: 'check' }, hold, 'Hold until I release it at the printer'))),
    h('div', { class: 'row' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!file) return;
    busy(submit, async () => {
      const data = new FormData();
      data.append('printer', printer.value);
      data.append('copies', copies.value || '1');
      data.append('duplex', String(duplex.checked));
      data.append('color', String(color.checked));
      data.append('hold', String(hold.checked));
      if (ranges.value.trim()) data.append('page_ranges', ranges.value.trim());
      data.append('file', file, file.name); // last: the hub streams the file part to disk
      try {
        const job = await api('/api/v1/print/jobs', { method: 'POST', form: data });
        msg.ok(`${job.filename} was sent (${job.pages_planned} page(s)).${job.hold ? ' Release it at the printer.' : ''}`);
        choose(null);
        input.value = '';
        await load();
      } catch (err) {
        msg.error(err);
      }
    });
  });

  main.append(h('h1', {}, 'Print'), msg, usage, panel('Send a document', form), held,
    panel('My print jobs', jobs), pinForm(msg));
  api('/api/v1/printers').then((ps) => {
    for (const p of ps) printer.append(h('option', { value: p.id, disabled: !p.online }, `${p.id}${p.online ? '' : ' (offline)'}`));
  }).catch((err) => msg.error(err));
  await load();
  return () => clearTimeout(timer);
}

// A held job: release it at the box with employee number + PIN, or hold this code up to its scanner.
function heldCard(job) {
  let code = null;
  if (job.release_code) {
    try {
      code = qrSvg(job.release_code, `Release code for ${job.filename}`);
    } catch (err) {
      code = h('p', { class: 'small' }, err.message);
    }
  }
  return h('figure', { class: 'held', 'data-job': job.id }, code,
    h('figcaption', {}, h('strong', {}, job.filename), h('br'), 'At the print box, type your employee number, then your PIN, or show it this code.',
      job.release_code ? h('div', { class: 'small' }, 'Code: ', h('code', { class: 'qr' }, job.release_code)) : null));
}

function pinForm(msg) {
  const pin = h('input', { type: 'password', inputmode: 'numeric', pattern: '[0-9]{4,12}', required: true, autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit' }, 'Save PIN');
  const form = h('form', { class: 'stack', 'aria-label': 'Release PIN' },
    h('p', { class: 'muted' }, 'At the printer you type your employee number, then this PIN.'),
    field('New PIN (4–12 digits)', pin), h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(submit, async () => {
      try {
        await api('/api/v1/print/pin', { method: 'PUT', json: { pin: pin.value } });
        msg.ok('Your release PIN is saved.');
        form.reset();
      } catch (err) {
        msg.error(err);
      }
    });
  });
  return panel('Release PIN for held jobs', form);
}
