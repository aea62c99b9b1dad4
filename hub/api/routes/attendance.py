"""Attendance: shifts, holidays, punches, timesheets (JSON/CSV/XLSX), missed-punch requests,
office locations and remote check-in. Employees see only their own attendance."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.api.deps import AdminUser, CurrentUser, FaceDep, LinkedUser, SessionDep
from hub.api.schemas.attendance import (
    HolidayCreate,
    HolidayPublic,
    LocationCreate,
    LocationPublic,
    ManualPunch,
    MissedPunchCreate,
    MissedPunchDecision,
    MissedPunchPublic,
    PunchPublic,
    RejectionPublic,
    RemoteCheckinResult,
    ShiftCreate,
    ShiftPublic,
)
from hub.api.schemas.types import Finite, Id, Line
from hub.auth.tokens import Principal, Role
from hub.db.models.attendance import HolidayRow, MissedPunchRow, OfficeLocation, PunchRejection, PunchRow, ShiftRow
from hub.db.models.people import Employee
from hub.domain.attendance import PunchDirection, approve, create_request, reject
from hub.services.attendance.punches import PunchIn, punch_public, record_punch
from hub.services.attendance.remote import remote_checkin
from hub.services.attendance.timesheets import (
    audit_to_json,
    request_from_row,
    shift_from_row,
    timesheet,
)
from hub.services.audit import audit
from hub.services.timesheet_export import timesheet_rows, to_csv, to_xlsx

router = APIRouter(prefix="/api/v1/attendance", tags=["attendance"])


def _own(user: Principal, employee_id: int | None) -> int | None:
    """Employees are pinned to their own id (another employee's answers 404); others filter freely."""
    if user.role is Role.EMPLOYEE:
        if user.employee_id is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "your login is not linked to an employee")
        if employee_id is not None and employee_id != user.employee_id:
            # Like a missing employee: another employee's id is not confirmed (as for print jobs).
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no employee {employee_id}")
        return user.employee_id
    return employee_id


# --- shifts and holidays ---------------------------------------------------------------------
@router.get("/shifts", response_model=list[ShiftPublic])
def list_shifts(_: CurrentUser, db: SessionDep) -> list[ShiftRow]:
    return list(db.execute(select(ShiftRow).order_by(ShiftRow.id)).scalars())


@router.post("/shifts", response_model=ShiftPublic, status_code=status.HTTP_201_CREATED)
def create_shift(admin: AdminUser, db: SessionDep, body: ShiftCreate) -> ShiftRow:
    row = ShiftRow(**body.model_dump())
    try:
        shift_from_row(row)  # the domain validates windows, zone, workdays
    except (ValueError, TypeError) as exc:
        raise HTTPException(422, f"invalid shift: {exc}") from exc
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise HTTPException(409, f"shift {body.name!r} exists") from exc
    audit(db, actor=admin.username, action="shift.create", target_type="shift", target_id=str(row.id))
    db.commit()
    return row


