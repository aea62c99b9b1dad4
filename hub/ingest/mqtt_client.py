"""The hub's MQTT session: a paho client whose callbacks only enqueue.

Retained ``hub/state`` with a Will; a persistent session (clean_session=False) so the broker queues
device traffic while the hub restarts; optional shared subscriptions for several replicas. Incoming
messages go to a bounded inbox that refuses events when full (see ``hub.ingest.inbox`` for why this,
and not manual PUBACKs or a paused loop, is how the hub holds back).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from hub.ingest.raw import RawMessage
from protocol import topics
from protocol.broker_tls import TlsSettings, parse_broker_url
from protocol.payloads import AvailabilityStatus, HubState

if TYPE_CHECKING:
    from hub.ingest.inbox import BoundedInbox

log = logging.getLogger(__name__)


class HubMqtt:
    """Owns the paho client; thread-safe ``publish``; incoming messages go to ``inbox``."""

    def __init__(self, *, url: str, client_id: str, inbox: BoundedInbox,
                 username: str | None = None, password: str | None = None,
                 share_group: str | None = None, tls: TlsSettings | None = None) -> None:
        self.address = parse_broker_url(url)
        self.inbox = inbox
        self.share_group = share_group
        self._connected = threading.Event()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                   clean_session=False, protocol=mqtt.MQTTv311)
        if username:
            self._client.username_pw_set(username, password)
        if self.address.tls:  # verified (CA, host name) as devices do: protocol/broker_tls.py
            self._client.tls_set_context((tls or TlsSettings()).client_context())
        self._client.max_inflight_messages_set(1000)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=15)
        will = HubState(status=AvailabilityStatus.OFFLINE).to_bytes()
        self._client.will_set(topics.hub_state(), will, qos=1, retain=True)
        self._sub_mid: int | None = None
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # paho callbacks: no work beyond enqueueing ------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _ud: object, _flags: object, rc: object,
                    _props: object = None) -> None:
        if getattr(rc, "is_failure", False):
            log.error("broker refused the hub connection: %s", rc)
            return
        subs = [(self._filter(t), 1) for t in topics.HUB_SUBSCRIPTIONS]
        _rc, self._sub_mid = client.subscribe(subs)
        log.info("hub connected to broker %s:%s", self.address.host, self.address.port)

    def _on_subscribe(self, client: mqtt.Client, _ud: object, mid: int, reason_codes: list[Any],
                      _props: object = None) -> None:
        if mid != self._sub_mid:
            return
        if any(getattr(rc, "is_failure", False) for rc in reason_codes):
            log.error("broker refused the hub's subscriptions: %s (check the hub account's ACL)", reason_codes)
            return
        # "Connected" means subscribed: a device message published before the SUBACK would miss us.
        client.publish(topics.hub_state(), HubState(status=AvailabilityStatus.ONLINE).to_bytes(), qos=1,
                       retain=True)
        self._connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _ud: object, _flags: object, rc: object,
                       _props: object = None) -> None:
        self._connected.clear()
        log.warning("hub disconnected from broker (%s); paho reconnects with backoff", rc)

    def _on_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        # Never blocks: a full inbox refuses (the device keeps the event), see hub.ingest.inbox.
        self.inbox.offer(RawMessage(msg.topic, bytes(msg.payload), bool(msg.retain), datetime.now(UTC)))

    def _filter(self, topic_filter: str) -> str:
        return f"$share/{self.share_group}/{topic_filter}" if self.share_group else topic_filter

    # public API -----------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        # connect_async + loop_start: the hub starts even while the broker is still down.
        self._client.connect_async(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Queue a publish; False when the broker is unreachable right now (caller keeps state)."""
        if not self.connected:
            return False
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def stop(self, *, graceful: bool = True) -> None:
        if graceful and self.connected:
            info = self._client.publish(topics.hub_state(),
                                        HubState(status=AvailabilityStatus.OFFLINE).to_bytes(),
                                        qos=1, retain=True)
            deadline = time.monotonic() + 2
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.02)
        self._client.disconnect()
        self._client.loop_stop()
