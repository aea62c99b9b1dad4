"""Quota bookkeeping: pages used this month per owner and department, and the check before a job."""

from __future__ import annotations

from sqlalchemy import case, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hub.db.models.printing import PrintJob, PrintProfile, PrintQuota
from hub.domain import print_quota
from hub.domain.print_jobs import TERMINAL


def _used(session: Session, *, period: str, owner_key: str | None = None, department: str | None = None) -> int:
    terminal = [s.value for s in TERMINAL]
    # Active jobs reserve their planned pages; ended ones count what was charged.
    pages = case((PrintJob.state.in_(terminal), PrintJob.pages_charged), else_=PrintJob.pages_planned)
    q = select(func.coalesce(func.sum(pages), 0)).where(PrintJob.period == period)
    if owner_key is not None:
        q = q.where(PrintJob.owner_key == owner_key)
    if department is not None:
        q = q.where(PrintJob.department == department)
    return int(session.execute(q).scalar_one())


def limit_for(session: Session, scope: str, key: str | None) -> int | None:
    if key is None:
        return None
    row = session.get(PrintQuota, (scope, key))
    return row.monthly_pages if row else None


def department_of(session: Session, owner_key: str, employee_id: int | None) -> str | None:
    """The print profile's department, else the employee record's (when the people feature is installed)."""
    prof = session.get(PrintProfile, owner_key)
    if prof is not None and prof.department:
        return prof.department
    if employee_id is None:
        return None
    try:
        with session.begin_nested():
            row = session.execute(text("SELECT department FROM employees WHERE id = :id"),
                                  {"id": employee_id}).first()
    except SQLAlchemyError:
        return None
    return str(row[0]) if row and row[0] else None


def check(session: Session, *, owner_key: str, department: str | None, period: str,
          pages: int) -> print_quota.QuotaDecision:
    return print_quota.check(
        employee_used=_used(session, period=period, owner_key=owner_key),
        employee_limit=limit_for(session, "employee", owner_key),
        dept_used=_used(session, period=period, department=department) if department else 0,
        dept_limit=limit_for(session, "department", department), pages=pages)


def usage(session: Session, *, owner_key: str, department: str | None, period: str) -> dict[str, object]:
    return {"period": period, "owner": owner_key, "used": _used(session, period=period, owner_key=owner_key),
            "limit": limit_for(session, "employee", owner_key), "department": department,
            "department_used": _used(session, period=period, department=department) if department else None,
            "department_limit": limit_for(session, "department", department)}
