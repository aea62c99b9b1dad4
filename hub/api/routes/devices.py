"""Device registry (filters: kind, online, group, tag, location, firmware, q) and device commands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, or_, select

from hub.api.deps import AdminUser, OperatorUser, RuntimeDep, SessionDep, get_fleet
from hub.api.schemas.common import Page
from hub.api.schemas.devices import CommandCreate, CommandPublic, DevicePublic
from hub.api.schemas.fleet import DeviceFleetPublic, DeviceFleetUpdate
from hub.api.schemas.types import Line, NonNegInt
from hub.auth.command_rights import raw_command_refusal
from hub.db.models.core import Device, DeviceCommand
from hub.db.models.fleet import DeviceTag, FleetDevice
from hub.services.audit import audit
from hub.services.commands import command_public
from hub.services.fleet.provisioning import ensure_fleet_row, set_tags
from protocol.events import COMMAND_ARGS

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _with_fleet(dev: Device, fleet: FleetDevice | None) -> DeviceFleetPublic:
    base = DevicePublic.model_validate(dev).model_dump()
    return DeviceFleetPublic(**base, group=fleet.group if fleet else None,
                             location=fleet.location if fleet else None, tags=list(fleet.tags) if fleet else [])


@router.get("", response_model=Page[DeviceFleetPublic])
def list_devices(
    _: OperatorUser, db: SessionDep,
    kind: Line | None = None, online: bool | None = None,
    group: Annotated[Line | None, Query(max_length=64)] = None,
    tag: Annotated[Line | None, Query(max_length=64)] = None,
    location: Annotated[Line | None, Query(max_length=128)] = None,
    firmware: Annotated[Line | None, Query(max_length=64)] = None,
    revoked: bool | None = None,
    q: Annotated[Line | None, Query(max_length=100, description="substring of id, model or location")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500, offset: NonNegInt = 0,
) -> Page[DeviceFleetPublic]:
    stmt = select(Device, FleetDevice).outerjoin(FleetDevice, FleetDevice.device_id == Device.id)
    if kind:
        stmt = stmt.where(Device.kind == kind)
    if online is not None:
        stmt = stmt.where(Device.online.is_(online))
    if revoked is not None:
        stmt = stmt.where(Device.revoked.is_(revoked))
    if firmware:
        stmt = stmt.where(Device.firmware == firmware)
    if group:
        stmt = stmt.where(FleetDevice.group == group)
    if location:
        stmt = stmt.where(FleetDevice.location == location)
    if tag:
        stmt = stmt.where(Device.id.in_(select(DeviceTag.device_id).where(DeviceTag.tag == tag)))
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Device.id.ilike(like), Device.model.ilike(like), FleetDevice.location.ilike(like)))
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.execute(stmt.order_by(Device.id).limit(limit).offset(offset)).all()
    return Page[DeviceFleetPublic](items=[_with_fleet(d, f) for d, f in rows], total=total, limit=limit,
                                   offset=offset)


@router.get("/{device_id}", response_model=DeviceFleetPublic)
def get_device(_: OperatorUser, db: SessionDep, device_id: Line) -> DeviceFleetPublic:
    dev = db.get(Device, device_id)
    if dev is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    return _with_fleet(dev, db.get(FleetDevice, device_id))


@router.patch("/{device_id}", response_model=DeviceFleetPublic)
def update_device(user: AdminUser, rt: RuntimeDep, db: SessionDep, device_id: Line,
                  body: DeviceFleetUpdate) -> DeviceFleetPublic:
    """Registry attributes: group, location, tags (a group change re-applies the group's config layer)."""
    dev = db.get(Device, device_id)
    if dev is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    fleet = ensure_fleet_row(db, device_id)
    changes = body.model_dump(exclude_unset=True)
    if "group" in changes:
        fleet.group = body.group
    if "location" in changes:
        fleet.location = body.location
    if body.tags is not None:
        set_tags(db, device_id, body.tags)
    audit(db, actor=user.username, action="device.update", target_type="device", target_id=device_id,
          detail=changes)
    db.commit()
    if "group" in changes and fleet.config_version:
        # Not a FleetDep parameter: device routes are core and work on a hub without the fleet feature.
        get_fleet(rt).config.recompute([device_id], actor=user.username)
    db.refresh(dev)
    return _with_fleet(dev, db.get(FleetDevice, device_id))


@router.post("/{device_id}/commands", response_model=CommandPublic, status_code=status.HTTP_202_ACCEPTED)
def send_command(user: OperatorUser, rt: RuntimeDep, db: SessionDep, device_id: Line,
                 body: CommandCreate) -> dict[str, object]:
    if db.get(Device, device_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    # Unknown names fall through to the command service's 422 (it lists the known ones).
    refusal = raw_command_refusal(body.name, user.role) if body.name in COMMAND_ARGS else None
    if refusal is not None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
    cmd = rt.commands.send(device_id=device_id, name=body.name, args=body.args, ttl_s=body.ttl_s,
                           ack_timeout_s=body.ack_timeout_s, created_by=user.username)
    audit(db, actor=user.username, action="device.command", target_type="device", target_id=device_id,
          detail={"command_id": cmd.id, "name": cmd.name, "args": cmd.args})
    db.commit()
    return command_public(cmd)


@router.get("/{device_id}/commands", response_model=list[CommandPublic])
def list_commands(_: OperatorUser, db: SessionDep, device_id: Line,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, object]]:
    rows = db.execute(select(DeviceCommand).where(DeviceCommand.device_id == device_id)
                      .order_by(DeviceCommand.created_at.desc()).limit(limit)).scalars()
    return [command_public(c) for c in rows]


@router.get("/{device_id}/commands/{command_id}", response_model=CommandPublic)
def get_command(_: OperatorUser, db: SessionDep, device_id: Line, command_id: Line) -> dict[str, object]:
    cmd = db.get(DeviceCommand, command_id)
    if cmd is None or cmd.device_id != device_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no command {command_id!r} for device {device_id!r}")
    return command_public(cmd)
