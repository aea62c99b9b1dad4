"""Inactivity timer: the second online/offline signal beside the MQTT Will."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.db.models.core import Device
from hub.db.session import SessionFactory, transaction
from hub.ingest.handlers import DeviceChange

# Missed heartbeats before a device counts as gone, when its configured interval is longer than
# offline_after_s allows (the config accepts up to an hour between heartbeats).
MISSED_BEATS = 3


def silence_allowed_s(device: Device, offline_after_s: float) -> float:
    """How long this device may stay silent: the hub setting, or three of its own heartbeats."""
    config = (device.reported_state or {}).get("config") or {}
    try:
        beat = float(config.get("heartbeat_s") or 0)
    except (TypeError, ValueError):
        beat = 0.0
    return max(offline_after_s, MISSED_BEATS * beat)


def mark_inactive(sessions: SessionFactory, *, offline_after_s: float,
                  now: datetime | None = None) -> list[DeviceChange]:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=offline_after_s)
    changes: list[DeviceChange] = []
    with transaction(sessions) as session:
        stale = session.execute(select(Device).where(Device.online.is_(True), Device.last_seen < cutoff)
                                ).scalars().all()
        for dev in stale:
            if dev.last_seen is not None and dev.last_seen >= now - timedelta(
                    seconds=silence_allowed_s(dev, offline_after_s)):
                continue  # a slow heartbeat, not a silent device
            dev.online = False
            changes.append(DeviceChange(dev.id, False, "inactivity", now))
    return changes
