"""Employee, enrolment, recognition and access schemas (never templates or photos)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_NAME = Field(min_length=1, max_length=200)
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class EmployeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_no: str = Field(min_length=1, max_length=64)
    name: str = _NAME
    email: str | None = Field(default=None, max_length=254, pattern=_EMAIL)
    department: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    shift_id: int | None = None
    active: bool = True


class EmployeeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=_EMAIL)
    department: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    shift_id: int | None = None
    active: bool | None = None


class EmployeePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    employee_no: str
    name: str
    email: str | None
    department: str | None
    location: str | None
    shift_id: int | None
    active: bool
    created_at: datetime
    erased_at: datetime | None
    templates: int = 0


class FaceTemplatePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    model_id: str
    face_px: int
    blur: float
    created_at: datetime
    created_by: str
    photo_kept: bool


class EnrolResponse(BaseModel):
    employee_id: int
    template_ids: list[str]
    face_px: list[int]
    gallery_version: int


class IdentifyResponse(BaseModel):
    employee_id: int | None
    distance: float | None
    decision: str
    threshold: float
    reason: str
    faces: int


class VerifyResponse(BaseModel):
    same: bool
    distance: float
    threshold: float


class ErasureStatus(BaseModel):
    employee_id: int
    erased_at: datetime | None
    templates_on_hub: int | None
    terminals: list[dict[str, Any]]
    pending: int
    complete: bool


class ScheduleSlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6])
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class AccessGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    doors: list[str] = Field(default_factory=list, max_length=1000)
    schedule: list[ScheduleSlot] = Field(default_factory=list, max_length=50)
    tz: str = "UTC"
    members: list[int] = Field(default_factory=list)


class AccessGroupPublic(BaseModel):
    id: int
    name: str
    doors: list[str]
    schedule: list[dict[str, Any]]
    tz: str
    members: list[int]

