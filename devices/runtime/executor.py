"""Threads shared by every agent in a process: one timer thread and two small worker pools.

With ``shared_network_loop`` one epoll thread also carries every agent's MQTT connection, so a
process running 2,000 simulated agents costs a handful of threads, not one or more per agent.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from devices.runtime.netloop import NetLoop

log = logging.getLogger(__name__)


class TimerHandle:
    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """A single thread running due callbacks; callbacks must be quick (submit real work to a pool)."""

    def __init__(self, name: str = "agent-timer") -> None:
        self._heap: list[tuple[float, int, TimerHandle, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle()
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), handle, fn))
            self._cond.notify()
        return handle

    def call_every(self, interval: float, fn: Callable[[], None], *, first_delay: float | None = None,
                   ) -> TimerHandle:
        handle = TimerHandle()

        def tick() -> None:
            if handle.cancelled:
                return
            try:
                fn()
            finally:
                if not handle.cancelled:
                    self._push(interval, handle, tick)

        self._push(interval if first_delay is None else first_delay, handle, tick)
        return handle

    def _push(self, delay: float, handle: TimerHandle, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), handle, fn))
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._heap and self._heap[0][0] <= time.monotonic():
                        break
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._closed:
                    return
                _, _, handle, fn = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            try:
                fn()
            except Exception:
                log.exception("timer callback failed")


class Runtime:
    """Shared timer + pools. ``io`` runs outbox/sender/ack work, ``handlers`` runs command handlers
    (which may block, e.g. on a relay), so a slow handler never stalls event delivery."""

    def __init__(self, *, io_threads: int = 2, handler_threads: int = 4, shared_network_loop: bool = False) -> None:
        self.scheduler = Scheduler()
        # One epoll thread for every agent's MQTT connection (thousands per process) instead of
        # paho's thread per client, whose select() cannot use file descriptors >= 1024.
        self.netloop: NetLoop | None = NetLoop() if shared_network_loop else None
        self.io = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="agent-io")
        self.handlers = ThreadPoolExecutor(max_workers=handler_threads, thread_name_prefix="agent-cmd")

    def submit_io(self, fn: Callable[[], None]) -> None:
        self.io.submit(_logged, fn)

    def submit_handler(self, fn: Callable[[], None]) -> None:
        self.handlers.submit(_logged, fn)

    def close(self) -> None:
        self.scheduler.close()
        self.io.shutdown(wait=True)
        self.handlers.shutdown(wait=True)
        if self.netloop is not None:
            self.netloop.close()


def _logged(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        log.exception("agent task failed")


_default: Runtime | None = None
_default_lock = threading.Lock()


def default_runtime() -> Runtime:
    """The process-wide runtime, created on first use (daemon threads; never needs closing)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default
