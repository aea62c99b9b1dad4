"""Timesheets from stored punches: DB rows -> domain objects -> ``compute_timesheet``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.db.models.attendance import HolidayRow, MissedPunchRow, PunchRow, ShiftRow
from hub.db.models.people import Employee
from hub.domain.attendance import (
    AuditEntry,
    DayRecord,
    Holiday,
    MissedPunchRequest,
    Punch,
    PunchDirection,
    RequestState,
    Shift,
    compute_timesheet,
)
from hub.services.errors import ServiceError

DURATION_RULES = ("checkin_window_before", "checkin_window_after", "checkout_window_before",
                  "checkout_window_after", "grace_late", "serious_late_after", "grace_early_leave",
                  "half_day_min_hours", "absent_min_hours", "overtime_after", "unpaid_break",
                  "unpaid_break_after", "duplicate_window")


class TimesheetError(ServiceError, ValueError):
    status = 422


def _hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def shift_from_row(row: ShiftRow) -> Shift:
    """Rules hold minutes for the duration fields and a weekday list for workdays."""
    kw: dict[str, Any] = {k: timedelta(minutes=float(v)) for k, v in row.rules.items() if k in DURATION_RULES}
    if "workdays" in row.rules:
        kw["workdays"] = frozenset(int(d) for d in row.rules["workdays"])
    return Shift(name=row.name, start=_hhmm(row.start), end=_hhmm(row.end), tz=row.tz, **kw)


def request_from_row(row: MissedPunchRow) -> MissedPunchRequest:
    return MissedPunchRequest(
        id=row.id, employee_id=str(row.employee_id), ts=row.ts, direction=PunchDirection(row.direction),
        reason=row.reason, state=RequestState(row.state),
        audit=tuple(AuditEntry(at=datetime.fromisoformat(a["at"]), actor=a["actor"], action=a["action"],
                               note=a["note"]) for a in row.audit))


def audit_to_json(req: MissedPunchRequest) -> list[dict[str, str]]:
    return [{"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "note": a.note} for a in req.audit]


def employee_days(session: Session, *, employee: Employee, start: date, end: date,
                  now: datetime | None) -> list[DayRecord]:
    if employee.shift_id is None:
        return []
    shift_row = session.get(ShiftRow, employee.shift_id)
    if shift_row is None:
        return []
    shift = shift_from_row(shift_row)
    # Punches may belong to a neighbouring work date (night shifts, windows): load a margin.
    lo = datetime.combine(start - timedelta(days=2), time(), tzinfo=shift.zone)
    hi = datetime.combine(end + timedelta(days=2), time(), tzinfo=shift.zone)
    rows = session.execute(select(PunchRow).where(PunchRow.employee_id == employee.id, PunchRow.ts >= lo,
                                                  PunchRow.ts < hi)).scalars()
    punches = [Punch(ts=r.ts, direction=PunchDirection(r.direction), source=r.source,  # type: ignore[arg-type]  # str column; Punch wants a Literal
                     device_id=r.device_id, punch_id=f"p{r.id}") for r in rows]
    holidays = [Holiday(date=h.date, name=h.name) for h in session.execute(
        select(HolidayRow).where(HolidayRow.date >= start - timedelta(days=1),
                                 HolidayRow.date <= end + timedelta(days=1))).scalars()]
    corrections = [request_from_row(r) for r in session.execute(select(MissedPunchRow).where(
        MissedPunchRow.employee_id == employee.id, MissedPunchRow.state == RequestState.APPROVED.value)).scalars()]
    return compute_timesheet(employee_id=str(employee.id), punches=punches, shift=shift, start_date=start,
                             end_date=end, holidays=holidays, approved_corrections=corrections, now=now)


def timesheet(session: Session, *, start: date, end: date, employee_id: int | None = None,
              department: str | None = None, now: datetime | None = None) -> list[DayRecord]:
    if end < start:
        raise TimesheetError(f"to ({end}) is before from ({start})")
    if (end - start).days > 366:
        raise TimesheetError("a timesheet covers at most 366 days")
    stmt = select(Employee).order_by(Employee.id)  # erased people keep their payroll history
    if employee_id is not None:
        stmt = stmt.where(Employee.id == employee_id)
    if department:
        stmt = stmt.where(Employee.department == department)
    records: list[DayRecord] = []
    for emp in session.execute(stmt).scalars():
        records.extend(employee_days(session, employee=emp, start=start, end=end, now=now))
    return records
