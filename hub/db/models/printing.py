"""Print tables: jobs and their history, the printer registry, PINs/departments, quotas, alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, JSONType, UTCDateTime, utcnow
from hub.db.models.core import BigId


class PrintJob(Base):
    __tablename__ = "print_jobs"
    __table_args__ = (
        Index("ix_print_jobs_owner_period", "owner_key", "period"),
        Index("ix_print_jobs_box_state", "box_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # "emp:<employee id>" or "user:<user id>" when the login has no employee record.
    owner_key: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    employee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_name: Mapped[str] = mapped_column(String(128), default="")
    department: Mapped[str | None] = mapped_column(String(128), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(128))
    file_name: Mapped[str | None] = mapped_column(String(64))  # inside the print storage folder
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    doc_pages: Mapped[int] = mapped_column(Integer)
    pages_planned: Mapped[int] = mapped_column(Integer)  # pages in range × copies
    pages_charged: Mapped[int] = mapped_column(Integer, default=0)
    pages_printed: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    requested_printer: Mapped[str | None] = mapped_column(String(200))  # "box/queue", "queue" or None = any
    box_id: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(127))
    hold: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str | None] = mapped_column(String(64))
    cups_job_id: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    command_id: Mapped[str | None] = mapped_column(String(64))  # the last print_job offer
    command_ok: Mapped[bool] = mapped_column(Boolean, default=False)  # the box acked that offer
    period: Mapped[str] = mapped_column(String(7))  # quota month YYYY-MM
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PrintJobHistory(Base):
    __tablename__ = "print_job_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("print_jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Printer(Base):
    """One CUPS queue on one print box, as last reported in the box's state."""

    __tablename__ = "printers"

    box_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(127), primary_key=True)
    make_model: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="idle")
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    accepting: Mapped[bool] = mapped_column(Boolean, default=True)
    message: Mapped[str] = mapped_column(Text, default="")
    supplies: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    alert: Mapped[str | None] = mapped_column(String(64))  # open fault alert code, None when healthy
    present: Mapped[bool] = mapped_column(Boolean, default=True)  # still listed by its box
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrintProfile(Base):
    """Per-owner print settings: department (for quotas) and the release PIN (salted hash)."""

    __tablename__ = "print_profiles"

    owner_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str | None] = mapped_column(String(128))
    # hub.domain.print_release.hash_pin. Not unique: a PIN is checked with its employee number, and a
    # uniqueness check would tell someone who else has the PIN they chose.
    pin_hash: Mapped[str | None] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrintQuota(Base):
    __tablename__ = "print_quotas"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # employee | department
    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # owner key or department name
    monthly_pages: Mapped[int | None] = mapped_column(Integer)  # None = unlimited


class PinFailure(Base):
    __tablename__ = "print_pin_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    box_id: Mapped[str] = mapped_column(String(64), index=True)
    # "no:<employee number>" (hub.domain.print_release.pin_subject); "" in rows from before employee
    # numbers were required (they only age out).
    subject: Mapped[str] = mapped_column(String(80), default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ReleaseStation(Base):
    """A door terminal where a recognised face releases the person's held jobs on a printer."""

    __tablename__ = "print_release_stations"

    terminal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    box_id: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(127))
