"""Turn a raw MQTT message into a typed message or a dead-letter reason. Pure: no I/O."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from hub.ingest.raw import RawMessage
from protocol import events as bodies
from protocol import payloads as p
from protocol import topics
from protocol.topics import Channel


@dataclass(frozen=True, slots=True)
class Accepted:
    raw: RawMessage
    device_id: str
    channel: Channel
    action: str | None
    payload: BaseModel
    body: BaseModel | None = None  # typed Event.data / Request.data where a body model is registered


@dataclass(frozen=True, slots=True)
class Rejected:
    raw: RawMessage
    reason: str
    detail: str
    device_id: str | None = None
    # Event id of a well-formed envelope: the hub still acks it, so the device stops resending.
    ack_event_id: str | None = None


_MODELS: dict[Channel, type[p.Payload]] = {
    Channel.AVAILABILITY: p.Availability,
    Channel.INFO: p.DeviceInfo,
    Channel.STATE: p.DeviceState,
    Channel.HEARTBEAT: p.Heartbeat,
    Channel.EVENTS: p.Event,
    Channel.REQ: p.Request,
    Channel.CMD_ACK: p.CommandAck,
}


def _short(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e["loc"]) or "(root)"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


_PARSED: dict[str, topics.ParsedTopic] = {}


def _parse_topic(topic: str) -> topics.ParsedTopic:
    # Each device publishes on a handful of topics: memoise parses (bounded, valid topics only).
    parsed = _PARSED.get(topic)
    if parsed is None:
        parsed = topics.parse(topic)
        if len(_PARSED) > 100_000:
            _PARSED.clear()
        _PARSED[topic] = parsed
    return parsed


def classify(raw: RawMessage, *, max_bytes: int) -> Accepted | Rejected:
    try:
        parsed = _parse_topic(raw.topic)
    except topics.TopicError as exc:
        return Rejected(raw, "bad_topic", str(exc))
    dev = parsed.device_id
    if parsed.channel in topics.HUB_TO_DEVICE:
        return Rejected(raw, "own_traffic", "hub -> device message", dev)
    model = _MODELS.get(parsed.channel)
    if model is None:
        return Rejected(raw, "bad_topic", f"devices do not publish on {parsed.channel}", dev)
    if len(raw.payload) > max_bytes:
        return Rejected(raw, "oversized", f"{len(raw.payload)} bytes > limit {max_bytes}", dev)
    if not raw.payload and raw.retain:
        # An empty retained message clears a retained topic (e.g. a decommissioned device): not an error.
        return Rejected(raw, "retained_clear", "empty retained payload", dev)
    try:
        payload = model.model_validate_json(raw.payload)
    except ValidationError as exc:
        json_error = any(e["type"] in ("json_invalid", "json_type") for e in exc.errors())
        reason = "malformed_json" if json_error else "schema"
        return Rejected(raw, reason, _short(exc), dev, _event_id_of(raw.payload) if not json_error else None)
    body: BaseModel | None = None
    if isinstance(payload, p.Event):
        try:
            body = bodies.validate_event_data(payload.type, payload.data)
        except KeyError:
            return Rejected(raw, "unknown_event_type", f"event type {payload.type!r} is not in the contract",
                            dev, payload.event_id)
        except ValidationError as exc:
            return Rejected(raw, "schema", f"{payload.type} data: {_short(exc)}", dev, payload.event_id)
    elif isinstance(payload, p.Request):
        req_model = bodies.REQUEST_BODIES.get(parsed.action or "")
        if req_model is None:
            return Rejected(raw, "unknown_request", f"request action {parsed.action!r} is not in the contract",
                            dev)
        try:
            body = req_model.model_validate(payload.data)
        except ValidationError as exc:
            return Rejected(raw, "schema", f"{parsed.action} request: {_short(exc)}", dev)
    return Accepted(raw, dev, parsed.channel, parsed.action, payload, body)


def _event_id_of(payload: bytes) -> str | None:
    """Best effort: the event id of a JSON object that failed the envelope schema."""
    try:
        obj: Any = json.loads(payload)
    except ValueError:
        return None
    if isinstance(obj, dict):
        eid = obj.get("event_id")
        if isinstance(eid, str) and 8 <= len(eid) <= 64 and eid.replace("-", "").replace("_", "").isalnum():
            return eid
    return None
