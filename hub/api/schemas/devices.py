"""Device, event and dead-letter schemas (public views: no credentials)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.api.schemas.types import Finite, JsonObject, Line
from hub.domain.biometrics import without_biometrics


class DevicePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str | None
    model: str | None
    firmware: str | None
    online: bool
    last_seen: datetime | None
    ip: str | None
    uptime_s: float | None
    capabilities: list[str]
    outbox_depth: int | None
    reported_state: dict[str, Any]
    reported_config_version: int | None
    revoked: bool
    created_at: datetime


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    device_id: str
    event_id: str
    seq: int
    type: str
    device_ts: datetime
    received_at: datetime
    data: dict[str, Any]
    processed_at: datetime | None
    process_error: str | None

    @field_validator("data")
    @classmethod
    def _no_biometrics(cls, v: dict[str, Any]) -> dict[str, Any]:
        return without_biometrics(v)  # an edge punch's face encoding is never shown


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: int | None


class DeadLetterPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    topic: str
    device_id: str | None
    reason: str
    detail: str
    size: int
    payload_preview: str


class CommandCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(max_length=64)
    args: JsonObject = {}
    ttl_s: Finite | None = Field(default=None, gt=0, le=30 * 86400, description="Default: the hub's command TTL")
    ack_timeout_s: Finite = Field(default=30, gt=0, le=86400)


class CommandPublic(BaseModel):
    id: str
    device_id: str
    name: str
    args: dict[str, Any]
    state: str
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime
    finished_at: datetime | None
    result: dict[str, Any]
    error: str | None
    attempts: int
    created_by: str
