// Employee id → name lookups for feeds and tables (operators and admins may list employees).
import { api } from '../api.js';

let cache = null;

export async function employeeNames(refresh = false) {
  if (!cache || refresh) {
    const page = await api('/api/v1/employees', { query: { limit: 1000 } });
    cache = new Map(page.items.map((e) => [String(e.id), e.name]));
  }
  return cache;
}

export function forget() {
  cache = null;
}
