"""The bounded inbox between the hub's MQTT thread and the ingest writer (backpressure).

How the hub holds back when the database cannot keep up (or is down)
--------------------------------------------------------------------
paho keeps acking at the MQTT level as soon as ``on_message`` returns (its automatic PUBACK), and
the inbox *refuses* new events once it holds ``max_messages`` messages or ``max_bytes`` bytes.
A refused event is safe to drop: an event's proof of storage is the application-level ack on
``devices/{id}/events/ack``, sent only after the batch commits (DESIGN §2). A device deletes an
event from its on-disk outbox on that ack alone, never on a PUBACK, and re-sends what is not acked;
so what the hub refuses is still on the device and arrives again later. Nothing acked is ever in
memory only: acks follow commits.

Re-sends of an event the hub already holds (queued, or in the batch the writer is retrying) are
collapsed: a device that re-sends its whole window every few seconds during a database outage costs
a set lookup, not another copy in memory. The key is ``(topic, event_id)`` (topic = one device),
read from the payload's bytes without parsing JSON, because this runs on the MQTT thread for every
message; a payload where the id cannot be found that way is keyed by its bytes. The key is only a
hint: if two different events ever shared one, the second is simply not acked this time and comes
again, as a refused one does.

Messages other than events (availability, info, state, heartbeats, requests, command acks) have no
application-level re-send, so they get headroom above the event limit (``other_headroom``) and are
only dropped past it (counted, logged): heartbeats recur, a device re-publishes info/state/availability
on every reconnect, requests time out on the device and are asked again.

Why not the other two ways of holding back:
- *paho manual ack* (``manual_ack=True``, PUBACK after commit): in MQTT 3.1.1 a broker re-delivers an
  un-acked QoS 1 message only when the client reconnects, and every un-acked message holds one of the
  broker's in-flight slots for this client (Mosquitto's ``max_inflight_messages``, 20 by default).
  Dropping un-acked messages when full would therefore stall delivery until a reconnect, and PUBACKs
  must leave in the order the PUBLISHes came (§4.6), which a dropped one breaks. Holding them all
  instead bounds nothing when the broker's window is unlimited (as our Mosquitto settings and amqtt
  have it), and with a finite window, acking after the commit caps the ingest at one window per
  commit.
- *blocking or pausing the paho loop*: the same thread sends PINGREQ, PUBACKs and everything the hub
  publishes (event acks, commands, responses). Paused for a long outage, the hub misses keepalives and
  the broker drops it, commands and acks stall, and the queue moves into the broker, whose limits
  differ: Mosquitto drops QoS 1 messages past ``max_queued_messages`` (1000 by default) and amqtt
  buffers in its asyncio writers.
Refusing at the application level relies on nothing broker-specific, so it behaves the same with
Mosquitto and the embedded amqtt broker, and the hub stays a fast, always-reading subscriber.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass

from hub.ingest.raw import RawMessage
from protocol.topics import is_events_topic

log = logging.getLogger(__name__)

# Rough Python overhead per held message (RawMessage, datetime, bytes and str headers), so the byte
# limit tracks memory rather than payload sizes only.
MESSAGE_OVERHEAD_BYTES = 200
_EVENT_ID = b'"event_id":"'
_LOG_EVERY_S = 10.0


def event_key(topic: str, payload: bytes) -> tuple[str, bytes]:
    """``(topic, event_id)`` found in the envelope's bytes; the whole payload when it is not there."""
    i = payload.find(_EVENT_ID, 0, 512)  # the envelope puts the id near the front
    if i >= 0:
        start = i + len(_EVENT_ID)
        end = payload.find(b'"', start, start + 80)
        if end > start:
            return topic, payload[start:end]
    return topic, payload


@dataclass
class InboxStats:
    collapsed: int = 0          # re-sends of an event already held
    refused_events: int = 0     # the device keeps them and sends again
    dropped_other: int = 0      # non-event messages past the headroom
    high_water: int = 0         # largest backlog seen


