"""Timesheet export: one row per employee-day, identical columns in JSON, CSV and XLSX.

`timesheet_rows` is the single source of the row content; the API returns it as JSON and the
two file formats render it, so the three always agree. Cell values are scalars:
- text: employee_id, work_date (ISO date), shift, statuses (comma-separated status values),
  first_in/last_out (ISO 8601 with the shift zone's offset, or None), reasons and notes
  (one sentence per line);
- numbers: hours rounded to 2 decimals, minutes as whole minutes (floored, like the reasons).

Spreadsheet formats escape text that a spreadsheet would run as a formula (leading = + - @)
with a leading apostrophe (OWASP CSV injection advice); the JSON rows are left untouched.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from hub.domain.attendance.models import DayRecord, DayStatus

Cell = str | float | int | None

COLUMNS: Final[tuple[str, ...]] = (
    "employee_id",
    "work_date",
    "shift",
    "statuses",
    "first_in",
    "last_out",
    "worked_hours",
    "scheduled_hours",
    "late_minutes",
    "early_leave_minutes",
    "overtime_hours",
    "reasons",
    "notes",
)
NUMERIC_COLUMNS: Final[frozenset[str]] = frozenset(
    {"worked_hours", "scheduled_hours", "late_minutes", "early_leave_minutes", "overtime_hours"}
)

_LATE = frozenset({DayStatus.LATE, DayStatus.SERIOUS_LATE})
_LATE_FILL = PatternFill(fill_type="solid", start_color="FFFFD580", end_color="FFFFD580")
_ABSENT_FILL = PatternFill(fill_type="solid", start_color="FFFF9999", end_color="FFFF9999")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _hours(value: timedelta) -> float:
    return round(value.total_seconds() / 3600, 2)


def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def timesheet_rows(records: Sequence[DayRecord]) -> list[dict[str, Cell]]:
    """The rows, in the given record order, each with exactly the keys of COLUMNS."""
    return [
        {
            "employee_id": r.employee_id,
            "work_date": r.work_date.isoformat(),
            "shift": r.shift_name,
            "statuses": ",".join(s.value for s in r.statuses),
            "first_in": _iso(r.first_in),
            "last_out": _iso(r.last_out),
            "worked_hours": _hours(r.worked),
            "scheduled_hours": _hours(r.scheduled),
            "late_minutes": _minutes(r.late_by),
            "early_leave_minutes": _minutes(r.early_by),
            "overtime_hours": _hours(r.overtime),
            "reasons": "\n".join(r.reasons),
            "notes": "\n".join(r.notes),
        }
        for r in records
    ]


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _sheet_value(column: str, value: Cell) -> Cell:
    if isinstance(value, str) and column not in NUMERIC_COLUMNS:
        return _safe_text(value)
    return value


def to_csv(records: Sequence[DayRecord]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads non-ASCII names right), header first."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in timesheet_rows(records):
        writer.writerow(["" if row[c] is None else _sheet_value(c, row[c]) for c in COLUMNS])
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(records: Sequence[DayRecord]) -> bytes:
    """An XLSX workbook with one 'Timesheet' sheet; late and absent cells are filled."""
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = "Timesheet"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    status_col = COLUMNS.index("statuses") + 1
    late_col = COLUMNS.index("late_minutes") + 1
    for record, row in zip(records, timesheet_rows(records), strict=True):
        ws.append([_sheet_value(c, row[c]) for c in COLUMNS])
        r = ws.max_row
        for c in NUMERIC_COLUMNS:
            ws.cell(row=r, column=COLUMNS.index(c) + 1).number_format = (
                "0" if c.endswith("_minutes") else "0.00"
            )
        for c in ("reasons", "notes"):
            ws.cell(row=r, column=COLUMNS.index(c) + 1).alignment = Alignment(wrap_text=True, vertical="top")
        if DayStatus.ABSENT in record.statuses:
            ws.cell(row=r, column=status_col).fill = _ABSENT_FILL
        elif _LATE.intersection(record.statuses):
            ws.cell(row=r, column=status_col).fill = _LATE_FILL
            ws.cell(row=r, column=late_col).fill = _LATE_FILL
    widths = {"reasons": 70, "notes": 50, "first_in": 26, "last_out": 26, "statuses": 28}
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(c, max(12, len(c) + 2))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
