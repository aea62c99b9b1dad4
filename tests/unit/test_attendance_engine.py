"""Day classification on a 09:00-17:00 Europe/Berlin day shift (Tue 2026-03-03), table-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.domain.attendance import (
    DayRecord,
    DayStatus,
    Holiday,
    Punch,
    PunchDirection,
    Shift,
    compute_day,
    compute_timesheet,
)

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = date(2026, 3, 3)
SATURDAY = date(2026, 3, 7)
SUNDAY = date(2026, 3, 8)
IN, OUT, AUTO = PunchDirection.IN, PunchDirection.OUT, PunchDirection.AUTO
S = DayStatus

DAY = Shift(name="Day", start=time(9), end=time(17), tz="Europe/Berlin")


def punches(day: date, *spec: tuple[str, PunchDirection]) -> list[Punch]:
    out = []
    for i, (hhmm, direction) in enumerate(spec):
        h, m = map(int, hhmm.split(":"))
        ts = datetime(day.year, day.month, day.day, h, m, tzinfo=BERLIN)
        out.append(Punch(ts=ts, direction=direction, source="face", device_id="door-1", punch_id=f"p{i}"))
    return out


def day(spec: tuple[tuple[str, PunchDirection], ...], *, shift: Shift = DAY, on: date = TUESDAY,
        holidays: tuple[Holiday, ...] = (), now: datetime | None = None) -> DayRecord:
    return compute_day(employee_id="e1", work_date=on, punches=punches(on, *spec), shift=shift,
                       holidays=holidays, now=now)


def minutes(td: timedelta) -> int:
    return int(td.total_seconds() // 60)


# (id, punches, statuses, worked min, late min, early min, overtime min)
WORKDAY_CASES = [
    ("on_time_before_start", (("08:55", IN), ("17:00", OUT)), {S.ON_TIME}, 485, 0, 0, 0),
    ("within_grace", (("09:04", IN), ("17:00", OUT)), {S.ON_TIME}, 476, 0, 0, 0),
    ("exactly_at_grace_edge", (("09:05", IN), ("17:00", OUT)), {S.ON_TIME}, 475, 0, 0, 0),
    ("late", (("09:17", IN), ("17:00", OUT)), {S.LATE}, 463, 17, 0, 0),
    ("serious_late", (("09:45", IN), ("17:00", OUT)), {S.SERIOUS_LATE}, 435, 45, 0, 0),
    ("early_leave", (("09:00", IN), ("16:30", OUT)), {S.ON_TIME, S.EARLY_LEAVE}, 450, 0, 30, 0),
    ("early_leave_within_grace", (("09:00", IN), ("16:57", OUT)), {S.ON_TIME}, 477, 0, 0, 0),
    ("half_day", (("09:00", IN), ("12:30", OUT)), {S.ON_TIME, S.EARLY_LEAVE, S.HALF_DAY}, 210, 0, 270, 0),
    ("overtime", (("09:00", IN), ("18:30", OUT)), {S.ON_TIME, S.OVERTIME}, 570, 0, 0, 90),
    ("overtime_within_tolerance", (("09:00", IN), ("17:20", OUT)), {S.ON_TIME}, 500, 0, 0, 0),
    ("late_and_overtime", (("09:20", IN), ("19:00", OUT)), {S.LATE, S.OVERTIME}, 580, 20, 0, 100),
    ("missing_checkout", (("09:00", IN),), {S.ON_TIME, S.MISSING_CHECKOUT}, 0, 0, 0, 0),
    ("missing_checkout_after_lunch", (("09:00", IN), ("12:00", OUT), ("13:00", IN)),
     {S.ON_TIME, S.MISSING_CHECKOUT}, 180, 0, 0, 0),
    ("missing_checkin", (("17:00", OUT),), {S.MISSING_CHECKIN}, 0, 0, 0, 0),
    ("absent_no_punch", (), {S.ABSENT}, 0, 0, 0, 0),
    ("punched_lunch_break", (("09:00", IN), ("12:00", OUT), ("13:00", IN), ("17:00", OUT)),
     {S.ON_TIME}, 420, 0, 0, 0),
    ("auto_directions_toggle", (("08:58", AUTO), ("12:00", AUTO), ("12:30", AUTO), ("17:02", AUTO)),
     {S.ON_TIME}, 454, 0, 0, 0),
    ("auto_single_punch_morning", (("09:10", AUTO),), {S.LATE, S.MISSING_CHECKOUT}, 0, 10, 0, 0),
    ("auto_single_punch_evening", (("17:05", AUTO),), {S.MISSING_CHECKIN}, 0, 0, 0, 0),
    ("duplicates_ignored", (("09:00", IN), ("09:01", IN), ("09:01", AUTO), ("17:00", OUT), ("17:01", OUT)),
     {S.ON_TIME}, 480, 0, 0, 0),
    ("second_in_ignored", (("09:00", IN), ("10:00", IN), ("17:00", OUT)), {S.ON_TIME}, 480, 0, 0, 0),
    ("later_out_wins", (("09:00", IN), ("16:00", OUT), ("17:00", OUT)), {S.ON_TIME}, 480, 0, 0, 0),
    ("punch_before_window_not_counted", (("06:30", IN), ("17:00", OUT)), {S.MISSING_CHECKIN}, 0, 0, 0, 0),
]


@pytest.mark.parametrize(
    ("spec", "statuses", "worked", "late", "early", "overtime"),
    [pytest.param(*c[1:], id=c[0]) for c in WORKDAY_CASES],
)
def test_workday_classification(
    spec: tuple[tuple[str, PunchDirection], ...], statuses: set[DayStatus], worked: int, late: int,
    early: int, overtime: int,
) -> None:
    rec = day(spec)
    assert set(rec.statuses) == statuses
    assert (minutes(rec.worked), minutes(rec.late_by), minutes(rec.early_by), minutes(rec.overtime)) == (
        worked, late, early, overtime,
    )


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0]) for c in WORKDAY_CASES])
def test_every_status_has_a_reason(case: tuple) -> None:  # type: ignore[type-arg]
    rec = day(case[1])
    assert len(rec.reasons) == len(rec.statuses)
    for status in rec.statuses:
        reason = rec.reason_for(status)
        assert reason is not None and len(reason) > len(status.value) + 5


@pytest.mark.parametrize(
    ("spec", "status", "reason"),
    [
        pytest.param((("09:17", IN), ("17:00", OUT)), S.LATE,
                     "late: first IN 09:17 is 17 min after shift start 09:00 (grace 5 min)", id="late"),
        pytest.param((("09:03", IN), ("17:00", OUT)), S.ON_TIME,
                     "on_time: first IN 09:03 is 3 min after shift start 09:00, within grace 5 min",
                     id="grace"),
        pytest.param((("09:45", IN), ("17:00", OUT)), S.SERIOUS_LATE,
                     "serious_late: first IN 09:45 is 45 min after shift start 09:00 (serious after 30 min)",
                     id="serious"),
        pytest.param((("09:00", IN), ("16:30", OUT)), S.EARLY_LEAVE,
                     "early_leave: last OUT 16:30 is 30 min before shift end 17:00 (grace 5 min)",
                     id="early"),
        pytest.param((), S.ABSENT, "absent: no punch between 07:00 and 21:00 on a workday", id="absent"),
        pytest.param((("09:00", IN), ("18:30", OUT)), S.OVERTIME,
                     "overtime: worked 9 h 30 min, 1 h 30 min more than the scheduled 8 h 00 min"
                     " (tolerance 30 min)", id="overtime"),
        pytest.param((("09:00", IN),), S.MISSING_CHECKOUT,
                     "missing_checkout: IN at 09:00 has no OUT after it in the window 07:00-21:00",
                     id="missing_checkout"),
    ],
)
def test_reason_wording(spec: tuple[tuple[str, PunchDirection], ...], status: DayStatus, reason: str) -> None:
    assert day(spec).reason_for(status) == reason


def test_auto_and_duplicate_punches_leave_notes() -> None:
    rec = day((("09:00", AUTO), ("09:01", IN), ("17:00", AUTO)))
    assert rec.punch_ids == ("p0", "p2")
    assert any(n.startswith("duplicate IN 09:01") for n in rec.notes)
    assert "AUTO punch at 09:00 (p0) read as IN: first punch of the day" in rec.notes
    assert "AUTO punch at 17:00 (p2) read as OUT: last punch of the day" in rec.notes


def test_redelivered_punch_counted_once() -> None:
    p = punches(TUESDAY, ("09:00", IN), ("17:00", OUT))
    rec = compute_day(employee_id="e1", work_date=TUESDAY, punches=[*p, p[1]], shift=DAY)
    assert minutes(rec.worked) == 480
    assert rec.statuses == (S.ON_TIME,)


@pytest.mark.parametrize(
    ("on", "spec", "holidays", "statuses", "overtime"),
    [
        pytest.param(TUESDAY, (), (Holiday(TUESDAY, "Company day"),), {S.HOLIDAY}, 0,
                     id="holiday_not_absent"),
        pytest.param(SATURDAY, (), (), {S.REST_DAY}, 0, id="rest_day_not_absent"),
        pytest.param(SATURDAY, (("10:00", IN), ("14:00", OUT)), (), {S.REST_DAY, S.OVERTIME}, 240,
                     id="worked_rest_day_is_overtime"),
        pytest.param(TUESDAY, (("09:00", IN), ("12:00", OUT)), (Holiday(TUESDAY, "Company day"),),
                     {S.HOLIDAY, S.OVERTIME}, 180, id="worked_holiday_is_overtime"),
        pytest.param(SUNDAY, (), (Holiday(SUNDAY, "Easter"),), {S.HOLIDAY, S.REST_DAY}, 0,
                     id="holiday_on_rest_day"),
        pytest.param(SATURDAY, (("10:00", IN),), (), {S.REST_DAY, S.MISSING_CHECKOUT}, 0,
                     id="rest_day_incomplete"),
    ],
)
def test_days_off(
    on: date, spec: tuple[tuple[str, PunchDirection], ...], holidays: tuple[Holiday, ...],
    statuses: set[DayStatus], overtime: int,
) -> None:
    rec = day(spec, on=on, holidays=holidays)
    assert set(rec.statuses) == statuses
    assert minutes(rec.overtime) == overtime
    assert len(rec.reasons) == len(rec.statuses)


def test_holiday_reason_names_the_holiday() -> None:
    rec = day((), holidays=(Holiday(TUESDAY, "Company day"),))
    assert rec.reasons == ("holiday: 2026-03-03 is a holiday (Company day)",)


@pytest.mark.parametrize(
    ("shift", "spec", "statuses", "worked", "scheduled"),
    [
        pytest.param(replace(DAY, unpaid_break=timedelta(hours=1)), (("09:00", IN), ("17:00", OUT)),
                     {S.ON_TIME}, 420, 420, id="unpaid_break_deducted"),
        pytest.param(replace(DAY, unpaid_break=timedelta(hours=1)), (("09:00", IN), ("13:00", OUT)),
                     {S.ON_TIME, S.EARLY_LEAVE}, 240, 420, id="short_day_keeps_break"),
        pytest.param(replace(DAY, absent_min_hours=timedelta(hours=2)), (("09:00", IN), ("10:30", OUT)),
                     {S.ON_TIME, S.EARLY_LEAVE, S.ABSENT}, 90, 480, id="below_absent_threshold"),
        pytest.param(replace(DAY, half_day_min_hours=timedelta(0)), (("09:00", IN), ("12:00", OUT)),
                     {S.ON_TIME, S.EARLY_LEAVE}, 180, 480, id="half_day_disabled"),
    ],
)
def test_thresholds(
    shift: Shift, spec: tuple[tuple[str, PunchDirection], ...], statuses: set[DayStatus], worked: int,
    scheduled: int,
) -> None:
    rec = day(spec, shift=shift)
    assert set(rec.statuses) == statuses
    assert (minutes(rec.worked), minutes(rec.scheduled)) == (worked, scheduled)


@pytest.mark.parametrize(
    ("now", "statuses"),
    [
        pytest.param(datetime(2026, 3, 3, 12, 0, tzinfo=BERLIN), {S.PENDING}, id="shift_ongoing"),
        pytest.param(datetime(2026, 3, 3, 20, 59, tzinfo=BERLIN), {S.PENDING}, id="checkout_window_open"),
        pytest.param(datetime(2026, 3, 3, 21, 0, tzinfo=BERLIN), {S.ON_TIME, S.MISSING_CHECKOUT},
                     id="window_closed"),
    ],
)
def test_ongoing_day_is_not_classified(now: datetime, statuses: set[DayStatus]) -> None:
    rec = day((("09:00", IN),), now=now)
    assert set(rec.statuses) == statuses


def test_future_day_is_pending_not_absent() -> None:
    rec = day((), now=datetime(2026, 3, 2, 12, 0, tzinfo=BERLIN))
    assert rec.statuses == (S.PENDING,)
    assert rec.reasons == ("pending: the day's window closes at 21:00; it is not classified before then",)


def test_timesheet_covers_every_date_in_order() -> None:
    p = punches(TUESDAY, ("09:17", IN), ("17:00", OUT)) + punches(date(2026, 3, 20), ("09:00", IN))
    recs = compute_timesheet(employee_id="e1", punches=p, shift=DAY, start_date=date(2026, 3, 2),
                             end_date=SUNDAY)
    assert [r.work_date for r in recs] == [date(2026, 3, d) for d in range(2, 9)]
    assert [r.statuses for r in recs] == [
        (S.ABSENT,), (S.LATE,), (S.ABSENT,), (S.ABSENT,), (S.ABSENT,), (S.REST_DAY,), (S.REST_DAY,),
    ]
    assert all(r.employee_id == "e1" for r in recs)


def test_timesheet_is_deterministic_regardless_of_input_order() -> None:
    p = punches(TUESDAY, ("09:00", AUTO), ("12:00", AUTO), ("12:30", AUTO), ("17:00", AUTO))
    kwargs = dict(employee_id="e1", shift=DAY, start_date=TUESDAY, end_date=TUESDAY)
    assert compute_timesheet(punches=p, **kwargs) == compute_timesheet(punches=p[::-1], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(dict(start_date=TUESDAY, end_date=date(2026, 3, 2)), "before start_date", id="reversed"),
        pytest.param(dict(start_date=TUESDAY, end_date=TUESDAY, now=datetime(2026, 3, 3, 12)), "aware",
                     id="naive_now"),
    ],
)
def test_timesheet_rejects_bad_arguments(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        compute_timesheet(employee_id="e1", punches=[], shift=DAY, **kwargs)
