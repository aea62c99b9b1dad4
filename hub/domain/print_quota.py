"""Monthly page quotas per employee and per department (pure).

A "page" is one printed page image: ``pages_in_range × copies``. Duplex does not change the count
(two pages on one sheet are still two pages), so an employee is never punished or rewarded for the
paper-saving choice; sheets are a separate, informational figure. Colour is counted the same way;
a price per page, where a site wants one, is applied on top of this count.

A limit of ``None`` means unlimited. A job is allowed only if both the employee and the department
have room for all of its pages; partial jobs are never released.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class QuotaReason(StrEnum):
    OK = "ok"
    EMPLOYEE_EXCEEDED = "employee_quota_exceeded"
    DEPARTMENT_EXCEEDED = "department_quota_exceeded"
    INVALID = "invalid_request"


@dataclass(frozen=True, slots=True)
class QuotaDecision:
    allowed: bool
    reason: QuotaReason
    message: str
    employee_remaining: int | None  # after this job would print; None = unlimited
    dept_remaining: int | None


def job_pages(*, pages_in_range: int, copies: int) -> int:
    """Pages charged for a job. Duplex is deliberately not a parameter (see module docstring)."""
    if pages_in_range < 1 or copies < 1:
        raise ValueError(f"pages_in_range and copies must be >= 1 (got {pages_in_range}, {copies})")
    return pages_in_range * copies


def sheets(*, pages_in_range: int, copies: int, duplex: bool) -> int:
    """Physical sheets used (informational: accounting reports, paper-saved figures)."""
    per_copy = math.ceil(pages_in_range / 2) if duplex else pages_in_range
    return per_copy * copies


def _remaining(used: int, limit: int | None) -> int | None:
    return None if limit is None else limit - used


def check(*, employee_used: int, employee_limit: int | None, dept_used: int, dept_limit: int | None,
          pages: int) -> QuotaDecision:
    """May a job of ``pages`` pages be printed this month?"""
    if pages < 1 or employee_used < 0 or dept_used < 0:
        return QuotaDecision(False, QuotaReason.INVALID,
                             f"invalid quota check (pages={pages}, used={employee_used}/{dept_used})",
                             _remaining(employee_used, employee_limit), _remaining(dept_used, dept_limit))
    emp_left = _remaining(employee_used, employee_limit)
    dept_left = _remaining(dept_used, dept_limit)
    if emp_left is not None and pages > emp_left:
        return QuotaDecision(False, QuotaReason.EMPLOYEE_EXCEEDED,
                             f"this job needs {pages} pages but only {max(emp_left, 0)} of your "
                             f"{employee_limit} monthly pages are left", emp_left, dept_left)
    if dept_left is not None and pages > dept_left:
        return QuotaDecision(False, QuotaReason.DEPARTMENT_EXCEEDED,
                             f"this job needs {pages} pages but your department has only "
                             f"{max(dept_left, 0)} of its {dept_limit} monthly pages left",
                             emp_left, dept_left)
    return QuotaDecision(True, QuotaReason.OK, "ok",
                         None if emp_left is None else emp_left - pages,
                         None if dept_left is None else dept_left - pages)


def billable_pages(*, final_state: str, planned: int, printed: int | None) -> int:
    """Pages to charge once a job ends.

    Completed jobs are charged what was planned. Failed or canceled jobs are charged only what the
    printer says it printed (a jam refunds the rest); expired jobs never printed.
    """
    if final_state == "completed":
        return planned
    if final_state in ("failed", "canceled"):
        return max(0, min(planned, printed or 0))
    return 0


def period_of(at: datetime) -> str:
    """Quota period key ``YYYY-MM`` of a local, tz-aware time (months follow the office's time zone)."""
    if at.tzinfo is None:
        raise ValueError("period_of needs a timezone-aware datetime (convert to the office's zone first)")
    return f"{at.year:04d}-{at.month:02d}"
