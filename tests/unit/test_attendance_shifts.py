"""Night shifts, DST nights, time zones of punches, and model validation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain.attendance import (
    DayStatus,
    Punch,
    PunchDirection,
    Shift,
    assign_work_date,
    compute_day,
    window_for,
)
from hub.domain.attendance.shifts import local_datetime

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
IN, OUT = PunchDirection.IN, PunchDirection.OUT
S = DayStatus
ALL_DAYS = frozenset(range(7))

NIGHT = Shift(name="Night", start=time(22), end=time(6), tz="Europe/Berlin", workdays=ALL_DAYS,
              checkin_window_before=timedelta(hours=2), checkout_window_after=timedelta(hours=4))
DAY = Shift(name="Day", start=time(9), end=time(17), tz="Europe/Berlin")


def p(ts: datetime, direction: PunchDirection, pid: str) -> Punch:
    return Punch(ts=ts, direction=direction, source="face", device_id="door-1", punch_id=pid)


def b(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("ts", "work_date"),
    [
        pytest.param(b(2026, 3, 4, 2), date(2026, 3, 3), id="0200_belongs_to_previous_night"),
        pytest.param(b(2026, 3, 3, 21, 30), date(2026, 3, 3), id="early_checkin_same_date"),
        pytest.param(b(2026, 3, 4, 9, 59), date(2026, 3, 3), id="last_minute_of_checkout_window"),
        pytest.param(b(2026, 3, 4, 10, 0), None, id="window_end_is_exclusive"),
        pytest.param(b(2026, 3, 4, 20, 0), date(2026, 3, 4), id="window_opens_two_hours_early"),
        pytest.param(b(2026, 3, 4, 1, 0).astimezone(UTC), date(2026, 3, 3), id="utc_punch"),
    ],
)
def test_night_shift_assignment(ts: datetime, work_date: date | None) -> None:
    assert assign_work_date(ts, NIGHT) == work_date


def test_night_shift_across_midnight() -> None:
    rec = compute_day(
        employee_id="e1", work_date=date(2026, 3, 3), shift=NIGHT,
        punches=[p(b(2026, 3, 3, 21, 55), IN, "a"), p(b(2026, 3, 4, 6, 3), OUT, "b")],
    )
    assert rec.statuses == (S.ON_TIME,)
    assert rec.worked == timedelta(hours=8, minutes=8)
    assert rec.last_out == b(2026, 3, 4, 6, 3)


def test_night_shift_early_leave_reason_names_next_date() -> None:
    rec = compute_day(
        employee_id="e1", work_date=date(2026, 3, 3), shift=NIGHT,
        punches=[p(b(2026, 3, 3, 22), IN, "a"), p(b(2026, 3, 4, 5), OUT, "b")],
    )
    assert rec.reason_for(S.EARLY_LEAVE) == (
        "early_leave: last OUT 05:00 on 2026-03-04 is 1 h 00 min before shift end 06:00 on 2026-03-04"
        " (grace 5 min)"
    )


@pytest.mark.parametrize(
    ("work_date", "hours"),
    [
        pytest.param(date(2026, 3, 3), 8, id="ordinary_night"),
        pytest.param(date(2026, 3, 28), 7, id="spring_forward_berlin_2026_03_29"),
        pytest.param(date(2026, 10, 24), 9, id="fall_back_berlin_2026_10_25"),
    ],
)
def test_dst_nights_have_real_length(work_date: date, hours: int) -> None:
    win = window_for(NIGHT, work_date)
    assert win.span == timedelta(hours=hours)
    nxt = work_date + timedelta(days=1)
    rec = compute_day(
        employee_id="e1", work_date=work_date, shift=NIGHT,
        punches=[p(local_datetime(work_date, time(22), BERLIN), IN, "a"),
                 p(local_datetime(nxt, time(6), BERLIN), OUT, "b")],
    )
    # A full night is exactly the schedule: no overtime, no half day, no early leave.
    assert rec.statuses == (S.ON_TIME,)
    assert rec.worked == rec.scheduled == timedelta(hours=hours)


def test_fall_back_night_counts_the_repeated_hour() -> None:
    # Out at 03:00 CET, after the clocks fell back: 6 real hours since 22:00, not 5 wall-clock hours.
    out = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    rec = compute_day(
        employee_id="e1", work_date=date(2026, 10, 24), shift=NIGHT,
        punches=[p(b(2026, 10, 24, 22), IN, "a"), p(out, OUT, "b")],
    )
    assert rec.worked == timedelta(hours=6)
    assert rec.early_by == timedelta(hours=3)
    assert S.EARLY_LEAVE in rec.statuses


def test_spring_forward_gap_start_is_moved_past_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin; PEP 495 fold=0 reads it as 03:30 CEST.
    assert local_datetime(date(2026, 3, 29), time(2, 30), BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_punch_in_another_time_zone() -> None:
    # 03:17 in New York on 2026-03-03 (UTC-5) is 09:17 in Berlin (UTC+1).
    rec = compute_day(
        employee_id="e1", work_date=date(2026, 3, 3), shift=DAY,
        punches=[p(datetime(2026, 3, 3, 3, 17, tzinfo=NEW_YORK), IN, "a"),
                 p(datetime(2026, 3, 3, 16, 0, tzinfo=UTC), OUT, "b")],
    )
    assert rec.statuses == (S.LATE,)
    assert rec.late_by == timedelta(minutes=17)
    assert rec.first_in is not None and rec.first_in.tzinfo == BERLIN
    assert (rec.first_in.hour, rec.first_in.minute) == (9, 17)
    assert rec.reason_for(S.LATE) == "late: first IN 09:17 is 17 min after shift start 09:00 (grace 5 min)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(dict(tz="Mars/Olympus"), "unknown IANA time zone", id="unknown_tz"),
        pytest.param(dict(end=time(9)), "start and end are equal", id="zero_length"),
        pytest.param(dict(grace_late=timedelta(minutes=-1)), "must not be negative", id="negative_grace"),
        pytest.param(dict(workdays=frozenset({7})), "weekday numbers", id="bad_weekday"),
        pytest.param(dict(serious_late_after=timedelta(minutes=1)), "serious_late_after",
                     id="serious_lt_grace"),
        pytest.param(dict(checkin_window_before=timedelta(hours=25)), "limited to 24 h", id="huge_window"),
        pytest.param(dict(start=time(9, tzinfo=UTC)), "wall-clock", id="aware_start"),
        pytest.param(dict(name=""), "name", id="empty_name"),
    ],
)
def test_shift_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = dict(name="Day", start=time(9), end=time(17), tz="Europe/Berlin")
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Shift(**fields)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(dict(ts=datetime(2026, 3, 3, 9)), "timezone-aware", id="naive_ts"),
        pytest.param(dict(source="fax"), "source", id="unknown_source"),
        pytest.param(dict(punch_id=""), "punch_id", id="empty_id"),
        pytest.param(dict(direction="IN"), "PunchDirection", id="plain_string_direction"),
    ],
)
def test_punch_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = dict(
        ts=b(2026, 3, 3, 9), direction=IN, source="face", device_id=None, punch_id="x"
    )
    fields.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Punch(**fields)
