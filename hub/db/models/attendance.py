"""Attendance tables: shifts, holidays, punches (one row per punch, idempotent on its key),
refused punches, missed-punch requests and office locations for remote check-in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, JSONType, UTCDateTime, utcnow
from hub.db.models.core import BigId


class ShiftRow(Base):
    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    start: Mapped[str] = mapped_column(String(5))  # HH:MM wall clock in tz
    end: Mapped[str] = mapped_column(String(5))
    tz: Mapped[str] = mapped_column(String(64))
    # Optional Shift fields in minutes (grace_late, serious_late_after, ...) and workdays.
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class HolidayRow(Base):
    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    date: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(128))


class PunchRow(Base):
    __tablename__ = "punches"
    __table_args__ = (Index("ix_punches_emp_ts", "employee_id", "ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # "<device_id>:<event_id>" for terminal punches, "remote:<uuid>" ... : the idempotency key.
    key: Mapped[str] = mapped_column(String(160), unique=True)
    employee_id: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(4))
    source: Mapped[str] = mapped_column(String(16))  # face | remote | manual
    device_id: Mapped[str | None] = mapped_column(String(64))
    door: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str | None] = mapped_column(String(8))  # thin | edge
    distance: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    model_id: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PunchRejection(Base):
    """A terminal punch the hub refused to record (re-verification failed, spoofed device, ...)."""

    __tablename__ = "punch_rejections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    claimed_employee_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MissedPunchRow(Base):
    __tablename__ = "missed_punch_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[int] = mapped_column(Integer, index=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), index=True)
    audit: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)


class OfficeLocation(Base):
    __tablename__ = "office_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
