"""The ingest writer: drains the MQTT inbox in batches, stores each batch in one transaction,
acks stored events to their devices, then hands work to features. Runs on its own thread.

While the database is away the writer keeps the batch in hand and retries it with backoff (one
log line when the outage starts, one every half minute while it lasts, one when it ends); the
bounded inbox (``hub.ingest.inbox``) holds back the rest. ``health()`` feeds /healthz.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.db.session import SessionFactory
from hub.ingest.batch_store import DatabaseUnavailable, InProcessStore, StoreConfig, SubprocessStore
from hub.ingest.classify import Accepted
from hub.ingest.handlers import HandlerRegistry, RequestRefused
from hub.ingest.inbox import BoundedInbox
from hub.ingest.raw import RawMessage
from hub.ingest.store import BatchOutcome
from protocol import payloads as p
from protocol import topics

log = logging.getLogger(__name__)

Publish = Callable[..., bool]

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 5.0
OUTAGE_LOG_EVERY_S = 30.0


@dataclass
class IngestStats:
    batches: int = 0
    messages: int = 0
    events_stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    store_retries: int = 0


@dataclass
class DatabaseState:
    """The database as the writer last saw it (it only learns by storing)."""

    reachable: bool = True
    down_since: datetime | None = None
    error: str | None = None
    outages: int = 0


class IngestWriter:
    def __init__(self, *, inbox: BoundedInbox, sessions: SessionFactory, db_url: str,
                 registry: HandlerRegistry, publish: Publish, max_payload_bytes: int, batch_max: int,
                 auto_register: bool, on_stored: Callable[[BatchOutcome], None] | None = None,
                 request_workers: int = 4, linger_s: float = 0.01, store_process: bool = True,
                 quiet_types: frozenset[str] = frozenset()) -> None:
        self.inbox = inbox
        self.sessions = sessions
        self.registry = registry
        self.publish = publish
        self.max_payload_bytes = max_payload_bytes
        self.batch_max = batch_max
        self.auto_register = auto_register
        self.linger_s = linger_s
        self.db_url = db_url
        self.store_process = store_process
        self.quiet_types = quiet_types
        self._store: InProcessStore | SubprocessStore | None = None
        self.on_stored = on_stored
        self.stats = IngestStats()
        self.database = DatabaseState()
        self._down_at = 0.0  # monotonic start of the current outage
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._requests = ThreadPoolExecutor(max_workers=request_workers, thread_name_prefix="hub-request")

    def start(self) -> None:
        # Handlers are registered by now (features set up before start), so the store knows
        # which event types need the processor.
        cfg = StoreConfig(db_url=self.db_url, max_payload_bytes=self.max_payload_bytes,
                          auto_register=self.auto_register,
                          handled_types=frozenset(t for t, hs in self.registry.events.items() if hs),
                          quiet_types=self.quiet_types)
        self._store = SubprocessStore(cfg) if self.store_process else InProcessStore(self.sessions, cfg)
        self._store.start()
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._store is not None:
            self._store.stop()
        self._requests.shutdown(wait=True, cancel_futures=False)

    # -------------------------------------------------------------------------------------
    def _drain(self) -> list[RawMessage]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        # Linger a few ms for more: one transaction and one ack per device for many events is what
        # makes the ingest fast; the added latency is far below a door decision's budget.
        deadline = time.monotonic() + self.linger_s
        while len(batch) < self.batch_max:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(self.inbox.get(timeout=remaining))
                except queue.Empty:
                    break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set() or not self.inbox.empty():
            raw = self._drain()
            if raw:
                try:
                    self.process(raw)
                finally:
                    self.inbox.done()

    def process(self, raw: list[RawMessage]) -> BatchOutcome | None:
        """Store, ack and hand on one batch; None when the writer stopped during a database outage
        (nothing of the batch was acked, so the devices still hold it)."""
        outcome = self._store_until_done(raw)
        if outcome is None:
            return None
        self.stats.batches += 1
        self.stats.messages += len(raw)
        self.stats.events_stored += outcome.stored
        self.stats.duplicates += outcome.duplicates
        self.stats.dead_letters += outcome.dead_letters
        self._after_commit(outcome)
        return outcome

    def _store_until_done(self, raw: list[RawMessage]) -> BatchOutcome | None:
        assert self._store is not None, "start() the writer first"
        delay = RETRY_FIRST_S
        last_log = 0.0
        while True:
            if self._stop.is_set() and not self.database.reachable:
                # Stopping during an outage: do not wait out a connect per remaining batch.
                log.warning("ingest: stopping while the database is unreachable; %d message(s) not stored "
                            "(not acked: devices send them again)", len(raw))
                return None
            try:
                outcome = self._store(raw)
            except DatabaseUnavailable as exc:
                started = self._database_down(str(exc))
                if self._stop.is_set():
                    continue  # given up above
                self.stats.store_retries += 1
                now = time.monotonic()
                if started or now - last_log >= OUTAGE_LOG_EVERY_S:
                    last_log = now
                    log.error("ingest: database unreachable%s (%s); %d message(s) held in memory (limit %d, "
                              "new events refused beyond it, devices keep them); retrying every %.0fs at most",
                              "" if started else f" for {now - self._down_at:.0f}s", exc, self.inbox.backlog,
                              self.inbox.max_messages, RETRY_MAX_S)
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self._database_up()
            return outcome

    def _database_down(self, error: str) -> bool:
        """Record the outage; True when it just started."""
        db = self.database
        db.error = error
        if not db.reachable:
            return False
        db.reachable, db.down_since, db.outages = False, datetime.now(UTC), db.outages + 1
        self._down_at = time.monotonic()
        return True

    def _database_up(self) -> None:
        db = self.database
        if db.reachable:
            return
        log.warning("ingest: database reachable again after %.1fs; storing the %d message(s) held",
                    time.monotonic() - self._down_at, self.inbox.backlog)
        db.reachable, db.down_since, db.error = True, None, None

    def health(self) -> tuple[dict[str, Any], list[str]]:
        """Figures for /healthz and the reasons the ingest is degraded (empty when it is not)."""
        db, inbox = self.database, self.inbox
        refusing = inbox.refusing()
        info: dict[str, Any] = {
            "database_reachable": db.reachable, "database_error": db.error,
            "database_down_since": db.down_since.isoformat() if db.down_since else None,
            "store_retries": self.stats.store_retries,
            "backlog": inbox.backlog, "backlog_bytes": inbox.backlog_bytes,
            "backlog_limit": inbox.max_messages, "backlog_limit_bytes": inbox.max_bytes,
            "backlog_high_water": inbox.stats.high_water, "refusing": refusing,
            "refused_events": inbox.stats.refused_events, "dropped_other": inbox.stats.dropped_other,
            "collapsed_resends": inbox.stats.collapsed,
        }
        reasons: list[str] = []
        if not db.reachable:
            reasons.append(f"database unreachable since {db.down_since:%Y-%m-%d %H:%M:%S}Z ({db.error})")
        if not db.reachable or refusing or inbox.backlog >= inbox.max_messages // 2:
            reasons.append(f"ingest backlog {inbox.backlog} of {inbox.max_messages} messages"
                           + (", refusing new events (devices keep them and send again)" if refusing else ""))
        return info, reasons

    def _after_commit(self, outcome: BatchOutcome) -> None:
        for device_id, ids in outcome.acks.items():
            for i in range(0, len(ids), 5000):
                event_ack = p.EventAck(event_ids=ids[i:i + 5000])
                self.publish(topics.events_ack(device_id), event_ack.to_bytes(), qos=1)
        for req, reason in outcome.refused_requests:
            self._respond_error(req, reason)
        for req in outcome.requests:
            self._requests.submit(self._handle_request, req)
        for device_id, name, ack in outcome.command_acks:
            for handler in self.registry.command_acks.get(name, []):
                self._safe(handler, device_id, name, ack)
        for change in outcome.device_changes:
            for listener in self.registry.device_listeners:
                self._safe(listener, change)
        for refused in outcome.refusals:
            log.warning("refused from %s (%s): %s", refused.device_id, refused.what, refused.message)
            for on_refusal in self.registry.refusal_listeners:
                self._safe(on_refusal, refused)
        if self.on_stored is not None:
            self._safe(self.on_stored, outcome)

    def _handle_request(self, req: Accepted) -> None:
        assert isinstance(req.payload, p.Request) and req.action
        handler = self.registry.requests.get(req.action)
        if handler is None:
            self._respond_error(req, f"the hub has no handler for {req.action!r}")
            return
        try:
            data = handler(req.device_id, req.payload, req.body)
        except RequestRefused as exc:
            self._respond_error(req, str(exc))
            return
        except Exception as exc:  # a bug in one handler must not stop the ingest
            log.exception("request %s from %s failed", req.action, req.device_id)
            self._respond_error(req, f"internal error: {exc.__class__.__name__}")
            return
        res = p.Response(transaction=req.payload.transaction, status=p.ResponseStatus.OK, data=data)
        self.publish(topics.response(req.device_id, req.action), res.to_bytes(), qos=1)

    def _respond_error(self, req: Accepted, message: str) -> None:
        assert isinstance(req.payload, p.Request) and req.action
        res = p.Response(transaction=req.payload.transaction, status=p.ResponseStatus.ERROR, error=message)
        self.publish(topics.response(req.device_id, req.action), res.to_bytes(), qos=1)

    @staticmethod
    def _safe(fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("ingest listener %r failed", fn)
