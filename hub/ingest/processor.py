"""Runs feature handlers for stored events that are not processed yet.

At-least-once: an event is marked processed only after its handlers ran, so a hub killed in
between re-runs them on start; handlers are idempotent (they key their writes on the event).
Events of one device run in order; different devices run side by side on a small pool, and a
page's processed marks are written in one statement.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from hub.db.models.core import Event as EventRow
from hub.db.session import SessionFactory, transaction
from hub.ingest.handlers import HandlerRegistry, StoredEvent, stored_body
from hub.services.failure_log import FailureLog

log = logging.getLogger(__name__)


class EventProcessor:
    def __init__(self, *, sessions: SessionFactory, registry: HandlerRegistry, batch: int = 500,
                 workers: int = 4) -> None:
        self.sessions = sessions
        self.registry = registry
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="event-handler")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-processor", daemon=True)
        self.processed = 0
        self.failed = 0
        self._db_failures = FailureLog(log, "event processor (database unavailable?)")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True)

    def notify(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                more = self.run_once()
            except OperationalError as exc:  # the database is away: retried every 2 s, logged once a minute
                self._db_failures.failed(exc)
                more = False
            else:
                self._db_failures.ok()
            if not more:
                self._wake.wait(2.0)
                self._wake.clear()

    def run_once(self) -> bool:
        """Process one page of pending events; True when there may be more."""
        with self.sessions() as session:
            rows = session.execute(
                select(EventRow).where(EventRow.processed_at.is_(None)).order_by(EventRow.id).limit(self.batch)
            ).scalars().all()
            pending = [StoredEvent(r.id, r.device_id, r.event_id, r.seq, r.type, r.device_ts, r.received_at,
                                   dict(r.data)) for r in rows]
        by_device: dict[str, list[StoredEvent]] = {}
        for ev in pending:
            by_device.setdefault(ev.device_id, []).append(ev)
        done: list[int] = []
        errors: list[tuple[int, str]] = []
        retry = False
        for result in self._pool.map(self._run_device, by_device.values()):
            ok, failed, db_down = result
            done += ok
            errors += failed
            retry = retry or db_down
        now = datetime.now(UTC)
        with transaction(self.sessions) as session:
            if done:
                session.execute(update(EventRow).where(EventRow.id.in_(done)).values(processed_at=now))
            for event_row_id, error in errors:
                session.execute(update(EventRow).where(EventRow.id == event_row_id)
                                .values(processed_at=now, process_error=error))
        self.processed += len(done)
        self.failed += len(errors)
        if retry:
            raise OperationalError("event handler", {}, Exception("database unavailable"))
        return len(pending) == self.batch

    def _run_device(self, events: Iterable[StoredEvent]) -> tuple[list[int], list[tuple[int, str]], bool]:
        """One device's events in order; stops at a database outage so order is kept on retry."""
        ok: list[int] = []
        failed: list[tuple[int, str]] = []
        for ev in events:
            assert ev.id is not None
            error: str | None = None
            subscriptions = self.registry.events.get(ev.type, [])
            body = stored_body(ev) if subscriptions else None  # validated once for all its handlers
            for sub in subscriptions:
                assert body is not None
                try:
                    sub.run(ev, body)
                except OperationalError:
                    log.error("database unavailable while handling %s/%s; will retry", ev.device_id, ev.event_id)
                    return ok, failed, True
                except Exception as exc:
                    log.exception("handler %s failed on event %s/%s", sub.name, ev.device_id, ev.event_id)
                    error = f"{sub.name}: {exc}"[:2000]
            if error:
                failed.append((ev.id, error))
            else:
                ok.append(ev.id)
        return ok, failed, False
