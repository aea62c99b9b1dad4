"""One network thread for many paho clients: a selector (epoll on Linux) instead of paho's
per-client ``loop_start`` thread, whose ``select()`` cannot watch file descriptors >= 1024.

paho's external-loop hooks (``on_socket_open/close/register_write/unregister_write``) tell us which
socket to watch; the loop calls ``loop_read``/``loop_write`` when it is ready and ``loop_misc``
(keepalive pings) once a second. Everything touching the selector runs on the loop thread; other
threads hand work over with ``call_soon`` (a wake-up socket interrupts the select).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

MISC_INTERVAL_S = 1.0


class NetLoop:
    def __init__(self, *, name: str = "mqtt-netloop") -> None:
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: deque[Callable[[], None]] = deque()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._clients: set[mqtt.Client] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- any thread -----------------------------------------------------------------------------

    def call_soon(self, fn: Callable[[], None]) -> None:
        if threading.get_ident() == self._thread.ident:
            fn()
            return
        self._calls.append(fn)
        self._wake()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._counter), fn))
        self._wake()

    def attach(self, client: mqtt.Client) -> None:
        """Drive this client from the loop (call before connecting it)."""
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self.call_soon(lambda: self._clients.add(client))

    def detach(self, client: mqtt.Client) -> None:
        self.call_soon(lambda: self._clients.discard(client))

    @property
    def clients(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        self._closed = True
        self._wake()
        self._thread.join(timeout=5)

    def _wake(self) -> None:
        # A full buffer already holds wake-ups; while closing the socket may be gone.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"x")

    # --- paho hooks (called on the loop thread or by threads that publish) ----------------------

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.call_soon(lambda: self._set(sock, client, selectors.EVENT_READ))

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.call_soon(lambda: self._unregister(sock))

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.call_soon(lambda: self._set(sock, client, selectors.EVENT_READ | selectors.EVENT_WRITE))

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self.call_soon(lambda: self._set(sock, client, selectors.EVENT_READ))

    # --- loop thread ----------------------------------------------------------------------------

    def _set(self, sock: Any, client: mqtt.Client, events: int) -> None:
        current: Any = client.socket()
        if sock.fileno() < 0 or current is not sock:
            return  # closed or replaced meanwhile
        try:
            self._sel.modify(current, events, client)
        except KeyError:
            self._sel.register(current, events, client)

    def _unregister(self, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(sock)

    def _run(self) -> None:
        next_misc = time.monotonic() + MISC_INTERVAL_S
        while not self._closed:
            now = time.monotonic()
            with self._lock:
                due_timer = self._timers[0][0] if self._timers else next_misc
            timeout = max(0.0, min(next_misc, due_timer) - now)
            for key, mask in self._sel.select(timeout if not self._calls else 0):
                client = key.data
                if client is None:
                    self._drain_wake()
                    continue
                self._guard(client, mask)
            self._run_calls()
            self._run_timers()
            if time.monotonic() >= next_misc:
                next_misc = time.monotonic() + MISC_INTERVAL_S
                for c in list(self._clients):
                    try:
                        c.loop_misc()
                    except Exception:
                        log.exception("loop_misc failed")
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def _guard(self, client: mqtt.Client, mask: int) -> None:
        try:
            if mask & selectors.EVENT_READ:
                client.loop_read()
            if mask & selectors.EVENT_WRITE and client.socket() is not None:
                client.loop_write()
        except Exception:
            log.exception("paho client %s failed in the shared loop", getattr(client, "_client_id", b"?"))

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wake_r.recv(4096):
                pass

    def _run_calls(self) -> None:
        while self._calls:
            fn = self._calls.popleft()
            try:
                fn()
            except Exception:
                log.exception("net loop call failed")

    def _run_timers(self) -> None:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > now:
                    return
                _, _, fn = heapq.heappop(self._timers)
            try:
                fn()
            except Exception:
                log.exception("net loop timer failed")
