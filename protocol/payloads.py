"""Versioned payload envelopes of the MQTT contract (see docs/mqtt-api.md).

Envelopes reject unknown keys so a typo in a device firmware is a clear error,
not a silently dropped field. Per-type event, request and command bodies live in
``protocol.events`` / ``protocol.commands`` registries.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Larger payloads are refused by the hub (dead letter). Print files and firmware travel over HTTP.
MAX_PAYLOAD_BYTES = 512 * 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)

    v: Literal[1] = 1  # == PROTOCOL_VERSION; bump both together

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


class DeviceKind(StrEnum):
    DOOR_TERMINAL = "door_terminal"
    PRINT_BOX = "print_box"


class AvailabilityStatus(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Availability(Payload):
    """Retained; the device's Will publishes the offline variant with the same boot_id."""

    status: AvailabilityStatus
    boot_id: str = Field(min_length=1, max_length=64)
    ts: AwareDatetime = Field(default_factory=utcnow)


class HubState(Payload):
    status: AvailabilityStatus
    ts: AwareDatetime = Field(default_factory=utcnow)


class DeviceInfo(Payload):
    """Retained birth message: what the device is."""

    kind: DeviceKind
    model: str = Field(max_length=128)
    firmware: str = Field(max_length=64)
    capabilities: list[str] = Field(default_factory=list, max_length=64)
    boot_id: str = Field(min_length=1, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    started_at: AwareDatetime = Field(default_factory=utcnow)


class DeviceState(Payload):
    """Retained reported configuration and live state."""

    ts: AwareDatetime = Field(default_factory=utcnow)
    config_version: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    live: dict[str, Any] = Field(default_factory=dict)


class Heartbeat(Payload):
    ts: AwareDatetime = Field(default_factory=utcnow)
    boot_id: str = Field(min_length=1, max_length=64)
    uptime_s: float = Field(ge=0)
    ip: str | None = Field(default=None, max_length=64)
    outbox_depth: int = Field(default=0, ge=0)


class Event(Payload):
    """A device event. ``(device_id, event_id)`` is unique; ``seq`` grows per device."""

    event_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    seq: int = Field(ge=1)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    device_ts: AwareDatetime
    boot_id: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)


class EventAck(Payload):
    """Hub -> device: these events are stored; the device may drop them from its outbox."""

    event_ids: list[str] = Field(min_length=1, max_length=10_000)


class Request(Payload):
    """Device -> hub request on ``req/{action}``; answered on ``res/{action}`` with the same transaction."""

    transaction: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)


class ResponseStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


class Response(Payload):
    transaction: str = Field(min_length=1, max_length=64)
    status: ResponseStatus
    data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class Command(Payload):
    """Hub -> device command. Never retained; the device refuses it after ``expires_at``."""

    command_id: str = Field(min_length=8, max_length=64)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    args: dict[str, Any] = Field(default_factory=dict)
    issued_at: AwareDatetime = Field(default_factory=utcnow)
    expires_at: AwareDatetime


class CommandAckStatus(StrEnum):
    OK = "ok"
    ERROR = "error"
    EXPIRED = "expired"
    UNSUPPORTED = "unsupported"


class CommandAck(Payload):
    command_id: str = Field(min_length=8, max_length=64)
    status: CommandAckStatus
    result: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    ts: AwareDatetime = Field(default_factory=utcnow)
