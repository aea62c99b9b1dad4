"""Event, request and command bodies for the door feature (registered on import)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from protocol.events import Body, command_args, event_body, request_body

# --- door lock ----------------------------------------------------------------------------


class DoorAction(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"
    FORCED_OPEN = "forced_open"
    HELD_OPEN = "held_open"
    DENIED = "denied"


@event_body("door")
class DoorEvent(Body):
    action: DoorAction
    door: str = Field(default="main", min_length=1, max_length=64)
    reason: str = Field(default="", max_length=200)


@command_args("open_door")
class OpenDoorArgs(Body):
    door: str = Field(default="main", min_length=1, max_length=64)
    duration_s: float = Field(default=5.0, ge=0.5, le=60)
    reason: str = Field(default="", max_length=200)


# --- face check-in ------------------------------------------------------------------------
#
# Thin terminals send a face crop on ``req/identify``; the hub detects, encodes, matches with the
# matching policy, checks access (groups, schedules), records the punch once per approach
# (cooldown) and answers on ``res/identify``. The RESPONSE itself is the door decision: the
# terminal opens its lock when ``data.open`` is true (no extra ``open_door`` round trip, so the
# door reacts within one request/response). Response data:
#   decision: accepted | unknown | ambiguous | rejected_quality | denied
#   open: bool, open_for_s: float, employee_id: str | None, distance: float | None,
#   threshold: float, reason: str, punch_recorded: bool
#
# Edge terminals match locally against their synced gallery, open the door themselves (also
# offline) and report a ``punch`` event (outbox, at-least-once) carrying the encoding; the hub
# re-verifies the encoding 1:N against its own gallery before recording, idempotent on
# (device_id, event_id). A punch whose ``device_id`` differs from the topic's device is refused.
#
# Gallery sync: the hub versions every template add/delete. Terminals ask ``req/gallery_sync``
# with the version they hold and get the next page of changes in version order. Templates travel
# AES-256-GCM encrypted under a per-device key (facecore.transit: HKDF of the hub secret with the
# device id); the key itself is returned once in the response when ``want_key`` is set. Only door
# terminals may ask (protocol/senders.py). The key travels only on the device's own ``res`` topic,
# which the broker ACL lets no other device read (use TLS listeners in production). Response data:
#   version: int (hub version after the returned changes), has_more: bool, key: str | None (base64),
#   changes: [{version, op: add|delete, template_id, employee_id, sealed: str | None}],
#   access: {restricted: bool, groups: [{name, members: [employee_id], schedule: [{days, start, end}], tz}]}
#   (the door's access groups and weekly schedules, so an edge terminal enforces "when" offline too)
# ``sync_gallery`` (bodies_fleet) tells a terminal to pull; ``delete_templates`` removes one
# person's templates at once (right to erasure) and is acked with ``{"removed": n}``.

_ID = Field(min_length=1, max_length=64)


class PunchDirectionBody(StrEnum):
    IN = "IN"
    OUT = "OUT"
    AUTO = "AUTO"


@event_body("punch")
class PunchEvent(Body):
    device_id: str = Field(min_length=1, max_length=64, description="The terminal; must equal the topic's")
    employee_id: str = _ID
    encoding: list[float] = Field(min_length=128, max_length=128)
    distance: float = Field(ge=0, le=4)
    threshold: float = Field(gt=0, le=2)
    model_id: str = Field(min_length=1, max_length=64)
    direction: PunchDirectionBody = PunchDirectionBody.AUTO
    door: str = Field(default="main", min_length=1, max_length=64)
    gallery_version: int = Field(default=0, ge=0)
    face_px: int = Field(default=0, ge=0, le=10_000)
    offline: bool = Field(default=False, description="The terminal was disconnected when it decided")


@request_body("identify")
class IdentifyRequest(Body):
    image_b64: str = Field(min_length=4, max_length=400_000, description="JPEG/PNG face crop, base64")
    door: str = Field(default="main", min_length=1, max_length=64)
    direction: PunchDirectionBody = PunchDirectionBody.AUTO
    stream: bool = Field(default=False, description="A frame of a camera stream: the hub opens only once "
                         "frames_required of this terminal's last frames_window frames name the same person "
                         "(decision 'voting' until then). False: a single still decides alone.")


@request_body("gallery_sync")
class GallerySyncRequest(Body):
    since_version: int = Field(default=0, ge=0)
    limit: int = Field(default=200, ge=1, le=400, description="changes per page (≈ 0.8 kB each)")
    want_key: bool = False


@command_args("delete_templates")
class DeleteTemplatesArgs(Body):
    employee_id: str = _ID
    template_ids: list[str] = Field(default_factory=list, max_length=1000)
    version: int = Field(ge=0, description="Hub gallery version after the deletion")
