"""Wording used in reasons and notes, so every sentence reads the same way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.domain.attendance.shifts import ShiftWindow


def fmt_ts(ts: datetime, win: ShiftWindow) -> str:
    """Wall-clock time in the shift zone; the date is added when it is not the work date."""
    local = ts.astimezone(win.start.tzinfo)
    text = local.strftime("%H:%M")
    if local.date() != win.work_date:
        text += f" on {local.date().isoformat()}"
    return text


def fmt_dur(value: timedelta) -> str:
    """'17 min', '7 h 05 min'; sub-minute remainders are dropped."""
    minutes = int(value.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    if minutes < 60:
        return f"{sign}{minutes} min"
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"
