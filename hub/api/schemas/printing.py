"""Print API schemas: job create (form fields), public job, history, printers, PIN, quotas, stations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from hub.api.schemas.types import Line, NonNegInt
from protocol.bodies_print import PAGE_RANGES


class PrintJobCreate(BaseModel):
    """Form fields sent next to the ``file`` part of ``POST /api/v1/print/jobs``."""

    printer: Line | None = Field(default=None, max_length=200, description='"any", "queue" or "box/queue"')
    copies: int = Field(default=1, ge=1, le=999)
    duplex: bool = False
    color: bool = False
    page_ranges: str | None = Field(default=None, pattern=PAGE_RANGES, max_length=200)
    media: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    hold: bool = False

    @field_validator("page_ranges", "media", "printer", mode="before")
    @classmethod
    def _blank_is_none(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.replace(" ", "") if v.replace(" ", "")[:1].isdigit() else v.strip()
            return v or None
        return v


class HistoryPublic(BaseModel):
    at: datetime
    from_state: str
    to_state: str
    event: str
    reason: str
    details: dict[str, Any]


class PrintJobPublic(BaseModel):
    id: str
    state: str
    reason: str
    owner: str
    filename: str
    pages: int
    pages_planned: int
    pages_charged: int
    pages_printed: int | None
    options: dict[str, Any]
    printer: str | None
    hold: bool
    cups_job_id: int | None
    error_code: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    release_code: str | None = Field(default=None, description="QR payload for release at the box (held jobs)")
    history: list[HistoryPublic] | None = None


class PrintJobPage(BaseModel):
    items: list[PrintJobPublic]


class PrinterPublic(BaseModel):
    id: str
    box_id: str
    queue: str
    make_model: str
    state: str
    reasons: list[str]
    accepting: bool
    message: str
    supplies: list[dict[str, Any]]
    alert: str | None
    online: bool
    updated_at: datetime


class PinUpdate(BaseModel):
    """A release PIN, typed at the box after the employee number; need not be unique."""

    pin: str = Field(pattern=r"^[0-9]{4,12}$")
    owner: str | None = Field(default=None, pattern=r"^emp:\d+$",
                              description="admins: another employee's owner key, 'emp:<employee id>'")


class QuotaUpdate(BaseModel):
    scope: str = Field(pattern=r"^(employee|department)$")
    key: Line = Field(min_length=1, max_length=128, description="'emp:<id>'/'user:<id>' or a department")
    monthly_pages: NonNegInt | None = None


class DepartmentUpdate(BaseModel):
    owner: str = Field(pattern=r"^(emp|user):\d+$")
    department: Line | None = Field(default=None, max_length=128)


class StationUpdate(BaseModel):
    box_id: Line = Field(min_length=1, max_length=64)
    queue: Line | None = Field(default=None, max_length=127)


class PrintUsage(BaseModel):
    """Pages used this period against the caller's quota and their department's (None: no limit)."""

    period: str
    owner: str
    used: int
    limit: int | None
    department: str | None
    department_used: int | None
    department_limit: int | None


class FaceReleaseResult(BaseModel):
    employee_id: int
    job_ids: list[str]
    message: str


class PrintAlertPublic(BaseModel):
    """A printer fault or failed/stuck job, in the print console's shape."""

    id: int
    at: datetime
    last_at: datetime
    kind: str
    code: str
    severity: str
    box_id: str | None
    queue: str | None
    job_id: str | None
    message: str
    details: dict[str, Any]
    state: str
    count: int
