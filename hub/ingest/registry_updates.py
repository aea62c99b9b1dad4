"""Device registry updates from availability, info, state and heartbeat messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.core import Device
from hub.ingest.handlers import DeviceChange
from protocol import payloads as p


class UnknownDevice(Exception):
    pass


class KindChangeRefused(Exception):
    """An ``info`` announcing another kind than the hub holds. The hub fixes a device's kind when it
    is provisioned (or, for an auto-registered demo device, at its first ``info``): a print box that
    re-announces itself as a door terminal must not gain a door terminal's rights."""

    def __init__(self, device_id: str, *, stored: str, announced: str) -> None:
        super().__init__(f"{device_id} is a {stored}; its info announces a {announced} (refused, the kind "
                         "is fixed when a device is provisioned)")
        self.device_id, self.stored, self.announced = device_id, stored, announced


def get_or_register(session: Session, device_id: str, *, auto_register: bool) -> Device:
    dev = session.get(Device, device_id)
    if dev is None:
        if not auto_register:
            raise UnknownDevice(device_id)
        dev = Device(id=device_id, capabilities=[], reported_state={}, online=False, revoked=False)
        session.add(dev)
    return dev


def apply_device_message(session: Session, *, device_id: str, payload: p.Payload, at: datetime,
                         retained: bool, auto_register: bool) -> DeviceChange | None:
    """Apply one registry message; returns an online/offline change when there is one."""
    dev = get_or_register(session, device_id, auto_register=auto_register)
    if dev.revoked:
        raise UnknownDevice(f"{device_id} (revoked)")
    was_online = dev.online
    reason = ""
    if isinstance(payload, p.Availability):
        if payload.status == p.AvailabilityStatus.ONLINE:
            dev.online, dev.boot_id, reason = True, payload.boot_id, "availability"
            # A retained "online" replayed to a restarting hub is old news: the inactivity timer
            # still needs a starting point, but it must not look like fresh traffic.
            dev.last_seen = dev.last_seen or at if retained else at
        elif dev.boot_id in (None, payload.boot_id):
            # An offline Will from an older session must not mark the current session offline.
            dev.online, reason = False, "will"
    elif isinstance(payload, p.DeviceInfo):
        if dev.kind is not None and dev.kind != payload.kind.value:
            raise KindChangeRefused(device_id, stored=dev.kind, announced=payload.kind.value)
        dev.kind, dev.model, dev.firmware = payload.kind.value, payload.model, payload.firmware
        dev.capabilities, dev.ip, dev.started_at = list(payload.capabilities), payload.ip, payload.started_at
        if not retained:
            dev.last_seen = at
    elif isinstance(payload, p.DeviceState):
        dev.reported_state = {"config": payload.config, "live": payload.live, "ts": payload.ts.isoformat()}
        dev.reported_config_version = payload.config_version
    elif isinstance(payload, p.Heartbeat):
        dev.last_seen, dev.uptime_s, dev.outbox_depth = at, payload.uptime_s, payload.outbox_depth
        dev.ip = payload.ip or dev.ip
        if payload.boot_id == dev.boot_id or dev.boot_id is None:
            dev.online, dev.boot_id, reason = True, payload.boot_id, "heartbeat"
    if dev.online != was_online:
        return DeviceChange(device_id, dev.online, reason or "update", at)
    return None


def known_device_kinds(session: Session, ids: set[str]) -> dict[str, str | None]:
    """Registered, not revoked devices among ``ids`` with their kind (None: not announced yet)."""
    if not ids:
        return {}
    rows = session.execute(select(Device.id, Device.kind).where(Device.id.in_(ids), Device.revoked.is_(False)))
    return {r[0]: r[1] for r in rows}
