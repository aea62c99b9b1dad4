"""Puts events into the outbox even while the disk refuses writes.

A full (or failing) SD card must not stop a door from opening or a camera loop from running. When
a write fails, the event, and every later one so the outbox keeps seq order, waits in a bounded
in-memory queue, and a retry with backoff writes them out once there is room again (an ack that
frees rows also triggers one). Meanwhile the sender delivers held events straight from memory
(``pending_raw``); one the hub acks needs no storing any more (``discard``). The first failure
logs SQLite's real reason and queues an ``alarm`` event (``outbox_write_failed``), so the hub
hears of it as soon as it is reachable. When the queue is full the oldest events are dropped
(never the alarms), and an ``outbox_events_dropped`` alarm with the counts follows on recovery.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from devices.runtime.backoff import Backoff
from devices.runtime.executor import TimerHandle
from devices.runtime.outbox import Outbox, OutboxError, PendingEvent
from protocol.events import AlarmEvent
from protocol.payloads import Event, utcnow

log = logging.getLogger(__name__)

ALARM_WRITE_FAILED = "outbox_write_failed"
ALARM_EVENTS_DROPPED = "outbox_events_dropped"
RETRY_BATCH = 100  # events per transaction on retry: a nearly full disk still takes some of them


class CallLater(Protocol):
    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle: ...


@dataclass(frozen=True, slots=True)
class OutboxFault:
    """The outbox has been refusing writes since ``since``; ``held`` events wait in memory."""

    reason: str
    since: datetime
    held: int
    dropped: int
    attempts: int


class OutboxWriter:
    def __init__(self, *, outbox: Outbox, scheduler: CallLater, submit: Callable[[Callable[[], None]], None],
                 on_stored: Callable[[], None], max_held: int = 2000, backoff: Backoff | None = None,
                 report: Callable[[str, str], None] | None = None) -> None:
        """``submit`` runs a retry on a worker thread (the scheduler's callbacks must be quick);
        ``on_stored`` is told when held events reached the outbox (wake the sender); ``report``
        gets (level, message) for the device's own log."""
        if max_held < 1:
            raise ValueError("max_held must be >= 1")
        self._outbox = outbox
        self._scheduler = scheduler
        self._submit = submit
        self._on_stored = on_stored
        self._max_held = max_held
        self._backoff = backoff or Backoff(initial=0.5, maximum=5.0)
        self._report = report or (lambda level, message: None)
        # One lock around "build the event, store or hold it": the outbox must receive events in
        # seq order, because the sender reads rows after the highest seq it has sent.
        self._lock = threading.Lock()
        self._held: deque[Event] = deque()
        self._dropped: Counter[str] = Counter()
        self._reason: str | None = None
        self._since = utcnow()
        self._since_mono = 0.0
        self._attempts = 0
        self._boot_id = ""
        self._timer: TimerHandle | None = None
        self._timer_gen = 0
        self._closed = False

    @property
    def fault(self) -> OutboxFault | None:
        with self._lock:
            if self._reason is None:
                return None
            return OutboxFault(self._reason, self._since, len(self._held), sum(self._dropped.values()),
                               self._attempts)

    @property
    def held(self) -> int:
        return len(self._held)

    def held_events(self) -> list[Event]:
        """A copy of what waits in memory, oldest first (diagnostics, tests)."""
        with self._lock:
            return list(self._held)

    def write(self, *, type: str, data: dict[str, Any], device_ts: datetime | None = None, boot_id: str) -> Event:
        """Store the event, or hold it for a retry when the outbox refuses it. Never raises for a
        storage failure; ``RuntimeError`` once closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"outbox {self._outbox.path} is closed")
            self._boot_id = boot_id
            event = self._outbox.new_event(type=type, data=data, device_ts=device_ts, boot_id=boot_id)
            if self._held:  # behind the events already waiting
                self._hold(event)
                return event
            try:
                self._outbox.store([event])
            except OutboxError as exc:
                self._hold(event)
                if self._reason is None:
                    self._begin_fault(exc)
                else:  # same episode: the hub delivered and acked everything held meanwhile
                    self._schedule()
                return event
            if self._reason is not None:
                self._recovered()
            return event

    def pending_raw(self, limit: int, *, after_seq: int = 0) -> list[PendingEvent]:
        """Undelivered events in seq order: the outbox's rows, then the ones held in memory.

        Both are read under the writer's lock so a retry moving events from memory to disk in
        between cannot make the sender skip them."""
        with self._lock:
            rows = self._outbox.pending_raw(limit, after_seq=after_seq)
            if len(rows) < limit and self._held:
                after = rows[-1].seq if rows else after_seq
                later = (e for e in self._held if e.seq > after)
                rows += [PendingEvent(e.seq, e.event_id, e.to_bytes())
                         for e in itertools.islice(later, limit - len(rows))]
            return rows

    def discard(self, event_ids: Iterable[str]) -> int:
        """The hub acked these: held ones need no storing any more. Returns how many were held."""
        with self._lock:
            if not self._held:
                return 0
            ids = set(event_ids)
            before = len(self._held)
            self._held = deque(e for e in self._held if e.event_id not in ids)
            return before - len(self._held)

    def retry_soon(self) -> None:
        """Something may have made room (e.g. acked rows were deleted): try again now."""
        if self._held and not self._closed:
            self._submit(self.retry)

    def retry(self) -> None:
        stored = 0
        with self._lock:
            if self._closed or not self._held:
                return
            self._attempts += 1
            try:
                stored = self._flush()
            except OutboxError as exc:
                if exc.reason != self._reason:
                    log.error("outbox %s still refuses writes, now: %s", self._outbox.path, exc.reason)
                    self._reason = exc.reason
                else:
                    log.debug("outbox %s: retry %d failed: %s", self._outbox.path, self._attempts, exc.reason)
                self._schedule()
            else:
                self._recovered()
        if stored:
            self._on_stored()

    def close(self) -> int:
        """Stop retrying after a last attempt; returns how many held events are lost."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if not self._held:
                return 0
            try:
                self._flush()
            except OutboxError as exc:
                log.error("outbox %s: %d events held in memory are lost at shutdown: %s",
                          self._outbox.path, len(self._held), exc.reason)
            return len(self._held)

    # --- under the lock -------------------------------------------------------------------------

    def _flush(self) -> int:
        """Store held events in order, batch by batch; raises at the first batch refused."""
        stored = 0
        while self._held:
            batch = [self._held[i] for i in range(min(RETRY_BATCH, len(self._held)))]
            self._outbox.store(batch)
            for _ in batch:
                self._held.popleft()
            stored += len(batch)
        return stored

    def _hold(self, event: Event) -> None:
        if len(self._held) >= self._max_held:
            # Oldest first, but never an alarm: the hub must learn why events are missing.
            victim = next((e for e in self._held if e.type != "alarm"), self._held[0])
            self._held.remove(victim)
            if not self._dropped:
                log.error("outbox %s: %d events wait in memory; dropping the oldest from now on",
                          self._outbox.path, self._max_held)
            self._dropped[victim.type] += 1
        self._held.append(event)

    def _begin_fault(self, exc: OutboxError) -> None:
        self._reason, self._since, self._since_mono = exc.reason, utcnow(), time.monotonic()
        self._attempts = 0
        message = (f"the outbox cannot store events: {exc.reason}; holding them in memory "
                   f"(up to {self._max_held}) and retrying")
        log.error("outbox %s: %s", self._outbox.path, message)
        self._report("error", message)
        self._hold(self._alarm(ALARM_WRITE_FAILED, message,
                               {"error": exc.reason, "sqlite_error": exc.code, "path": str(self._outbox.path)}))
        self._schedule()

    def _recovered(self) -> None:
        took = time.monotonic() - self._since_mono
        dropped, reason = dict(self._dropped), self._reason
        message = f"the outbox stores events again after {took:.1f} s ({sum(dropped.values())} dropped)"
        log.warning("outbox %s: %s", self._outbox.path, message)
        self._report("warning", message)
        if self._timer is not None:
            self._timer.cancel()
        self._reason, self._attempts, self._timer = None, 0, None
        self._dropped.clear()
        self._backoff.reset()
        if dropped:
            alarm = self._alarm(ALARM_EVENTS_DROPPED,
                                f"{sum(dropped.values())} events were dropped from memory: the outbox refused "
                                f"writes for {took:.0f} s ({reason}) and {self._max_held} waited already; "
                                f"those not delivered before are lost",
                                {"dropped": dropped, "error": reason, "since": self._since.isoformat()})
            try:
                self._outbox.store([alarm])
            except OutboxError as exc:  # refused again at once: back to holding
                self._hold(alarm)
                self._begin_fault(exc)

    def _alarm(self, code: str, message: str, details: dict[str, Any]) -> Event:
        body = AlarmEvent(code=code, severity="critical", message=message[:1000], details=details)
        return self._outbox.new_event(type="alarm", data=body.model_dump(mode="json"), boot_id=self._boot_id)

    def _schedule(self) -> None:
        if self._timer is not None or self._closed:
            return
        self._timer_gen += 1
        gen = self._timer_gen
        self._timer = self._scheduler.call_later(self._backoff.next(),
                                                 lambda: self._submit(lambda: self._timer_fired(gen)))

    def _timer_fired(self, gen: int) -> None:
        with self._lock:
            if gen == self._timer_gen:
                self._timer = None
        self.retry()
