"""The embedded MQTT broker (amqtt, MQTT 3.1.1) for `officehub demo` and small installs.

It runs on its own thread and event loop so broker work never competes with the API's loop.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the real listeners do
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class BrokerStartError(RuntimeError):
    pass


class _SnapshotDict(dict[Any, Any]):
    """amqtt 0.12 iterates its subscription table across awaits while other clients subscribe
    ("dictionary changed size during iteration" when many devices connect at once): iterate a copy."""

    def __iter__(self) -> Iterator[Any]:
        return iter(list(super().keys()))


def _patched_broker_class() -> type:
    from amqtt.broker import Broker

    class PatchedBroker(Broker):  # type: ignore[misc]  # amqtt has no type hints: Broker is Any
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._subscriptions = _SnapshotDict()

        async def _publish_retained_messages_for_subscription(self, subscription: tuple[str, int],
                                                              session: Any) -> None:
            # amqtt 0.12 replays retained messages for EVERY filter any client subscribed to when a
            # persistent session reconnects; only replay filters this session holds itself.
            holders = self._subscriptions.get(subscription[0], [])
            if any(s.client_id == session.client_id for s, _ in holders):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    return PatchedBroker


class EmbeddedBroker:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 18830) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout: float = 15) -> None:
        if not port_is_free(self.host, self.port):
            raise BrokerStartError(f"cannot start the embedded broker: {self.host}:{self.port} is in use "
                               "(choose another with --broker-port or point --broker at a running broker)")
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        started: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name="embedded-broker", daemon=True)
        self._thread.start()
        started.result(timeout)
        log.info("embedded MQTT broker (amqtt) listening on %s", self.url)

    def _run(self, started: Future[None]) -> None:
        broker_class = _patched_broker_class()
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}", "max_connections": 0}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }

        async def boot() -> None:
            self._broker = broker_class(config, loop=loop)
            await self._broker.start()

        try:
            loop.run_until_complete(boot())
        except BaseException as exc:  # report start-up failure to the caller
            started.set_exception(exc)
            return
        started.set_result(None)
        loop.run_forever()
        loop.close()

    def stop(self, timeout: float = 10) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None:
            return

        async def halt() -> None:
            await broker.shutdown()

        try:
            asyncio.run_coroutine_threadsafe(halt(), loop).result(timeout)
        except Exception as exc:  # shutting down anyway
            log.warning("embedded broker shutdown: %s", exc)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread:
            self._thread.join(timeout)
