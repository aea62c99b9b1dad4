// Shared harness for the console specs: Debian chromium via playwright-core, guards that fail a spec
// on any console error, page error or request that leaves localhost, screenshots, JSON-line output.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`missing environment variable ${name}`);
  return v;
};

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// The Python side answers "go" lines on stdin once it did its part (e.g. a terminal saw a face).
const waiting = [];
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let i;
  while ((i = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, i).trim();
    buffered = buffered.slice(i + 1);
    if (line && waiting.length) waiting.shift()(line);
  }
});

export function signal(name, data = {}) {
  emit({ event: name, ...data });
  return new Promise((resolve) => waiting.push(resolve));
}

export async function session(specName) {
  const baseUrl = env('OFFICEHUB_URL');
  const shotDir = env('SCREENSHOT_DIR');
  mkdirSync(shotDir, { recursive: true });
  // Old pictures of this spec (e.g. a failure from an earlier run) would mislead: start clean.
  for (const f of readdirSync(shotDir)) if (f.startsWith(`${specName}-`)) rmSync(join(shotDir, f));
  const problems = [];
  const offsite = [];
  const shots = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--disable-default-apps', '--disable-extensions',
      // A synthetic camera for the enrolment page's getUserMedia path (no real device in CI).
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
  // Every request goes through here: anything not on localhost is refused and fails the spec.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (['data:', 'blob:'].includes(url.protocol) || LOCAL_HOSTS.has(url.hostname)) return route.continue();
    offsite.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  const httpErrors = [];
  const expected = [];
  page.on('console', (msg) => {
    // Chromium logs every 4xx/5xx fetch as a console error; those are judged by the response
    // listener below, where a spec can declare the refusals it provokes on purpose.
    if (msg.type() !== 'error' || msg.text().startsWith('Failed to load resource: the server responded')) return;
    problems.push(`console: ${msg.text()} @ ${msg.location()?.url ?? ''}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() < 400) return;
    const i = expected.findIndex((e) => e.status === res.status() && res.url().includes(e.urlPart));
    if (i >= 0) expected.splice(i, 1);
    else httpErrors.push(`HTTP ${res.status()} ${res.request().method()} ${res.url()}`);
  });
  page.setDefaultTimeout(Number(process.env.SPEC_TIMEOUT_MS || 60_000));

  const s = {
    page,
    baseUrl,
    // The console marks <main aria-busy="false"> once a view has loaded its data.
    async settled(hash) {
      const at = hash ?? decodeURIComponent(new URL(page.url()).hash.replace(/^#\/?/, ''));
      await page.locator(`main[aria-busy="false"][data-hash="${at}"]`).waitFor();
    },
    async shot(name, { settle = true } = {}) {
      if (settle) await page.waitForTimeout(300); // let transitions finish so the picture shows the final state
      const path = join(shotDir, `${specName}-${name}.png`);
      await page.screenshot({ path, fullPage: true });
      shots.push(path);
    },
    async login(username, password) {
      await page.goto(baseUrl + '/');
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('nav.nav').waitFor();
    },
    async logout() {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    },
    async open(hash, heading) {
      await page.goto(`${baseUrl}/#/${hash}`);
      await s.settled(hash);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    },
    // A refusal the spec provokes on purpose (e.g. a group photo at enrolment).
    expectHttp(status, urlPart) {
      expected.push({ status, urlPart });
    },
    async finish(extra = {}) {
      await browser.close();
      problems.push(...httpErrors);
      const ok = problems.length === 0 && offsite.length === 0;
      emit({ result: ok ? 'ok' : 'failed', problems, offsite, screenshots: shots, ...extra });
      process.exit(ok ? 0 : 1);
    },
    async fail(err) {
      try { await s.shot('failure'); } catch { /* the page may be gone */ }
      await browser.close().catch(() => {});
      problems.push(...httpErrors);
      emit({ result: 'error', error: String(err?.stack || err), problems, offsite, screenshots: shots });
      process.exit(2);
    },
  };
  return s;
}

export async function run(specName, body) {
  let s;
  try {
    s = await session(specName);
    const extra = await body(s);
    await s.finish(extra || {});
  } catch (err) {
    if (s) await s.fail(err);
    emit({ result: 'error', error: String(err?.stack || err) });
    process.exit(2);
  }
}
