"""Employee, enrolment, recognition and access schemas (never templates or photos)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.api.schemas.types import Id, Line

_NAME = Field(min_length=1, max_length=200)
# No whitespace or control characters anywhere (the pattern also keeps NUL out of the database).
_EMAIL = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
Weekday = Annotated[int, Field(ge=0, le=6)]


class EmployeeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_no: Line = Field(min_length=1, max_length=64)
    name: Line = _NAME
    email: str | None = Field(default=None, max_length=254, pattern=_EMAIL)
    department: Line | None = Field(default=None, max_length=128)
    location: Line | None = Field(default=None, max_length=128)
    shift_id: Id | None = None
    active: bool = True


class EmployeeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254, pattern=_EMAIL)
    department: Line | None = Field(default=None, max_length=128)
    location: Line | None = Field(default=None, max_length=128)
    shift_id: Id | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> EmployeeUpdate:
        # Omitted means unchanged; an explicit null cannot clear what every employee must have.
        for name in ("name", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null (leave it out to keep the current value)")
        return self


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

    days: list[Weekday] = Field(default_factory=lambda: [0, 1, 2, 3, 4, 5, 6], description="0 = Monday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class AccessGroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=128)
    doors: list[Annotated[Line, Field(max_length=64)]] = Field(default_factory=list, max_length=1000)
    schedule: list[ScheduleSlot] = Field(default_factory=list, max_length=50)
    tz: Line = Field(default="UTC", max_length=64)
    members: list[Id] = Field(default_factory=list, max_length=100_000)


class AccessGroupPublic(BaseModel):
    id: int
    name: str
    doors: list[str]
    schedule: list[dict[str, Any]]
    tz: str
    members: list[int]

