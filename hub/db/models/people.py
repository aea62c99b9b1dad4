"""Employees and their face data: templates (encrypted), the versioned gallery change log,
check-in snapshots and erasure tracking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, UTCDateTime, utcnow
from hub.db.models.core import BigId


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    employee_no: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    department: Mapped[str | None] = mapped_column(String(128), index=True)
    location: Mapped[str | None] = mapped_column(String(128))
    shift_id: Mapped[int | None] = mapped_column(Integer, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the right-to-erasure delete: biometric data is gone, the row stays for payroll history.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FaceTemplate(Base):
    __tablename__ = "face_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"), index=True)
    # AES-256-GCM blob (hub.security.template_crypto), aad names template and employee.
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    model_id: Mapped[str] = mapped_column(String(64))
    face_px: Mapped[int] = mapped_column(Integer)
    blur: Mapped[float] = mapped_column()
    photo_path: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class GalleryChange(Base):
    """Append-only log of gallery changes; its id is the gallery version terminals sync to."""

    __tablename__ = "gallery_changes"

    version: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    op: Mapped[str] = mapped_column(String(8))  # add | delete
    template_id: Mapped[str] = mapped_column(String(32))
    employee_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Snapshot(Base):
    """A check-in face crop kept for `snapshot_retention_days` (file on disk, row here)."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    employee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    device_id: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    decision: Mapped[str] = mapped_column(String(32))


class ErasureAck(Base):
    """One terminal's part of an employee's erasure: the delete command and its outcome."""

    __tablename__ = "erasure_acks"
    __table_args__ = (Index("uq_erasure_acks_emp_dev", "employee_id", "device_id", unique=True),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    employee_id: Mapped[int] = mapped_column(Integer, index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    command_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="sent")  # sent | acked | failed
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(String(500), default="")
