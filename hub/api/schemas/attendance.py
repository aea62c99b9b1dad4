"""Attendance schemas: shifts, holidays, punches, missed-punch requests, office locations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.api.schemas.types import Finite, Id, JsonObject, Line, Text

_HHMM = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=64)
    start: str = _HHMM
    end: str = _HHMM
    tz: Line = Field(default="UTC", max_length=64)
    rules: JsonObject = Field(default_factory=dict, description=(
        "Optional: minutes for grace_late, serious_late_after, grace_early_leave, half_day_min_hours, "
        "overtime_after, checkin_window_before, ...; workdays as weekday numbers (0 = Monday)"))


class ShiftPublic(ShiftCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int


class HolidayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    name: Line = Field(min_length=1, max_length=128)


class HolidayPublic(HolidayCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int


class PunchPublic(BaseModel):
    id: int
    employee_id: int
    ts: datetime
    direction: str
    source: str
    device_id: str | None
    door: str | None
    mode: str | None
    distance: float | None
    threshold: float | None
    model_id: str | None
    recorded_at: datetime


class ManualPunch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: Id
    ts: AwareDatetime
    direction: Literal["IN", "OUT", "AUTO"] = "AUTO"
    note: Line = Field(default="", max_length=64)


class MissedPunchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    employee_id: Id | None = Field(default=None, description="Admins file for others; employees for themselves")
    ts: AwareDatetime
    direction: Literal["IN", "OUT"]
    reason: Text = Field(min_length=1, max_length=500)


class MissedPunchDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text = Field(default="", max_length=500)


class MissedPunchPublic(BaseModel):
    id: str
    employee_id: int
    ts: datetime
    direction: str
    reason: str
    state: str
    audit: list[dict[str, Any]]


class LocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=128)
    lat: Finite = Field(ge=-90, le=90)
    lon: Finite = Field(ge=-180, le=180)
    radius_m: Finite = Field(gt=0, le=100_000)


class LocationPublic(LocationCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int


class RemoteCheckinResult(BaseModel):
    accepted: bool
    employee_id: int
    ts: datetime
    office: str
    distance_m: float
    face_distance: float
    threshold: float


class RejectionPublic(BaseModel):
    """A terminal punch the hub refused to record."""

    key: str
    device_id: str
    claimed_employee_id: str | None
    reason: str
    at: datetime
