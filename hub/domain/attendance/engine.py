"""The attendance engine: punches + shift + calendar -> one DayRecord per work date.

Deterministic and pure: the same inputs give the same records (punches are ordered by instant,
then punch_id). Rules, in the order they are applied to a work date:

1. Assignment: a punch belongs to the work date whose window
   [start - checkin_window_before, end + checkout_window_after) contains it; a night shift's
   02:00 punch belongs to the previous day. Punches in no window are not counted.
   Approved missed-punch requests are added as punches with source "correction"; requests in any
   other state are ignored, so callers may pass every request of the employee.
2. Presence: duplicates, AUTO direction and IN/OUT pairing (see presence.py).
3. PENDING: when `now` is given and the window has not closed, the day is not classified
   (an ongoing shift is not "missing checkout", a morning is not "absent").
4. Holiday / rest day: never ABSENT; any worked time there is OVERTIME.
5. Workday: no punch -> ABSENT. Otherwise arrival is ON_TIME, LATE or SERIOUS_LATE (from the first
   IN); MISSING_CHECKIN / MISSING_CHECKOUT mark an incomplete day. A complete day is also checked
   for EARLY_LEAVE, ABSENT/HALF_DAY (worked-hours thresholds) and OVERTIME. An incomplete day gets
   no leave/half-day/overtime verdict: the missing punch would decide it, and a missed-punch
   request is how it gets fixed.

All durations are real elapsed time (UTC arithmetic), so a 22:00-06:00 shift on a DST night is
7 h or 9 h long. Every status carries a reason sentence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from hub.domain.attendance.corrections import MissedPunchRequest, RequestState, to_punch
from hub.domain.attendance.fmt import fmt_dur, fmt_ts
from hub.domain.attendance.intervals import Presence, build_presence
from hub.domain.attendance.models import DayRecord, DayStatus, Holiday, Punch, Shift, require_aware
from hub.domain.attendance.shifts import ShiftWindow, assign_work_date, elapsed, window_for

_ZERO = timedelta(0)
_ORDER = {s: i for i, s in enumerate(DayStatus)}
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _merge_corrections(
    employee_id: str, punches: Iterable[Punch], corrections: Iterable[MissedPunchRequest]
) -> tuple[list[Punch], dict[str, MissedPunchRequest]]:
    merged = list(punches)
    by_punch: dict[str, MissedPunchRequest] = {}
    for req in corrections:
        if req.employee_id != employee_id:
            raise ValueError(f"correction {req.id} belongs to {req.employee_id}, not {employee_id}")
        if req.state is RequestState.APPROVED:
            punch = to_punch(req)
            merged.append(punch)
            by_punch[punch.punch_id] = req
    return merged, by_punch


def _holiday_map(holidays: Iterable[Holiday]) -> dict[date, str]:
    names: dict[date, list[str]] = defaultdict(list)
    for h in holidays:
        names[h.date].append(h.name)
    return {d: " / ".join(sorted(n)) for d, n in names.items()}


class _Verdict:
    """Collects statuses with their reasons; emits them in DayStatus order."""

    def __init__(self) -> None:
        self._items: dict[DayStatus, str] = {}

    def add(self, status: DayStatus, reason: str) -> None:
        self._items[status] = f"{status.value}: {reason}"

    def __contains__(self, status: DayStatus) -> bool:
        return status in self._items

    def statuses(self) -> tuple[DayStatus, ...]:
        return tuple(sorted(self._items, key=_ORDER.__getitem__))

    def reasons(self) -> tuple[str, ...]:
        return tuple(self._items[s] for s in self.statuses())


def _worked(shift: Shift, pres: Presence, notes: list[str]) -> timedelta:
    raw = pres.raw_worked
    if shift.unpaid_break > _ZERO and raw > shift.unpaid_break_after:
        notes.append(
            f"unpaid break of {fmt_dur(shift.unpaid_break)} deducted"
            f" (presence {fmt_dur(raw)} exceeds {fmt_dur(shift.unpaid_break_after)})"
        )
        return max(raw - shift.unpaid_break, _ZERO)
    return raw


def _classify_arrival(v: _Verdict, shift: Shift, win: ShiftWindow, first_in: Punch) -> timedelta:
    late_by = max(elapsed(win.start, first_in.ts), _ZERO)
    at, start = fmt_ts(first_in.ts, win), fmt_ts(win.start, win)
    if late_by > shift.serious_late_after:
        v.add(
            DayStatus.SERIOUS_LATE,
            f"first IN {at} is {fmt_dur(late_by)} after shift start {start}"
            f" (serious after {fmt_dur(shift.serious_late_after)})",
        )
    elif late_by > shift.grace_late:
        v.add(
            DayStatus.LATE,
            f"first IN {at} is {fmt_dur(late_by)} after shift start {start}"
            f" (grace {fmt_dur(shift.grace_late)})",
        )
    elif late_by > _ZERO:
        v.add(
            DayStatus.ON_TIME,
            f"first IN {at} is {fmt_dur(late_by)} after shift start {start},"
            f" within grace {fmt_dur(shift.grace_late)}",
        )
    else:
        v.add(DayStatus.ON_TIME, f"first IN {at} is at or before shift start {start}")
    return late_by


def _classify_complete(
    v: _Verdict, shift: Shift, win: ShiftWindow, last_out: Punch, worked: timedelta, scheduled: timedelta
) -> tuple[timedelta, timedelta]:
    early_by = max(elapsed(last_out.ts, win.end), _ZERO)
    if early_by > shift.grace_early_leave:
        v.add(
            DayStatus.EARLY_LEAVE,
            f"last OUT {fmt_ts(last_out.ts, win)} is {fmt_dur(early_by)} before shift end"
            f" {fmt_ts(win.end, win)} (grace {fmt_dur(shift.grace_early_leave)})",
        )
    if shift.absent_min_hours > _ZERO and worked < shift.absent_min_hours:
        v.add(
            DayStatus.ABSENT,
            f"worked {fmt_dur(worked)}, below the absent threshold {fmt_dur(shift.absent_min_hours)}",
        )
    elif shift.half_day_min_hours > _ZERO and worked < shift.half_day_min_hours:
        v.add(
            DayStatus.HALF_DAY,
            f"worked {fmt_dur(worked)}, below the full-day minimum {fmt_dur(shift.half_day_min_hours)}",
        )
    excess = worked - scheduled
    overtime = _ZERO
    if excess > shift.overtime_after and excess > _ZERO:
        overtime = excess
        v.add(
            DayStatus.OVERTIME,
            f"worked {fmt_dur(worked)}, {fmt_dur(excess)} more than the scheduled {fmt_dur(scheduled)}"
            f" (tolerance {fmt_dur(shift.overtime_after)})",
        )
    return (early_by if DayStatus.EARLY_LEAVE in v else _ZERO), overtime


def _classify_incomplete(v: _Verdict, win: ShiftWindow, pres: Presence) -> None:
    window = f"{fmt_ts(win.opens, win)}-{fmt_ts(win.closes, win)}"
    if pres.first_in is None and pres.last_out is not None:
        v.add(
            DayStatus.MISSING_CHECKIN,
            f"OUT at {fmt_ts(pres.last_out.ts, win)} but no IN in the window {window}",
        )
    if pres.open_in is not None:
        v.add(
            DayStatus.MISSING_CHECKOUT,
            f"IN at {fmt_ts(pres.open_in.ts, win)} has no OUT after it in the window {window}",
        )


def _day(
    *,
    employee_id: str,
    work_date: date,
    punches: Sequence[Punch],
    shift: Shift,
    holiday_names: dict[date, str],
    corrections: dict[str, MissedPunchRequest],
    now: datetime | None,
) -> DayRecord:
    win = window_for(shift, work_date)
    pres = build_presence(punches, win, duplicate_window=shift.duplicate_window)
    notes = list(pres.notes)
    for p in pres.punches:
        if p.punch_id in corrections:
            req = corrections[p.punch_id]
            notes.append(
                f"{p.direction.value} {fmt_ts(p.ts, win)} comes from missed-punch request {req.id}"
                f" approved by {req.decided_by}"
            )
    worked = _worked(shift, pres, notes)
    scheduled = max(win.span - shift.unpaid_break, _ZERO)
    v = _Verdict()
    late_by = early_by = overtime = _ZERO
    holiday = holiday_names.get(work_date)
    rest = work_date.weekday() not in shift.workdays

    if now is not None and now.astimezone(UTC) < win.closes.astimezone(UTC):
        v.add(
            DayStatus.PENDING,
            f"the day's window closes at {fmt_ts(win.closes, win)}; it is not classified before then",
        )
    elif holiday is not None or rest:
        if holiday is not None:
            v.add(DayStatus.HOLIDAY, f"{work_date.isoformat()} is a holiday ({holiday})")
        if rest:
            v.add(
                DayStatus.REST_DAY,
                f"{_WEEKDAYS[work_date.weekday()]} is not a workday of shift {shift.name!r}",
            )
        _classify_incomplete(v, win, pres)
        if worked > _ZERO:
            overtime = worked
            v.add(DayStatus.OVERTIME, f"worked {fmt_dur(worked)} on a day off; all of it counts as overtime")
    elif not pres.punches:
        v.add(
            DayStatus.ABSENT,
            f"no punch between {fmt_ts(win.opens, win)} and {fmt_ts(win.closes, win)} on a workday",
        )
    else:
        if pres.first_in is not None:
            late_by = _classify_arrival(v, shift, win, pres.first_in)
        _classify_incomplete(v, win, pres)
        complete = DayStatus.MISSING_CHECKIN not in v and DayStatus.MISSING_CHECKOUT not in v
        if complete and pres.last_out is not None:
            early_by, overtime = _classify_complete(v, shift, win, pres.last_out, worked, scheduled)

    zone = shift.zone
    return DayRecord(
        employee_id=employee_id,
        work_date=work_date,
        shift_name=shift.name,
        statuses=v.statuses(),
        first_in=pres.first_in.ts.astimezone(zone) if pres.first_in else None,
        last_out=pres.last_out.ts.astimezone(zone) if pres.last_out else None,
        worked=worked,
        late_by=late_by if (DayStatus.LATE in v or DayStatus.SERIOUS_LATE in v) else _ZERO,
        early_by=early_by,
        overtime=overtime,
        scheduled=scheduled,
        reasons=v.reasons(),
        notes=tuple(notes),
        punch_ids=tuple(p.punch_id for p in pres.punches),
    )


def compute_timesheet(
    *,
    employee_id: str,
    punches: Iterable[Punch],
    shift: Shift,
    start_date: date,
    end_date: date,
    holidays: Iterable[Holiday] = (),
    approved_corrections: Iterable[MissedPunchRequest] = (),
    now: datetime | None = None,
) -> list[DayRecord]:
    """One DayRecord per work date in [start_date, end_date] (inclusive), in date order.

    `punches` may cover any period: each is assigned to its work date and those outside the range
    are left out. Pass `now` to leave days whose window is still open as PENDING.
    """
    if end_date < start_date:
        raise ValueError(f"end_date {end_date} is before start_date {start_date}")
    if now is not None:
        require_aware(now, "now")
    merged, corrections = _merge_corrections(employee_id, punches, approved_corrections)
    by_day: dict[date, list[Punch]] = defaultdict(list)
    for p in merged:
        day = assign_work_date(p.ts, shift)
        if day is not None and start_date <= day <= end_date:
            by_day[day].append(p)
    names = _holiday_map(holidays)
    records: list[DayRecord] = []
    day = start_date
    while day <= end_date:
        records.append(
            _day(
                employee_id=employee_id, work_date=day, punches=by_day.get(day, []), shift=shift,
                holiday_names=names, corrections=corrections, now=now,
            )
        )
        day += timedelta(days=1)
    return records


def compute_day(
    *,
    employee_id: str,
    work_date: date,
    punches: Iterable[Punch],
    shift: Shift,
    holidays: Iterable[Holiday] = (),
    approved_corrections: Iterable[MissedPunchRequest] = (),
    now: datetime | None = None,
) -> DayRecord:
    """The DayRecord of one work date; `punches` may include other days' punches (they are skipped)."""
    return compute_timesheet(
        employee_id=employee_id, punches=punches, shift=shift, start_date=work_date, end_date=work_date,
        holidays=holidays, approved_corrections=approved_corrections, now=now,
    )[0]
