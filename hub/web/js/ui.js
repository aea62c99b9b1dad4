// Small DOM helpers shared by every view: element builder, tables, messages, busy buttons, dates.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++uid}`;
  // The label sits beside the control (not around it) so a select's options are not read into its name.
  const help = hint ? h('small', { class: 'muted', id: `${input.id}-hint` }, hint) : null;
  if (help) input.setAttribute('aria-describedby', help.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, help);
}

export function notice(message, kind = 'error') {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
}

// A slot that shows one message at a time (errors from the API's `detail`, confirmations).
export function messageSlot() {
  const slot = h('div', { class: 'messages' });
  slot.show = (message, kind = 'error') => clear(slot, message ? notice(message, kind) : null);
  slot.error = (err) => slot.show(err?.message || String(err), 'error');
  slot.ok = (message) => slot.show(message, 'ok');
  slot.reset = () => clear(slot);
  return slot;
}

export async function busy(button, fn) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

export function table({ columns, rows, empty = 'Nothing to show.', rowClass, caption }) {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.length
    ? rows.map((r) => h('tr', { class: rowClass ? rowClass(r) : null },
      columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.render ? c.render(r) : (r[c.key] ?? '')))))
    : [h('tr', {}, h('td', { class: 'empty', colspan: String(columns.length) }, empty))];
  return h('div', { class: 'table-wrap' },
    h('table', {}, caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, head), h('tbody', {}, body)));
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

export function panel(title, ...children) {
  return h('section', { class: 'panel', 'aria-label': title }, title ? h('h2', {}, title) : null, ...children);
}

export function card(label, value, sub) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function fmtClock(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function isoDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

// Segmented bar: parts = [{value, kind, label}], total = the whole; role=progressbar for assistive tech.
export function progress(parts, total, label) {
  const done = parts.filter((p) => p.kind !== 'active').reduce((s, p) => s + p.value, 0);
  const pct = total ? Math.round((100 * done) / total) : 0;
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0',
    'aria-valuemax': '100', 'aria-valuenow': String(pct), 'data-percent': String(pct) });
  for (const p of parts) {
    const seg = h('span', { class: p.kind, title: `${p.label}: ${p.value}` });
    seg.style.width = total ? `${(100 * p.value) / total}%` : '0';
    bar.append(seg);
  }
  return bar;
}

export const stateKind = {
  online: 'ok', completed: 'ok', acked: 'ok', succeeded: 'ok', approved: 'ok', done: 'ok', accepted: 'ok',
  on_time: 'ok', in_sync: 'ok',
  pending: 'info', queued: 'info', sent: 'info', printing: 'info', running: 'info', held: 'info', offered: 'info',
  downloading: 'info', installing: 'info', draft: 'info', open: 'warn', late: 'warn', paused: 'warn',
  early_leave: 'warn', half_day: 'warn', drift: 'warn', rolling_back: 'warn',
  failed: 'bad', offline: 'bad', canceled: 'bad', expired: 'bad', timed_out: 'bad', aborted: 'bad',
  rejected: 'bad', absent: 'bad', serious_late: 'bad', rolled_back: 'warn', error: 'bad',
};

export function stateBadge(state) {
  return badge(String(state).replaceAll('_', ' '), stateKind[state] || '');
}
