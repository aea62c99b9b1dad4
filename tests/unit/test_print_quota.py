"""Monthly page quotas and page-range arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.print_quota import (
    QuotaReason,
    billable_pages,
    check,
    job_pages,
    period_of,
    sheets,
)
from hub.services.printing.documents import page_count_for_ranges, parse_page_ranges


def test_pages_are_range_times_copies_and_duplex_does_not_matter() -> None:
    assert job_pages(pages_in_range=3, copies=2) == 6
    assert sheets(pages_in_range=3, copies=2, duplex=True) == 4
    assert sheets(pages_in_range=3, copies=2, duplex=False) == 6
    with pytest.raises(ValueError):
        job_pages(pages_in_range=0, copies=1)


@pytest.mark.parametrize(("kw", "allowed", "reason", "emp_left", "dept_left"), [
    (dict(employee_used=0, employee_limit=None, dept_used=0, dept_limit=None, pages=500),
     True, QuotaReason.OK, None, None),
    (dict(employee_used=90, employee_limit=100, dept_used=0, dept_limit=1000, pages=10),
     True, QuotaReason.OK, 0, 990),
    (dict(employee_used=95, employee_limit=100, dept_used=0, dept_limit=1000, pages=10),
     False, QuotaReason.EMPLOYEE_EXCEEDED, 5, 1000),
    (dict(employee_used=0, employee_limit=100, dept_used=995, dept_limit=1000, pages=10),
     False, QuotaReason.DEPARTMENT_EXCEEDED, 100, 5),
    (dict(employee_used=120, employee_limit=100, dept_used=0, dept_limit=None, pages=1),
     False, QuotaReason.EMPLOYEE_EXCEEDED, -20, None),
    (dict(employee_used=0, employee_limit=100, dept_used=0, dept_limit=100, pages=0),
     False, QuotaReason.INVALID, 100, 100),
])
def test_check(kw: dict[str, int | None], allowed: bool, reason: QuotaReason,
               emp_left: int | None, dept_left: int | None) -> None:
    d = check(**kw)  # type: ignore[arg-type]
    got = (d.allowed, d.reason, d.employee_remaining, d.dept_remaining)
    assert got == (allowed, reason, emp_left, dept_left)
    assert d.message


def test_messages_say_how_much_is_left() -> None:
    d = check(employee_used=95, employee_limit=100, dept_used=0, dept_limit=None, pages=10)
    assert "10 pages" in d.message and "only 5" in d.message


@given(used=st.integers(0, 1000), limit=st.integers(0, 1000), pages=st.integers(1, 1000))
def test_allowed_exactly_when_it_fits(used: int, limit: int, pages: int) -> None:
    d = check(employee_used=used, employee_limit=limit, dept_used=0, dept_limit=None, pages=pages)
    assert d.allowed is (used + pages <= limit)


@pytest.mark.parametrize(("state", "planned", "printed", "charged"), [
    ("completed", 6, None, 6), ("completed", 6, 2, 6), ("failed", 6, 2, 2), ("canceled", 6, None, 0),
    ("canceled", 6, 99, 6), ("expired", 6, None, 0)])
def test_billable_pages(state: str, planned: int, printed: int | None, charged: int) -> None:
    assert billable_pages(final_state=state, planned=planned, printed=printed) == charged


def test_period_follows_local_time() -> None:
    utc = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert period_of(utc) == "2026-03"
    assert period_of(utc.astimezone(timezone(timedelta(hours=8)))) == "2026-04"
    with pytest.raises(ValueError, match="timezone"):
        period_of(datetime(2026, 1, 1))


@pytest.mark.parametrize(("total", "ranges", "count"), [
    (10, None, 10), (10, "", 10), (10, "1-3,5", 4), (10, "7", 1), (10, " 1 - 2 , 4-4 ", 3),
    (3, "1-10", 3), (5, "2-3,5-9", 3)])
def test_page_count_for_ranges(total: int, ranges: str | None, count: int) -> None:
    assert page_count_for_ranges(total, ranges) == count


@pytest.mark.parametrize(("ranges", "error"), [
    ("1-3;5", "must look like"), ("a-b", "must look like"), ("3-1", "empty"), ("0-2", "below page 1"),
    ("1-3,2-4", "ascending"), ("5,1", "ascending"), ("-3", "must look like"), ("1-", "must look like"),
    ("11", "past the end")])
def test_bad_ranges_are_refused(ranges: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        page_count_for_ranges(10, ranges)


def test_parse_page_ranges() -> None:
    assert parse_page_ranges("1-3,5,8-9") == [(1, 3), (5, 5), (8, 9)]
    with pytest.raises(ValueError, match="no pages"):
        page_count_for_ranges(0, "1")
