"""Placing a shift on the calendar: real (UTC-correct) start, end and windows for one work date.

Python adds a timedelta to an aware datetime in *wall-clock* time and subtracts two datetimes
that share a tzinfo without looking at their offsets, which is wrong across a DST change. All
arithmetic here therefore goes through UTC; results are converted back to the shift zone only
for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.domain.attendance.models import Shift, require_aware


def local_datetime(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """`day` + `wall` in `zone`, normalised.

    A wall time that falls in a spring-forward gap (02:30 on a night the clock jumps 02:00 ->
    03:00) does not exist; PEP 495 fold=0 reads it with the offset in force before the jump, so
    it lands on the equivalent instant after the jump (03:30). In a fall-back overlap the first
    (earlier, summer-time) occurrence is used.
    """
    naive = datetime.combine(day, wall).replace(tzinfo=zone, fold=0)
    return naive.astimezone(UTC).astimezone(zone)


def shift_by(ts: datetime, delta: timedelta, zone: ZoneInfo) -> datetime:
    """`ts + delta` in real elapsed time, expressed in `zone`."""
    return (ts.astimezone(UTC) + delta).astimezone(zone)


def elapsed(start: datetime, end: datetime) -> timedelta:
    """Real time between two aware datetimes, DST-safe."""
    return end.astimezone(UTC) - start.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ShiftWindow:
    """One shift occurrence. Every datetime is aware and expressed in the shift zone."""

    work_date: date
    start: datetime
    end: datetime
    opens: datetime  # first instant a punch can belong to this work date
    closes: datetime  # exclusive end of the assignment window
    checkin_until: datetime
    checkout_from: datetime

    @property
    def span(self) -> timedelta:
        """Real length of the shift: 7 h or 9 h for a 22:00-06:00 shift on a DST night."""
        return elapsed(self.start, self.end)

    def contains(self, ts: datetime) -> bool:
        u = ts.astimezone(UTC)
        return self.opens.astimezone(UTC) <= u < self.closes.astimezone(UTC)

    def in_checkin_window(self, ts: datetime) -> bool:
        u = ts.astimezone(UTC)
        return self.opens.astimezone(UTC) <= u <= self.checkin_until.astimezone(UTC)

    def in_checkout_window(self, ts: datetime) -> bool:
        u = ts.astimezone(UTC)
        return self.checkout_from.astimezone(UTC) <= u < self.closes.astimezone(UTC)

    def distance(self, ts: datetime) -> timedelta:
        """How far `ts` lies outside the scheduled [start, end] (zero inside)."""
        u = ts.astimezone(UTC)
        s, e = self.start.astimezone(UTC), self.end.astimezone(UTC)
        if u < s:
            return s - u
        if u > e:
            return u - e
        return timedelta(0)


def window_for(shift: Shift, work_date: date) -> ShiftWindow:
    zone = shift.zone
    start = local_datetime(work_date, shift.start, zone)
    end_day = work_date + timedelta(days=1) if shift.crosses_midnight else work_date
    end = local_datetime(end_day, shift.end, zone)
    return ShiftWindow(
        work_date=work_date,
        start=start,
        end=end,
        opens=shift_by(start, -shift.checkin_window_before, zone),
        closes=shift_by(end, shift.checkout_window_after, zone),
        checkin_until=shift_by(start, shift.checkin_window_after, zone),
        checkout_from=shift_by(end, -shift.checkout_window_before, zone),
    )


def assign_work_date(ts: datetime, shift: Shift) -> date | None:
    """The work date whose window contains `ts`, or None when it lies outside every window.

    A 02:00 punch against a 22:00-06:00 shift belongs to the previous day's shift. When generous
    windows overlap, the occurrence whose scheduled interval is nearest wins; a tie goes to the
    earlier work date, so the result is deterministic.
    """
    require_aware(ts, "punch ts")
    local_day = ts.astimezone(shift.zone).date()
    best: tuple[timedelta, date] | None = None
    # Windows are anchored on the start date; a punch can only fall into a neighbour's window.
    for offset in (-2, -1, 0, 1):
        candidate = local_day + timedelta(days=offset)
        win = window_for(shift, candidate)
        if win.contains(ts):
            key = (win.distance(ts), candidate)
            if best is None or key < best:
                best = key
    return None if best is None else best[1]
