"""Attendance domain: shifts, punches, day classification and missed-punch corrections (pure Python)."""

from hub.domain.attendance.corrections import (
    DEFAULT_APPROVER_ROLES,
    AuditEntry,
    CorrectionError,
    InvalidTransition,
    MissedPunchRequest,
    NotAllowed,
    RequestState,
    approve,
    create_request,
    reject,
    to_punch,
)
from hub.domain.attendance.engine import compute_day, compute_timesheet
from hub.domain.attendance.models import (
    DayRecord,
    DayStatus,
    Holiday,
    Punch,
    PunchDirection,
    PunchSource,
    Shift,
)
from hub.domain.attendance.shifts import ShiftWindow, assign_work_date, window_for

__all__ = [
    "DEFAULT_APPROVER_ROLES",
    "AuditEntry",
    "CorrectionError",
    "DayRecord",
    "DayStatus",
    "Holiday",
    "InvalidTransition",
    "MissedPunchRequest",
    "NotAllowed",
    "Punch",
    "PunchDirection",
    "PunchSource",
    "RequestState",
    "Shift",
    "ShiftWindow",
    "approve",
    "assign_work_date",
    "compute_day",
    "compute_timesheet",
    "create_request",
    "reject",
    "to_punch",
    "window_for",
]