class BoundedInbox:
    """FIFO of raw MQTT messages, bounded in messages and bytes, with event re-sends collapsed.

    ``offer`` runs on the MQTT thread and never blocks. The writer takes messages with ``get`` and
    calls ``done`` once their batch is stored: until then they count against the bound and their
    keys stay held, so re-sends of a batch the writer is retrying are collapsed too.
    """

    def __init__(self, *, max_messages: int, max_bytes: int, other_headroom: float = 0.25) -> None:
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("the inbox needs room for at least one message")
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._other_max_messages = max_messages + max(1, int(max_messages * other_headroom))
        self._other_max_bytes = max_bytes + max(1, int(max_bytes * other_headroom))
        # Each entry carries its key and size, so releasing it computes nothing again.
        self._q: queue.SimpleQueue[tuple[RawMessage, tuple[str, bytes] | None, int]] = queue.SimpleQueue()
        self._keys: set[tuple[str, bytes]] = set()
        # No lock on this hot path: each counter has one writer (``_in_*``: the MQTT thread in
        # ``offer``; ``_out_*``: the writer thread in ``done``), and under the GIL an int store or a
        # set add/discard of str/bytes tuples is atomic. A reader may see the backlog one batch behind.
        self._in_count = self._in_bytes = 0
        self._out_count = self._out_bytes = 0
        # Taken by the writer (``get``) and not released yet (``done``): writer thread only.
        self._taken_keys: list[tuple[str, bytes]] = []
        self._taken_count = self._taken_bytes = 0
        self.stats = InboxStats()
        self._last_refusal = 0.0
        self._last_log = 0.0
        self._unlogged = 0

    # MQTT thread --------------------------------------------------------------------------------
    def offer(self, msg: RawMessage) -> bool:
        """Hold ``msg`` for the writer; False when it was refused or collapsed into one already held."""
        topic, payload = msg.topic, msg.payload
        size = len(payload) + len(topic) + MESSAGE_OVERHEAD_BYTES
        count = self._in_count - self._out_count
        held = self._in_bytes - self._out_bytes
        # An empty inbox takes any one message, so a single large one is never refused forever.
        key: tuple[str, bytes] | None = None
        if is_events_topic(topic):
            key = event_key(topic, payload)
            if key in self._keys:
                self.stats.collapsed += 1
                return False
            if count and (count >= self.max_messages or held + size > self.max_bytes):
                self._refuse(event=True)
                return False
            self._keys.add(key)
        elif count and (count >= self._other_max_messages or held + size > self._other_max_bytes):
            self._refuse(event=False)
            return False
        self._in_count += 1
        self._in_bytes += size
        if count >= self.stats.high_water:
            self.stats.high_water = count + 1
        self._q.put((msg, key, size))
        return True

    def _refuse(self, *, event: bool) -> None:
        # Logs at most every few seconds, whatever the message rate.
        if event:
            self.stats.refused_events += 1
        else:
            self.stats.dropped_other += 1
        now = time.monotonic()
        self._last_refusal = now
        self._unlogged += 1
        if now - self._last_log >= _LOG_EVERY_S:
            log.warning("ingest inbox full (%d messages, %.1f MiB held; limits %d, %.1f MiB): refused %d "
                        "message(s) since the last report (devices keep refused events and send them again); "
                        "totals: %d events refused, %d other messages dropped",
                        self.backlog, self.backlog_bytes / 2**20, self.max_messages, self.max_bytes / 2**20,
                        self._unlogged, self.stats.refused_events, self.stats.dropped_other)
            self._last_log = now
            self._unlogged = 0

    # writer thread ------------------------------------------------------------------------------
    def get(self, timeout: float) -> RawMessage:
        """The oldest message; ``queue.Empty`` after ``timeout`` seconds."""
        return self._taken(self._q.get(timeout=timeout))

    def get_nowait(self) -> RawMessage:
        return self._taken(self._q.get_nowait())

    def _taken(self, entry: tuple[RawMessage, tuple[str, bytes] | None, int]) -> RawMessage:
        msg, key, size = entry
        if key is not None:
            self._taken_keys.append(key)
        self._taken_count += 1
        self._taken_bytes += size
        return msg

    def empty(self) -> bool:
        """Nothing waiting to be taken (messages taken but not ``done`` do not count)."""
        return self._q.empty()

    def done(self) -> None:
        """Release every message taken with ``get`` so far, once their batch is stored (or given up):
        until then they count against the bound and re-sends of them are collapsed."""
        self._keys.difference_update(self._taken_keys)
        self._taken_keys = []
        self._out_bytes += self._taken_bytes
        self._out_count += self._taken_count
        self._taken_count = self._taken_bytes = 0

    # observers ----------------------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        """Messages held: waiting, plus taken by the writer and not stored yet."""
        return self._in_count - self._out_count

    @property
    def backlog_bytes(self) -> int:
        return self._in_bytes - self._out_bytes

    def refusing(self, *, within_s: float = 10.0) -> bool:
        """Whether the inbox refused a message in the last ``within_s`` seconds."""
        return self._last_refusal > 0 and time.monotonic() - self._last_refusal < within_s
