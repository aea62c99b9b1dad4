"""Attendance value objects: punches, shifts, holidays and the computed day record.

All datetimes are timezone-aware. Durations are `timedelta`. Everything is immutable so a
computed timesheet can be cached, compared and exported without defensive copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PunchSource = Literal["face", "remote", "manual", "correction"]
PUNCH_SOURCES: frozenset[str] = frozenset({"face", "remote", "manual", "correction"})


class PunchDirection(StrEnum):
    IN = "IN"
    OUT = "OUT"
    # The terminal does not know; the engine decides from position in the day (see engine docs).
    AUTO = "AUTO"


class DayStatus(StrEnum):
    """Computed flags of one employee-day. A day carries several (e.g. LATE and EARLY_LEAVE).

    Declaration order is the order in which statuses and their reasons appear in a DayRecord.
    """

    PENDING = "pending"  # the day's window has not closed yet: deliberately not classified
    HOLIDAY = "holiday"
    REST_DAY = "rest_day"
    ABSENT = "absent"
    ON_TIME = "on_time"
    LATE = "late"
    SERIOUS_LATE = "serious_late"
    EARLY_LEAVE = "early_leave"
    HALF_DAY = "half_day"
    OVERTIME = "overtime"
    MISSING_CHECKIN = "missing_checkin"
    MISSING_CHECKOUT = "missing_checkout"


INCOMPLETE_STATUSES: frozenset[DayStatus] = frozenset({DayStatus.MISSING_CHECKIN, DayStatus.MISSING_CHECKOUT})


def require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")


@dataclass(frozen=True, slots=True)
class Punch:
    """One recorded clocking. `punch_id` is unique per punch (e.g. `device_id:event_id`)."""

    ts: datetime
    direction: PunchDirection
    source: PunchSource
    device_id: str | None
    punch_id: str

    def __post_init__(self) -> None:
        require_aware(self.ts, f"punch {self.punch_id!r} ts")
        if not isinstance(self.direction, PunchDirection):
            raise ValueError(f"punch {self.punch_id!r}: direction must be a PunchDirection")
        if self.source not in PUNCH_SOURCES:
            raise ValueError(
                f"punch {self.punch_id!r}: source {self.source!r} is not one of {sorted(PUNCH_SOURCES)}"
            )
        if not self.punch_id:
            raise ValueError("punch_id must not be empty")


_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Shift:
    """A fixed shift, modelled on Frappe HRMS Shift Type plus DingTalk's serious-late threshold.

    `start`/`end` are wall-clock times in `tz`. When `end <= start` the shift crosses midnight
    and belongs to the date it starts on (its *work date*).

    Windows (all measured from the scheduled start/end, in real elapsed time):
    - a punch belongs to a work date when it lies in
      [start - checkin_window_before, end + checkout_window_after);
    - the check-in window [start - checkin_window_before, start + checkin_window_after] and the
      check-out window [end - checkout_window_before, end + checkout_window_after] decide the
      direction of a lone AUTO punch.

    Thresholds:
    - LATE when the first IN is later than start + grace_late; SERIOUS_LATE (instead of LATE)
      when it is later than start + serious_late_after;
    - EARLY_LEAVE when the last OUT is earlier than end - grace_early_leave;
    - HALF_DAY when worked < half_day_min_hours; ABSENT when worked < absent_min_hours
      (both disabled at zero);
    - OVERTIME when worked exceeds the scheduled work time by more than overtime_after
      (the whole excess is reported, the threshold is only a tolerance).

    Breaks: `unpaid_break` is deducted from a day's worked time once the raw presence exceeds
    `unpaid_break_after` (auto-deducted lunch, as in BioStar's fixed shift); scheduled work time is
    the real shift length minus `unpaid_break`.
    """

    name: str
    start: time
    end: time
    tz: str
    checkin_window_before: timedelta = timedelta(hours=2)
    checkin_window_after: timedelta = timedelta(hours=4)
    checkout_window_before: timedelta = timedelta(hours=4)
    checkout_window_after: timedelta = timedelta(hours=4)
    grace_late: timedelta = timedelta(minutes=5)
    serious_late_after: timedelta = timedelta(minutes=30)
    grace_early_leave: timedelta = timedelta(minutes=5)
    half_day_min_hours: timedelta = timedelta(hours=4)
    absent_min_hours: timedelta = _ZERO
    overtime_after: timedelta = timedelta(minutes=30)
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    unpaid_break: timedelta = _ZERO
    unpaid_break_after: timedelta = timedelta(hours=6)
    duplicate_window: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("shift name must not be empty")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"shift {self.name!r}: unknown IANA time zone {self.tz!r}") from exc
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError(f"shift {self.name!r}: start/end are wall-clock times; the zone goes in tz")
        if self.start == self.end:
            raise ValueError(f"shift {self.name!r}: start and end are equal ({self.start})")
        for fname in (
            "checkin_window_before", "checkin_window_after", "checkout_window_before",
            "checkout_window_after", "grace_late", "serious_late_after", "grace_early_leave",
            "half_day_min_hours", "absent_min_hours", "overtime_after", "unpaid_break",
            "unpaid_break_after", "duplicate_window",
        ):
            if getattr(self, fname) < _ZERO:
                raise ValueError(f"shift {self.name!r}: {fname} must not be negative")
        # Bounded so a punch can only fall into a neighbouring day's window (see assign_work_date).
        if max(self.checkin_window_before, self.checkout_window_after) > timedelta(hours=24):
            raise ValueError(f"shift {self.name!r}: check-in/check-out windows are limited to 24 h")
        if self.serious_late_after < self.grace_late:
            raise ValueError(f"shift {self.name!r}: serious_late_after must be >= grace_late")
        if not set(self.workdays) <= set(range(7)):
            raise ValueError(f"shift {self.name!r}: workdays must be weekday numbers 0 (Mon) .. 6 (Sun)")
        # Accept any iterable of ints from callers but keep the frozen, hashable form.
        object.__setattr__(self, "workdays", frozenset(self.workdays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class Holiday:
    date: date
    name: str


@dataclass(frozen=True, slots=True)
class DayRecord:
    """The computed attendance of one employee on one work date.

    `first_in`/`last_out` are expressed in the shift's time zone. `reasons` holds one
    human-readable sentence per status, in status order, each prefixed with the status value
    (e.g. "late: first IN 09:17 is 17 min after shift start 09:00 (grace 5 min)").
    `notes` explains punches that were ignored, deduplicated, resolved or corrected.
    """

    employee_id: str
    work_date: date
    shift_name: str
    statuses: tuple[DayStatus, ...]
    first_in: datetime | None
    last_out: datetime | None
    worked: timedelta
    late_by: timedelta
    early_by: timedelta
    overtime: timedelta
    scheduled: timedelta
    reasons: tuple[str, ...]
    notes: tuple[str, ...] = ()
    punch_ids: tuple[str, ...] = field(default=())

    def has(self, status: DayStatus) -> bool:
        return status in self.statuses

    def reason_for(self, status: DayStatus) -> str | None:
        prefix = f"{status.value}:"
        return next((r for r in self.reasons if r.startswith(prefix)), None)

    @property
    def complete(self) -> bool:
        return not INCOMPLETE_STATUSES.intersection(self.statuses)
