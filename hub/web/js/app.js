// Console entry: sign-in, the shell (navigation by role), a hash router that loads one view module.
import { api, login, session } from './api.js';
import { createLive } from './live.js';
import { clear, field, h, messageSlot } from './ui.js';

const ROUTES = [
  { path: 'dashboard', label: 'Dashboard', view: 'dashboard', roles: ['admin', 'operator'] },
  { path: 'employees', label: 'Employees', view: 'employees', roles: ['admin', 'operator'] },
  { path: 'attendance', label: 'Attendance', view: 'attendance', roles: ['admin', 'operator'] },
  { path: 'access', label: 'Doors & access', view: 'access', roles: ['admin', 'operator'] },
  { path: 'print', label: 'Printing', view: 'print_admin', roles: ['admin', 'operator'] },
  { path: 'devices', label: 'Devices', view: 'devices', roles: ['admin', 'operator'] },
  { path: 'rollouts', label: 'Firmware', view: 'rollouts', roles: ['admin', 'operator'] },
  { path: 'alerts', label: 'Alerts', view: 'alerts', roles: ['admin', 'operator'] },
  { path: 'audit', label: 'Audit log', view: 'audit', roles: ['admin'] },
  { path: 'users', label: 'Users', view: 'users', roles: ['admin'] },
  { path: 'me/attendance', label: 'My attendance', view: 'my_attendance', roles: ['employee'], needsEmployee: true },
  { path: 'me/print', label: 'Print', view: 'my_print', roles: ['admin', 'operator', 'employee'] },
  { path: 'me/account', label: 'Account', view: 'account', roles: ['admin', 'operator', 'employee'] },
];

const root = document.getElementById('app');
let live = null;
let cleanup = null;

function allowed(user) {
  return ROUTES.filter((r) => r.roles.includes(user.role) && (!r.needsEmployee || user.employee_id));
}

function showLogin(message) {
  if (live) live.close();
  live = null;
  document.title = 'Sign in · OfficeHub';
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = messageSlot();
  if (message) msg.show(message, 'info');
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { 'aria-label': 'Sign in' }, field('Username', user), field('Password', pass), msg, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const me = await login(user.value.trim(), pass.value);
      const first = allowed(me)[0];
      location.hash = `#/${first ? first.path : ''}`;
      showShell();
    } catch (err) {
      msg.error(err);
      pass.select();
    } finally {
      submit.disabled = false;
    }
  });
  clear(root, h('main', { id: 'main', class: 'login' },
    h('div', { class: 'brand' }, h('img', { src: '/console/img/favicon.svg', alt: '' }), 'OfficeHub'),
    h('h1', {}, 'Sign in'), form));
  user.focus();
}

function showShell() {
  const { user } = session.get();
  const routes = allowed(user);
  const liveState = h('span', { class: 'live-state', role: 'status' }, 'connecting…');
  live = createLive((state) => {
    liveState.textContent = state === 'live' ? 'live' : state;
    liveState.classList.toggle('on', state === 'live');
  });
  live.open();
  const nav = h('nav', { class: 'nav', 'aria-label': 'Main' },
    routes.map((r) => h('a', { href: `#/${r.path}`, 'data-path': r.path }, r.label)));
  const signOut = h('button', { type: 'button', class: 'secondary small', onclick: () => {
    session.clear();
    location.hash = '';
    showLogin('You are signed out.');
  } }, 'Sign out');
  const main = h('main', { id: 'main', tabindex: '-1' });
  clear(root, h('div', { class: 'shell' },
    h('header', { class: 'sidebar' },
      h('div', { class: 'brand' }, h('img', { src: '/console/img/favicon.svg', alt: '' }), 'OfficeHub'),
      nav,
      h('div', { class: 'who' }, h('div', {}, h('strong', {}, user.username), ' ', h('span', { class: 'role' }, user.role)),
        liveState, signOut)),
    main));
  route(main, nav, routes, user);
}

let generation = 0;

async function route(main, nav, routes, user, { focus = false } = {}) {
  if (cleanup) cleanup();
  cleanup = null;
  const mine = ++generation;
  const hash = location.hash.replace(/^#\/?/, '');
  const match = routes.find((r) => hash === r.path || hash.startsWith(`${r.path}/`)) || routes[0];
  if (!match) {
    clear(main, h('p', {}, 'Your account has no pages in the console.'));
    return;
  }
  const rest = hash.startsWith(`${match.path}/`) ? decodeURIComponent(hash.slice(match.path.length + 1)) : '';
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.path === match.path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${match.label} · OfficeHub`;
  // Each view renders into its own container: a slower view the user already left draws into a
  // detached element, never over the page that replaced it.
  const view = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main, view);
  main.setAttribute('aria-busy', 'true');
  main.dataset.view = match.view;
  main.dataset.hash = hash;
  try {
    const mod = await import(`./views/${match.view}.js`);
    if (mine !== generation) return;
    clear(view);
    const ctx = { user, live, param: rest, api, navigate: (p) => { location.hash = `#/${p}`; } };
    const stop = (await mod.default(view, ctx)) || null;
    if (mine !== generation) {
      if (stop) stop();
      return;
    }
    cleanup = stop;
  } catch (err) {
    if (mine === generation) clear(view, h('div', { class: 'notice error', role: 'alert' }, err.message || String(err)));
  } finally {
    if (mine === generation) {
      main.setAttribute('aria-busy', 'false'); // the view has its data (tests wait for this)
      // After navigating, keyboard and screen-reader users start at the new page, not the menu.
      if (focus) main.focus({ preventScroll: true });
    }
  }
}

window.addEventListener('hashchange', () => {
  const s = session.get();
  const main = document.getElementById('main');
  const nav = document.querySelector('nav.nav');
  if (s?.user && main && nav) route(main, nav, allowed(s.user), s.user, { focus: true });
});

window.addEventListener('officehub:logout', (ev) => {
  if (cleanup) cleanup();
  cleanup = null;
  showLogin(ev.detail?.message);
});

async function boot() {
  const s = session.get();
  if (!s?.token || !s.user || (s.expiresAt && s.expiresAt < Date.now())) {
    session.clear();
    showLogin(s?.token ? 'Your session expired. Please sign in again.' : '');
    return;
  }
  try {
    await api('/api/v1/auth/me');
    showShell();
  } catch (err) {
    if (session.get()) showLogin(err.message);
  }
}

boot();