@router.delete("/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(admin: AdminUser, db: SessionDep, shift_id: Id) -> Response:
    row = db.get(ShiftRow, shift_id)
    if row is None:
        raise HTTPException(404, f"no shift {shift_id}")
    if db.execute(select(Employee.id).where(Employee.shift_id == shift_id)).first():
        raise HTTPException(409, f"shift {shift_id} is assigned to employees")
    db.delete(row)
    audit(db, actor=admin.username, action="shift.delete", target_type="shift", target_id=str(shift_id))
    db.commit()
    return Response(status_code=204)


@router.get("/holidays", response_model=list[HolidayPublic])
def list_holidays(_: CurrentUser, db: SessionDep) -> list[HolidayRow]:
    return list(db.execute(select(HolidayRow).order_by(HolidayRow.date)).scalars())


@router.post("/holidays", response_model=HolidayPublic, status_code=status.HTTP_201_CREATED)
def create_holiday(admin: AdminUser, db: SessionDep, body: HolidayCreate) -> HolidayRow:
    row = HolidayRow(date=body.date, name=body.name)
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise HTTPException(409, f"{body.date} is already a holiday") from exc
    audit(db, actor=admin.username, action="holiday.create", target_type="holiday", target_id=str(body.date))
    db.commit()
    return row


# --- punches and timesheets --------------------------------------------------------------------
@router.get("/punches", response_model=list[PunchPublic])
def list_punches(user: CurrentUser, db: SessionDep, employee_id: Id | None = None,
                 device_id: Line | None = None, since: datetime | None = None, until: datetime | None = None,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[dict[str, Any]]:
    employee_id = _own(user, employee_id)
    stmt = select(PunchRow)
    if employee_id is not None:
        stmt = stmt.where(PunchRow.employee_id == employee_id)
    if device_id:
        stmt = stmt.where(PunchRow.device_id == device_id)
    if since:
        stmt = stmt.where(PunchRow.ts >= since)
    if until:
        stmt = stmt.where(PunchRow.ts < until)
    return [punch_public(p) for p in db.execute(stmt.order_by(PunchRow.ts).limit(limit)).scalars()]


@router.post("/punches", response_model=PunchPublic, status_code=status.HTTP_201_CREATED)
def manual_punch(admin: AdminUser, db: SessionDep, body: ManualPunch) -> dict[str, Any]:
    """An admin records a punch by hand (source ``manual``), e.g. a terminal that was out of order."""
    if db.get(Employee, body.employee_id) is None:
        raise HTTPException(404, f"no employee {body.employee_id}")
    key = f"manual:{uuid.uuid4().hex}"
    record_punch(db, PunchIn(key=key, employee_id=body.employee_id, ts=body.ts, direction=body.direction,
                             source="manual", door=body.note or None))
    audit(db, actor=admin.username, action="punch.manual", target_type="employee",
          target_id=str(body.employee_id), detail={"ts": body.ts.isoformat(), "direction": body.direction})
    db.commit()
    row = db.execute(select(PunchRow).where(PunchRow.key == key)).scalar_one()
    return punch_public(row)


@router.get("/rejections", response_model=list[RejectionPublic])
def list_rejections(_: AdminUser, db: SessionDep, device_id: Line | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Terminal punches the hub refused (re-verification failed, spoofed or unknown device)."""
    stmt = select(PunchRejection).order_by(PunchRejection.id.desc()).limit(limit)
    if device_id:
        stmt = stmt.where(PunchRejection.device_id == device_id)
    return [{"key": r.key, "device_id": r.device_id, "claimed_employee_id": r.claimed_employee_id,
             "reason": r.reason, "at": r.at} for r in db.execute(stmt).scalars()]


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The answer's type follows ``format``: the document lists all three.
_TIMESHEET_FILES: dict[int | str, dict[str, Any]] = {200: {
    "description": "JSON, or a CSV/XLSX file (``format``)",
    "content": {"text/csv": {"schema": {"type": "string"}}, _XLSX: {"schema": {"type": "string", "format": "binary"}}},
}}


@router.get("/timesheets", response_model=None, responses=_TIMESHEET_FILES)
def get_timesheets(
    user: CurrentUser, db: SessionDep,
    from_: Annotated[date, Query(alias="from")], to: date,
    employee_id: Id | None = None, department: Line | None = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Any:
    employee_id = _own(user, employee_id)
    records = timesheet(db, start=from_, end=to, employee_id=employee_id, department=department,
                        now=datetime.now(UTC))
    name = f"timesheet_{from_}_{to}"
    if format == "csv":
        return Response(to_csv(records), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(to_xlsx(records), media_type=_XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return {"from": from_, "to": to, "rows": timesheet_rows(records)}


# --- missed-punch requests ----------------------------------------------------------------------
def _req_public(row: MissedPunchRow) -> dict[str, Any]:
    return {"id": row.id, "employee_id": row.employee_id, "ts": row.ts, "direction": row.direction,
            "reason": row.reason, "state": row.state, "audit": row.audit}


@router.post("/missed-punches", response_model=MissedPunchPublic, status_code=status.HTTP_201_CREATED)
def file_missed_punch(user: CurrentUser, db: SessionDep, body: MissedPunchCreate) -> dict[str, Any]:
    if user.role is Role.EMPLOYEE:
        emp_id = _own(user, body.employee_id)
    elif user.role is Role.ADMIN and body.employee_id is not None:
        emp_id = body.employee_id
    else:
        raise HTTPException(422, "employee_id is required (admins file for an employee)")
    assert emp_id is not None
    if db.get(Employee, emp_id) is None:
        raise HTTPException(404, f"no employee {emp_id}")
    req = create_request(id=uuid.uuid4().hex, employee_id=str(emp_id), ts=body.ts,
                         direction=PunchDirection(body.direction), reason=body.reason,
                         actor=_actor(user), at=datetime.now(UTC))
    row = MissedPunchRow(id=req.id, employee_id=emp_id, ts=req.ts, direction=req.direction.value,
                         reason=req.reason, state=req.state.value, audit=audit_to_json(req))
    db.add(row)
    audit(db, actor=user.username, action="missed_punch.create", target_type="employee", target_id=str(emp_id),
          detail={"request_id": req.id})
    db.commit()
    return _req_public(row)


def _actor(user: Principal) -> str:
    # The domain forbids deciding one's own request by comparing actor and employee id.
    return str(user.employee_id) if user.role is Role.EMPLOYEE and user.employee_id else user.username


@router.get("/missed-punches", response_model=list[MissedPunchPublic])
def list_missed_punches(user: CurrentUser, db: SessionDep, employee_id: Id | None = None,
                        state: Line | None = None) -> list[dict[str, Any]]:
    employee_id = _own(user, employee_id)
    stmt = select(MissedPunchRow).order_by(MissedPunchRow.ts)
    if employee_id is not None:
        stmt = stmt.where(MissedPunchRow.employee_id == employee_id)
    if state:
        stmt = stmt.where(MissedPunchRow.state == state)
    return [_req_public(r) for r in db.execute(stmt).scalars()]


def _decide(user: Principal, db: SessionDep, request_id: str, note: str, verb: str) -> dict[str, Any]:
    row = db.get(MissedPunchRow, request_id)
    if row is None:
        raise HTTPException(404, f"no missed-punch request {request_id}")
    req = request_from_row(row)
    if user.employee_id is not None and user.employee_id == row.employee_id:
        raise HTTPException(403, "employees may not decide their own requests")
    fn = approve if verb == "approve" else reject
    new = fn(req, actor=user.username, actor_role=user.role.value, at=datetime.now(UTC), note=note)
    row.state, row.audit = new.state.value, audit_to_json(new)
    audit(db, actor=user.username, action=f"missed_punch.{verb}", target_type="employee",
          target_id=str(row.employee_id), detail={"request_id": row.id, "note": note})
    db.commit()
    return _req_public(row)


@router.post("/missed-punches/{request_id}/approve", response_model=MissedPunchPublic)
def approve_missed_punch(user: CurrentUser, db: SessionDep, request_id: Line,
                         body: MissedPunchDecision | None = None) -> dict[str, Any]:
    return _decide(user, db, request_id, body.note if body else "", "approve")


@router.post("/missed-punches/{request_id}/reject", response_model=MissedPunchPublic)
def reject_missed_punch(user: CurrentUser, db: SessionDep, request_id: Line,
                        body: MissedPunchDecision) -> dict[str, Any]:
    return _decide(user, db, request_id, body.note, "reject")


# --- remote check-in --------------------------------------------------------------------------
@router.get("/locations", response_model=list[LocationPublic])
def list_locations(_: CurrentUser, db: SessionDep) -> list[OfficeLocation]:
    return list(db.execute(select(OfficeLocation).order_by(OfficeLocation.id)).scalars())


@router.post("/locations", response_model=LocationPublic, status_code=status.HTTP_201_CREATED)
def create_location(admin: AdminUser, db: SessionDep, body: LocationCreate) -> OfficeLocation:
    row = OfficeLocation(**body.model_dump())
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise HTTPException(409, f"location {body.name!r} exists") from exc
    audit(db, actor=admin.username, action="location.create", target_type="location", target_id=str(row.id))
    db.commit()
    return row


@router.post("/remote-checkin", response_model=RemoteCheckinResult, status_code=status.HTTP_201_CREATED)
def remote(user: LinkedUser, face: FaceDep, lat: Annotated[Finite, Form()], lon: Annotated[Finite, Form()],
           file: Annotated[UploadFile, File(description="selfie")],
           direction: Annotated[str, Form(pattern="^(IN|OUT|AUTO)$")] = "AUTO",
           location_id: Annotated[Id | None, Form()] = None) -> dict[str, Any]:
    """Check in away from a terminal: inside an office geofence, with a selfie that matches your own
    enrolled face (1:1). Only employees check themselves in."""
    assert user.employee_id is not None  # LinkedUser
    data = file.file.read(15 * 1024 * 1024 + 1)
    if len(data) > 15 * 1024 * 1024:
        raise HTTPException(413, "file: too_large")
    return remote_checkin(face, employee_id=user.employee_id, lat=lat, lon=lon, selfie=data,
                          direction=direction, location_id=location_id)
