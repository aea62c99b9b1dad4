"""The small interface between agent logic and the MQTT client library.

Agent code talks only to ``Transport``; ``session.PahoTransport`` is the paho implementation.
Callbacks are invoked on the transport's network thread and must return quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

# One URL parser for hub and devices (protocol/broker_tls.py); re-exported for agent code.
from protocol.broker_tls import BrokerAddress, parse_broker_url

__all__ = ["BrokerAddress", "PublishHandle", "Transport", "TransportCallbacks", "Will", "parse_broker_url"]


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(slots=True)
class TransportCallbacks:
    on_connect: Callable[[], None]
    on_subscribed: Callable[[], None]  # the broker confirmed the last subscribe() call
    on_disconnect: Callable[[], None]
    on_message: Callable[[str, bytes], None]


class PublishHandle(Protocol):
    def wait(self, timeout: float) -> bool:
        """True once the broker has accepted the message (QoS 1: PUBACK received)."""
        ...


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    def start(self, callbacks: TransportCallbacks) -> None:
        """Begin connecting (and reconnecting forever) in the background."""
        ...

    def subscribe(self, topics: Sequence[str], *, qos: int = 1) -> None: ...

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> PublishHandle:
        ...

    def local_ip(self) -> str | None: ...

    def stop(self, *, last: tuple[str, bytes] | None = None, timeout: float = 3.0) -> None:
        """Publish ``last`` (retained, QoS 1) if connected, disconnect cleanly, stop the thread."""
        ...

    def crash(self) -> None:
        """Drop the connection without DISCONNECT (the broker fires the Will) and stop."""
        ...

    def drop_link(self) -> None:
        """Drop the connection without DISCONNECT and keep going: reconnect with the usual backoff."""
        ...
