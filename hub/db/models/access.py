"""Door access: groups of employees allowed at some doors during a weekly schedule; alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, JSONType, UTCDateTime, utcnow
from hub.db.models.core import BigId


class AccessGroup(Base):
    __tablename__ = "access_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    doors: Mapped[list[str]] = mapped_column(JSONType, default=list)  # door terminal device ids
    # [{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}]; empty = any time.
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")


class AccessGroupMember(Base):
    __tablename__ = "access_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("access_groups.id", ondelete="CASCADE"), primary_key=True)
    employee_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)


class Alert(Base):
    """Superseded: door and punch alerts now go to the fleet feature's shared store
    (hub.services.fleet.alerts via hub.services.access.alerts). Kept because the dashboard reads it."""

    __tablename__ = "door_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Idempotency: "<device_id>:<event_id>" when the alert comes from a device event.
    source_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
