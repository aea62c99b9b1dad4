"""Live feed for the console and integrators (SSE): thread-safe publish, per-subscriber asyncio queues."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.domain.biometrics import without_biometrics


@dataclass(frozen=True, slots=True)
class LiveMessage:
    kind: str
    data: dict[str, Any]
    at: str

    def sse(self) -> dict[str, str]:
        return {"event": self.kind, "data": json.dumps({"kind": self.kind, "at": self.at, **self.data},
                                                       default=str)}


class LiveFeed:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[LiveMessage]]] = set()
        self._lock = threading.Lock()
        self.queue_size = queue_size

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Callable from any thread; a slow subscriber loses its oldest messages, never blocks the hub."""
        if not self._subs:
            return
        # Redacted here, where every publisher passes: an edge punch's face encoding (stored until
        # the hub re-verifies it) must not reach the console, as the REST views never show it.
        msg = LiveMessage(kind, without_biometrics(data), datetime.now(UTC).isoformat())
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            loop.call_soon_threadsafe(self._offer, q, msg)

    @staticmethod
    def _offer(q: asyncio.Queue[LiveMessage], msg: LiveMessage) -> None:
        if q.full():
            q.get_nowait()
        q.put_nowait(msg)

    async def subscribe(self) -> AsyncIterator[LiveMessage]:
        q: asyncio.Queue[LiveMessage] = asyncio.Queue(self.queue_size)
        entry = (asyncio.get_running_loop(), q)
        with self._lock:
            self._subs.add(entry)
        try:
            while True:
                yield await q.get()
        finally:
            with self._lock:
                self._subs.discard(entry)
