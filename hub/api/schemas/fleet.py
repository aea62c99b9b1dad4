"""Fleet API schemas: claims, provisioning, registry attributes, config, firmware, rollouts, alerts, webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, RootModel

from hub.api.schemas.devices import DevicePublic
from hub.api.schemas.types import Finite, Id, Int, JsonObject, Line, NonNegInt, Text

_NAME = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
Tag = Annotated[Line, Field(min_length=1, max_length=64)]


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_kind: Literal["door_terminal", "print_box"]
    group: str | None = _NAME
    location: Line | None = Field(default=None, max_length=128)
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    ttl_s: Finite = Field(default=24 * 3600, gt=0, le=30 * 86400)
    device_id: Line | None = Field(default=None, max_length=64, description="Pre-assign this device id")


class ClaimIssued(BaseModel):
    """The token is shown once; the hub keeps only its hash."""

    claim_id: int
    token: str
    device_kind: str
    group: str | None
    expires_at: datetime


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Line = Field(min_length=8, max_length=200)
    device_kind: Literal["door_terminal", "print_box"] | None = None
    device_id: Line | None = Field(default=None, max_length=64, description="e.g. the serial number")


class MqttCredentials(BaseModel):
    url: str
    client_id: str
    username: str | None
    password: str | None


class ClaimResult(BaseModel):
    device_id: str
    kind: str
    group: str | None
    broker_auth: Literal["dynsec", "none"]
    mqtt: MqttCredentials
    firmware_public_key: str
    hub_url: str
    ca_pem: str | None = Field(default=None, description="PEM CA the device should trust for the broker (mqtts) "
                               "and the hub's HTTPS; null: public CAs")
    note: str


class RevokeResult(BaseModel):
    device_id: str
    revoked: bool
    broker_auth: str
    cancelled_commands: int


class DeviceFleetPublic(DevicePublic):
    group: str | None
    location: str | None
    tags: list[str]


class DeviceFleetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str | None = _NAME
    location: Line | None = Field(default=None, max_length=128)
    tags: list[Tag] | None = Field(default=None, max_length=32)


class ConfigPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: JsonObject = Field(description="Device overrides to set; null removes an override")
    expected_version: NonNegInt | None = Field(default=None, description="409 if the version moved on")


class ConfigLayerPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: JsonObject


class ConfigView(BaseModel):
    device_id: str
    kind: str | None
    version: int
    desired: dict[str, Any]
    reported: dict[str, Any]
    reported_version: int | None
    in_sync: bool
    drift: dict[str, dict[str, Any]]
    overrides: dict[str, Any]
    layers: list[dict[str, Any]]


class FirmwarePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    version: str
    filename: str
    size: int
    sha256: str
    model: str | None = None
    min_version: str | None = None
    signature: str = Field(description="base64 Ed25519 over the canonical manifest (protocol.firmware)")
    notes: str
    created_at: datetime
    created_by: str


class RolloutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    firmware_id: Id
    group: str | None = _NAME
    device_ids: list[Line] | None = Field(default=None, max_length=100_000)
    stages: list[Int] = Field(default_factory=lambda: [5, 25, 100], min_length=1, max_length=20)
    success_threshold_pct: Finite = 100.0
    failure_threshold_pct: Finite = 10.0
    min_executed: Int = 1
    device_timeout_s: Finite = 3600.0
    start: bool = True


class RolloutAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = Field(default=None, max_length=500)


class RolloutPublic(BaseModel):
    id: str
    firmware_id: int
    target_version: str
    group: str | None
    kind: str
    state: str
    stage: int
    plan: dict[str, Any]
    reason: str | None
    created_at: datetime
    updated_at: datetime
    created_by: str
    counts: dict[str, int] | None = None
    devices: list[dict[str, Any]] | None = None


class ClaimPublic(BaseModel):
    """An issued claim as listed: never its token (only a hash of it is stored)."""

    claim_id: int
    device_kind: str
    group: str | None
    device_id: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None
    created_by: str


class ConfigLayerPublic(BaseModel):
    scope: str
    name: str
    kind: str
    values: dict[str, Any]


class ConfigLayerSaved(ConfigLayerPublic):
    devices_updated: list[str]  # devices whose desired config changed and was pushed


class ConfigSchema(RootModel[dict[str, Any]]):
    """The JSON Schema of a device kind's config (ranges and units), for the console's form."""


class FirmwareKey(BaseModel):
    algorithm: Literal["ed25519"]
    public_key: str  # base64


class AlertPublic(BaseModel):
    id: int
    kind: str
    severity: str
    device_id: str | None
    message: str
    details: dict[str, Any]
    state: str
    count: int
    created_at: datetime
    last_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    kinds: list[Line] = Field(default_factory=list, max_length=64, description="Alert kinds; empty = all")
    secret: Line | None = Field(default=None, min_length=16, max_length=128,
                               description="HMAC key; generated (and shown once) when omitted")


class WebhookPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    kinds: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str


class DeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    webhook_id: int
    event: str
    state: str
    attempts: int
    status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
