// The one place that talks HTTP to the hub: bearer token from sessionStorage, errors in words.
const KEY = 'officehub.session';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
  },
  set(value) { sessionStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { sessionStorage.removeItem(KEY); },
  token() { return this.get()?.token ?? null; },
};

// FastAPI answers {"detail": "..."}; fleet config answers {"detail": {"message", "issues"}};
// raw validation errors are a list of {loc, msg}.
export function describe(detail, status) {
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail)) {
    return detail.map((e) => `${(e.loc || []).filter((x) => x !== 'body').join('.')}: ${e.msg}`).join('; ');
  }
  if (detail && typeof detail === 'object') {
    const issues = Array.isArray(detail.issues)
      ? detail.issues.map((i) => (typeof i === 'string' ? i : `${i.key ?? i.field ?? ''} ${i.message ?? i.msg ?? ''}`.trim()))
      : [];
    return [detail.message, ...issues].filter(Boolean).join(' — ');
  }
  if (status === 403) return 'You do not have permission to do that.';
  if (status === 404) return 'Not found.';
  if (status >= 500) return 'The hub had a problem handling this request. Try again, or ask your administrator to check the hub log.';
  return `The request failed (HTTP ${status}).`;
}

function buildUrl(path, query) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  return url;
}

export async function request(path, { method = 'GET', json, form, query, signal } = {}) {
  const headers = {};
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let res;
  try {
    res = await fetch(buildUrl(path, query), { method, headers, body, signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The hub did not answer. Check the network connection and try again.');
  }
  if (!res.ok) {
    let detail;
    try { detail = (await res.json()).detail; } catch { detail = undefined; }
    const message = describe(detail, res.status);
    if (res.status === 401 && token) {
      session.clear();
      window.dispatchEvent(new CustomEvent('officehub:logout', { detail: { message: `Your session ended: ${message}. Please sign in again.` } }));
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

export async function api(path, options) {
  const res = await request(path, options);
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

// Exports need the bearer token, so a plain link cannot fetch them: fetch, then save the blob.
export async function download(path, query, filename) {
  const res = await request(path, { query });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export async function login(username, password) {
  const form = new URLSearchParams({ username, password });
  let res;
  try {
    res = await fetch('/api/v1/auth/token', { method: 'POST', body: form });
  } catch {
    throw new ApiError(0, 'The hub did not answer. Check the network connection and try again.');
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, describe(data.detail, res.status));
  session.set({ token: data.access_token, role: data.role, expiresAt: Date.now() + data.expires_in * 1000 });
  const me = await api('/api/v1/auth/me');
  session.set({ ...session.get(), user: me });
  return me;
}
