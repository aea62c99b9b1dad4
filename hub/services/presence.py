"""Inactivity timer: the second online/offline signal beside the MQTT Will."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hub.db.models.core import Device
from hub.db.session import SessionFactory, transaction
from hub.ingest.handlers import DeviceChange


def mark_inactive(sessions: SessionFactory, *, offline_after_s: float,
                  now: datetime | None = None) -> list[DeviceChange]:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=offline_after_s)
    changes: list[DeviceChange] = []
    with transaction(sessions) as session:
        stale = session.execute(select(Device).where(Device.online.is_(True), Device.last_seen < cutoff)
                                ).scalars().all()
        for dev in stale:
            dev.online = False
            changes.append(DeviceChange(dev.id, False, "inactivity", now))
    return changes
