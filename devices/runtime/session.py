"""paho-mqtt 2.x implementation of ``Transport``: one network thread per client (paho's loop) or
a shared ``NetLoop`` for many clients, a retained QoS 1 Will, and reconnects spaced by ``Backoff``
(exponential with jitter).

Callbacks do no slow work: the agent hands everything to shared worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.runtime.backoff import Backoff
from devices.runtime.netloop import NetLoop
from devices.runtime.transport import TransportCallbacks, Will, parse_broker_url
from protocol.broker_tls import TlsSettings

log = logging.getLogger(__name__)

# While stopping, park paho's reconnect wait far away; loop_stop() interrupts it anyway.
_PARKED_DELAY = 3600


class _Handle:
    def __init__(self, info: mqtt.MQTTMessageInfo) -> None:
        self._info = info

    def wait(self, timeout: float) -> bool:
        try:
            self._info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return self._info.is_published()


class PahoTransport:
    def __init__(self, *, client_id: str, broker_url: str, will: Will, username: str | None = None,
                 password: str | None = None, keepalive: int = 30, backoff: Backoff | None = None,
                 clean_session: bool = False, max_inflight: int = 1000, netloop: NetLoop | None = None,
                 tls: TlsSettings | None = None) -> None:
        self._addr = parse_broker_url(broker_url)
        # With a shared loop, we (not paho's thread) schedule reconnects on the loop's timers.
        self._netloop = netloop
        self._keepalive = keepalive
        self._backoff = backoff or Backoff()
        self._connected = threading.Event()
        self._stopping = False
        self._started = False
        self._cb: TransportCallbacks | None = None
        # A persistent session (clean_session=False) lets the broker queue commands and acks
        # for a device that is briefly offline.
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session,
                        protocol=mqtt.MQTTv311)
        c.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        if username is not None:
            c.username_pw_set(username, password)
        if self._addr.tls:
            # Verifies the broker against the given CA (or the system store) and checks its host name.
            c.tls_set_context((tls or TlsSettings()).client_context())
        elif tls is not None and tls.has_ca:
            log.warning("%s: a CA is configured but the broker URL %s is not mqtts://: the link is NOT "
                        "encrypted", client_id, broker_url)
        c.max_inflight_messages_set(max_inflight)
        if netloop is not None:
            c.connect_timeout = 3.0  # connects run on the shared loop thread: keep a dead host short
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self._sub_mid: int | None = None
        self._client = c

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self, callbacks: TransportCallbacks) -> None:
        if self._started:
            raise RuntimeError("transport already started")
        self._started = True
        self._cb = callbacks
        self._client.connect_async(self._addr.host, self._addr.port, keepalive=self._keepalive)
        if self._netloop is not None:
            self._netloop.attach(self._client)
            self._netloop.call_later(self._backoff.next(), self._try_connect)
            return
        self._set_delay(self._backoff.next())
        self._client.loop_start()

    def subscribe(self, topics: Sequence[str], *, qos: int = 1) -> None:
        if topics:
            _, self._sub_mid = self._client.subscribe([(t, qos) for t in topics])

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> _Handle:
        return _Handle(self._client.publish(topic, payload, qos=qos, retain=retain))

    def local_ip(self) -> str | None:
        sock = self._client.socket()
        if not isinstance(sock, socket.socket):
            return None
        try:
            return str(sock.getsockname()[0])
        except OSError:
            return None

    def stop(self, *, last: tuple[str, bytes] | None = None, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._stopping = True
        self._set_delay(_PARKED_DELAY)
        if last is not None and self.connected:
            handle = self.publish(last[0], last[1], qos=1, retain=True)
            if not handle.wait(timeout):
                log.warning("final message on %s not confirmed within %.1fs", last[0], timeout)
        self._client.disconnect()
        if self._netloop is not None:
            self._connected.clear()
            self._netloop.call_later(timeout, lambda: self._netloop.detach(self._client) if self._netloop else None)
            return
        self._client.loop_stop()
        self._connected.clear()

    def drop_link(self) -> None:
        """A network blip: the TCP link dies under the client (no DISCONNECT, so the broker fires the
        Will); the session then reconnects on its own with its usual backoff."""
        sock = self._client.socket()
        if self._started and not self._stopping and isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def crash(self) -> None:
        if not self._started:
            return
        self._stopping = True
        self._set_delay(_PARKED_DELAY)
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            # No DISCONNECT packet: the broker sees a dropped link and publishes the Will.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._netloop is not None:
            self._netloop.detach(self._client)
        else:
            self._client.loop_stop()
        self._connected.clear()

    def _try_connect(self) -> None:
        """Shared-loop mode: one connection attempt on the loop thread; on failure, the next later."""
        if self._stopping or self._netloop is None:
            return
        try:
            self._client.reconnect()
        except (OSError, ValueError) as exc:
            log.debug("connect to %s:%s failed: %s", self._addr.host, self._addr.port, exc)
            self._netloop.call_later(self._backoff.next(), self._try_connect)

    # --- paho callbacks (network thread: keep them short) ---------------------------------

    def _set_delay(self, delay: float) -> None:
        if self._netloop is not None:
            return  # no paho thread to steer
        # paho's own wait starts at min_delay and doubles; pinning min == max makes it wait exactly
        # the jittered delay computed by our Backoff.
        self._client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]  # paho hints int; a float works

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("broker %s:%s refused the connection: %s", self._addr.host, self._addr.port,
                        reason_code)
            self._set_delay(self._backoff.next())
            return  # the broker closes the socket next; _on_disconnect schedules the retry
        self._backoff.reset()
        self._connected.set()
        if self._cb is not None and not self._stopping:
            self._cb.on_connect()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self._netloop is not None and not self._stopping:
            self._netloop.call_later(self._backoff.next(), self._try_connect)
        self._set_delay(_PARKED_DELAY if self._stopping else self._backoff.next())
        if was_connected and self._cb is not None and not self._stopping:
            self._cb.on_disconnect()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._set_delay(_PARKED_DELAY if self._stopping else self._backoff.next())

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any) -> None:
        if mid == self._sub_mid and self._cb is not None and not self._stopping:
            self._cb.on_subscribed()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self._cb is not None and not self._stopping:
            self._cb.on_message(msg.topic, bytes(msg.payload))
