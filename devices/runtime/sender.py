"""Drains the outbox to ``events`` with a bounded window of un-acked events.

An event leaves the outbox only when the hub acks it (``events/ack``); PUBACK alone proves
nothing about storage. Un-acked events are re-sent after ``ack_timeout_s`` and all of them
right after a reconnect, so the hub must (and does) dedupe on ``(device_id, event_id)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from devices.runtime.outbox import Outbox, OutboxError, PendingEvent
from devices.runtime.transport import Transport

log = logging.getLogger(__name__)


class EventSource(Protocol):
    def pending_raw(self, limit: int, *, after_seq: int = 0) -> list[PendingEvent]: ...


@dataclass(slots=True)
class _Inflight:
    seq: int
    payload: bytes
    sent_at: float
    sends: int = 1


class EventSender:
    def __init__(self, *, outbox: Outbox, transport: Transport, topic: str,
                 submit: Callable[[Callable[[], None]], None], ack_timeout_s: float,
                 max_inflight: int, source: EventSource | None = None) -> None:
        """``source``: where undelivered events are read, in seq order (default: the outbox; the
        agent passes its ``OutboxWriter``, which adds events held in memory while the disk is full)."""
        if max_inflight < 1:
            raise ValueError("max_inflight must be >= 1")
        self._outbox = outbox
        self._source: EventSource = source or outbox
        self._transport = transport
        self._topic = topic
        self._submit = submit
        self._ack_timeout = ack_timeout_s
        self._max_inflight = max_inflight
        self._inflight: dict[str, _Inflight] = {}
        self._high_seq = 0  # highest seq sent in this connection
        self._lock = threading.Lock()  # serialises pumps of this agent
        self._flag_lock = threading.Lock()
        self._scheduled = False
        self._closed = False
        self.resent = 0  # events published more than once (observable in tests/bench)

    def wake(self) -> None:
        """Ask for a pump on the shared io pool; coalesces bursts into one queued pump."""
        with self._flag_lock:
            if self._scheduled:
                return
            self._scheduled = True
        self._submit(self._run)

    def reset(self) -> None:
        """After a (re)connect nothing in flight can be trusted: send everything un-acked again."""
        with self._lock:
            if self._closed:
                return
            self._inflight.clear()
            self._high_seq = 0
        self.wake()

    def on_ack(self, event_ids: Iterable[str]) -> int:
        ids = list(event_ids)
        with self._lock:
            if self._closed:
                return 0
            try:
                removed = self._outbox.ack(ids)
            except OutboxError as exc:
                # Still in flight, so they are resent after the ack timeout and the hub (deduping
                # on event id) acks them again: the delete is retried without extra machinery.
                log.warning("%s: could not remove %d acked events: %s", self._topic, len(ids), exc.reason)
                return 0
            for eid in ids:
                self._inflight.pop(eid, None)
        self.wake()
        return removed

    def close(self) -> None:
        """Stop pumping (the outbox is about to close); waits for a running pump to finish."""
        with self._lock:
            self._closed = True

    def check_timeouts(self) -> None:
        if self._inflight:
            self.wake()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def _run(self) -> None:
        with self._flag_lock:
            self._scheduled = False
        with self._lock:
            self._pump()

    def _pump(self) -> None:
        if self._closed or not self._transport.connected:
            return
        now = time.monotonic()
        for rec in self._inflight.values():
            if now - rec.sent_at >= self._ack_timeout:
                self._transport.publish(self._topic, rec.payload, qos=1)
                rec.sent_at = now
                rec.sends += 1
                self.resent += 1
        room = self._max_inflight - len(self._inflight)
        if room <= 0:
            return
        batch = self._source.pending_raw(room, after_seq=self._high_seq)
        for row in batch:
            if not self._transport.connected:
                return  # the reconnect will reset and send again
            self._transport.publish(self._topic, row.payload, qos=1)
            self._inflight[row.event_id] = _Inflight(row.seq, row.payload, now)
            self._high_seq = row.seq
        # If the window is full, the next ack wakes us for the rest.
