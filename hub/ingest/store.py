"""One ingest batch in one transaction: registry updates, idempotent event inserts, dead letters,
command acks. Returns what to ack and what to hand to features once the transaction commits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hub.db.models.core import DeadLetter, DeviceCommand
from hub.domain.biometrics import without_biometrics
from hub.ingest.classify import Accepted, Rejected
from hub.ingest.event_insert import insert_events
from hub.ingest.handlers import DeviceChange, DeviceRefusal, StoredEvent
from hub.ingest.registry_updates import (
    KindChangeRefused,
    UnknownDevice,
    apply_device_message,
    known_device_kinds,
)
from protocol import payloads as p
from protocol.senders import EVENT_SENDERS, REQUEST_SENDERS, may_send, refusal
from protocol.topics import Channel

DEAD_LETTER_KEEP_BYTES = 64 * 1024
# Device ack status -> command state.
ACK_STATES = {"ok": "acked", "error": "failed", "expired": "expired", "unsupported": "failed"}
IGNORED_REASONS = frozenset({"retained_clear", "own_traffic"})
REGISTRY_CHANNELS = (Channel.AVAILABILITY, Channel.INFO, Channel.STATE, Channel.HEARTBEAT)


@dataclass
class BatchOutcome:
    acks: dict[str, list[str]] = field(default_factory=dict)
    new_events: list[StoredEvent] = field(default_factory=list)
    device_changes: list[DeviceChange] = field(default_factory=list)
    requests: list[Accepted] = field(default_factory=list)
    refused_requests: list[tuple[Accepted, str]] = field(default_factory=list)
    command_acks: list[tuple[str, str, p.CommandAck]] = field(default_factory=list)
    refusals: list[DeviceRefusal] = field(default_factory=list)
    dead_letters: int = 0
    duplicates: int = 0
    stored: int = 0

    def merge(self, other: BatchOutcome) -> BatchOutcome:
        for device_id, ids in other.acks.items():
            self.acks.setdefault(device_id, []).extend(ids)
        self.new_events += other.new_events
        self.device_changes += other.device_changes
        self.requests += other.requests
        self.refused_requests += other.refused_requests
        self.command_acks += other.command_acks
        self.refusals += other.refusals
        self.dead_letters += other.dead_letters
        self.duplicates += other.duplicates
        self.stored += other.stored
        return self


def _kept_payload(payload: bytes) -> bytes:
    """What a dead letter keeps of a payload: a face encoding in it (a refused punch) is biometric
    data, which the hub keeps only encrypted and only until a punch is decided, so it is redacted."""
    if b'"encoding"' in payload:
        try:
            obj = json.loads(payload)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            payload = json.dumps(without_biometrics(obj)).encode()
    return bytes(payload[:DEAD_LETTER_KEEP_BYTES])


def _dead_letter(session: Session, rej: Rejected) -> None:
    session.add(DeadLetter(received_at=rej.raw.received_at, topic=rej.raw.topic[:512], device_id=rej.device_id,
                           reason=rej.reason, detail=rej.detail[:4000], size=len(rej.raw.payload),
                           payload=_kept_payload(rej.raw.payload)))


def persist_batch(session: Session, items: list[Accepted | Rejected], *, handled_types: frozenset[str],
                  quiet_types: frozenset[str], auto_register: bool) -> BatchOutcome:
    out = BatchOutcome()
    events: list[Accepted] = []
    # Registry messages first so a birth message and the events behind it can share a batch.
    for item in items:
        if isinstance(item, Rejected):
            if item.reason not in IGNORED_REASONS:
                _dead_letter(session, item)
                out.dead_letters += 1
            if item.ack_event_id and item.device_id:
                events_to_ack = out.acks.setdefault(item.device_id, [])
                events_to_ack.append(item.ack_event_id)
            continue
        if item.channel in REGISTRY_CHANNELS:
            try:
                change = apply_device_message(session, device_id=item.device_id, payload=item.payload,  # type: ignore[arg-type]  # Accepted.payload is BaseModel
                                              at=item.raw.received_at, retained=item.raw.retain,
                                              auto_register=auto_register)
            except UnknownDevice as exc:
                _dead_letter(session, Rejected(item.raw, "unknown_device", f"device {exc} is not registered",
                                               item.device_id))
                out.dead_letters += 1
                continue
            except KindChangeRefused as exc:
                _dead_letter(session, Rejected(item.raw, "kind_change", str(exc), item.device_id))
                out.dead_letters += 1
                out.refusals.append(DeviceRefusal(item.device_id, "kind_change", str(exc), exc.stored, "info"))
                continue
            if change:
                out.device_changes.append(change)
        elif item.channel == Channel.EVENTS:
            events.append(item)
        elif item.channel == Channel.REQ:
            out.requests.append(item)
        elif item.channel == Channel.CMD_ACK:
            assert isinstance(item.payload, p.CommandAck)
            cmd = session.get(DeviceCommand, item.payload.command_id)
            if cmd is None or cmd.device_id != item.device_id:
                _dead_letter(session, Rejected(item.raw, "unknown_command",
                                               f"no command {item.payload.command_id} for {item.device_id}",
                                               item.device_id))
                out.dead_letters += 1
                continue
            # The device's ack is what happened: it also overrides what the hub assumed meanwhile
            # (timed out, expired, canceled after it had been sent); only a first ack is final.
            if cmd.finished_at is None or cmd.state in ("timed_out", "sent", "pending", "expired", "canceled"):
                ack = item.payload
                cmd.state = ACK_STATES[ack.status.value]
                cmd.finished_at, cmd.result, cmd.error = ack.ts, ack.result, ack.error
                out.command_acks.append((item.device_id, cmd.name, ack))
    session.flush()

    device_ids = {e.device_id for e in events} | {r.device_id for r in out.requests}
    known = known_device_kinds(session, device_ids)
    for req in list(out.requests):
        if req.device_id not in known:
            out.requests.remove(req)
            out.refused_requests.append((req, f"device {req.device_id} is not registered"))
            continue
        kind, senders = known[req.device_id], REQUEST_SENDERS.get(req.action or "")
        if not may_send(kind, senders):
            # One rule for every request (protocol/senders.py), before any feature handler runs.
            code, reason = refusal(kind, f"request {req.action}", senders)
            out.requests.remove(req)
            out.refused_requests.append((req, reason))
            if kind is not None:
                out.refusals.append(DeviceRefusal(req.device_id, code, reason, kind, f"request {req.action}"))
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for acc in events:
        ev = acc.payload
        assert isinstance(ev, p.Event)
        if acc.device_id not in known:
            # Not acked: the device keeps the event and delivers it once it is registered.
            _dead_letter(session, Rejected(acc.raw, "unknown_device",
                                           f"event {ev.event_id} from unregistered device {acc.device_id}",
                                           acc.device_id))
            out.dead_letters += 1
            continue
        kind, senders = known[acc.device_id], EVENT_SENDERS.get(ev.type)
        if not may_send(kind, senders):
            code, reason = refusal(kind, f"event {ev.type}", senders)
            _dead_letter(session, Rejected(acc.raw, code, reason, acc.device_id))
            if kind is not None:  # never acceptable from this device: acked so it stops resending
                out.acks.setdefault(acc.device_id, []).append(ev.event_id)
                out.refusals.append(DeviceRefusal(acc.device_id, code, reason, kind, f"event {ev.type}"))
            # else not announced yet: not acked, so the device delivers it again once its kind is known
            out.dead_letters += 1
            continue
        out.acks.setdefault(acc.device_id, []).append(ev.event_id)
        if (acc.device_id, ev.event_id) in seen:
            out.duplicates += 1
            continue
        seen.add((acc.device_id, ev.event_id))
        handled = ev.type in handled_types
        rows.append({"device_id": acc.device_id, "event_id": ev.event_id, "seq": ev.seq, "type": ev.type,
                     "boot_id": ev.boot_id, "device_ts": ev.device_ts, "received_at": acc.raw.received_at,
                     "data": ev.data, "processed_at": None if handled else acc.raw.received_at})
    if rows:
        new = insert_events(session, rows)
        out.stored = len(new)
        out.duplicates += len(rows) - len(new)
        # Quiet types (no handler, not on the live feed) are not handed back one by one.
        out.new_events = [StoredEvent(None, r["device_id"], r["event_id"], r["seq"], r["type"], r["device_ts"],
                                      r["received_at"], r["data"])
                          for r in rows if (r["device_id"], r["event_id"]) in new
                          and (r["type"] in handled_types or r["type"] not in quiet_types)]
    return out
