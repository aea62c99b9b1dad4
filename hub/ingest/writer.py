"""The ingest writer: drains the MQTT inbox in batches, stores each batch in one transaction,
acks stored events to their devices, then hands work to features. Runs on its own thread."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hub.db.session import SessionFactory
from hub.ingest.batch_store import InProcessStore, StoreConfig, SubprocessStore
from hub.ingest.classify import Accepted
from hub.ingest.handlers import HandlerRegistry, RequestRefused
from hub.ingest.mqtt_client import RawMessage
from hub.ingest.store import BatchOutcome
from protocol import payloads as p
from protocol import topics

log = logging.getLogger(__name__)

Publish = Callable[..., bool]


@dataclass
class IngestStats:
    batches: int = 0
    messages: int = 0
    events_stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    store_retries: int = 0


class IngestWriter:
    def __init__(self, *, inbox: queue.SimpleQueue[RawMessage], sessions: SessionFactory, db_url: str,
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
        self._store = SubprocessStore(cfg) if self.store_process else InProcessStore(self.sessions, cfg, self._stop)
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
                self.process(raw)

    def process(self, raw: list[RawMessage]) -> BatchOutcome:
        assert self._store is not None, "start() the writer first"
        outcome = self._store(raw)
        self.stats.batches += 1
        self.stats.messages += len(raw)
        self.stats.events_stored += outcome.stored
        self.stats.duplicates += outcome.duplicates
        self.stats.dead_letters += outcome.dead_letters
        self._after_commit(outcome)
        return outcome

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
