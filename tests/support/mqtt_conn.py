"""A small paho connection for broker ACL tests: records CONNACK, disconnects, messages and SUBACKs,
and never retries quietly after a refusal."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.fixtures.secure_mosquitto import SecureMosquitto

WAIT = 10.0  # bounded waits for broker round trips, not timing assertions


@dataclass
class Conn:
    client: mqtt.Client
    connack: ReasonCode | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)
    messages: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    subacks: queue.Queue[list[ReasonCode]] = field(default_factory=queue.Queue)

    def subscribe(self, topic: str) -> ReasonCode:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=WAIT)[0]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT)

    def receive(self) -> tuple[str, bytes]:
        return self.messages.get(timeout=WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(broker: SecureMosquitto, username: str, password: str | None, client_id: str) -> Conn:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    conn = Conn(client)
    client.username_pw_set(username, password)

    def on_connect(c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, props: Any = None) -> None:
        conn.connack = rc
        conn.connected.set()

    def on_disconnect(c: mqtt.Client, u: Any, flags: Any, rc: ReasonCode, props: Any = None) -> None:
        conn.disconnected.set()
        conn.connected.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = lambda c, u, m: conn.messages.put((m.topic, bytes(m.payload)))
    client.on_subscribe = lambda c, u, mid, rcs, props=None: conn.subacks.put(list(rcs))
    client.reconnect_delay_set(60, 120)  # a refused client must not quietly retry during the test
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    assert conn.connected.wait(WAIT), "no CONNACK"
    return conn
