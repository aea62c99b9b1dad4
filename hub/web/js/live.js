// One EventSource per signed-in session; views subscribe and unsubscribe as they come and go.
import { session } from './api.js';

const KINDS = ['hello', 'device', 'event', 'command', 'alert', 'checkin', 'print_job', 'rollout'];

export function createLive(onState) {
  const listeners = new Set();
  let source = null;

  function open() {
    const token = session.token();
    if (!token || source) return;
    // EventSource cannot send headers: the hub accepts the token as a query parameter on this route only.
    source = new EventSource(`/api/v1/stream?access_token=${encodeURIComponent(token)}`);
    source.onopen = () => onState('live');
    source.onerror = () => onState(source && source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    for (const kind of KINDS) {
      source.addEventListener(kind, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch { return; }
        for (const fn of listeners) fn(kind, data);
      });
    }
  }

  return {
    open,
    close() {
      if (source) source.close();
      source = null;
      onState('closed');
    },
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
