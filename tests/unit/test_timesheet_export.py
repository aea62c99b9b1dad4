"""JSON rows, CSV and XLSX carry the same columns and the same numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from hub.domain.attendance import DayRecord, Punch, PunchDirection, Shift, compute_timesheet
from hub.services.timesheet_export import COLUMNS, NUMERIC_COLUMNS, timesheet_rows, to_csv, to_xlsx

BERLIN = ZoneInfo("Europe/Berlin")
IN, OUT = PunchDirection.IN, PunchDirection.OUT
SHIFT = Shift(name="Day", start=time(9), end=time(17), tz="Europe/Berlin")


def _punch(d: int, h: int, m: int, direction: PunchDirection, pid: str) -> Punch:
    return Punch(ts=datetime(2026, 3, d, h, m, tzinfo=BERLIN), direction=direction, source="face",
                 device_id="door-1", punch_id=pid)


@pytest.fixture
def records() -> list[DayRecord]:
    """Mon absent, Tue late, Wed on time + overtime, Thu missing checkout, Fri early leave, weekend."""
    punches = [
        _punch(3, 9, 17, IN, "a"), _punch(3, 17, 0, OUT, "b"),
        _punch(4, 8, 55, IN, "c"), _punch(4, 18, 40, OUT, "d"),
        _punch(5, 9, 0, IN, "e"),
        _punch(6, 9, 0, IN, "f"), _punch(6, 15, 20, OUT, "g"),
    ]
    return compute_timesheet(employee_id="e1", punches=punches, shift=SHIFT, start_date=date(2026, 3, 2),
                             end_date=date(2026, 3, 8))


def test_rows_have_exactly_the_columns(records: list[DayRecord]) -> None:
    rows = timesheet_rows(records)
    assert len(rows) == 7
    assert all(tuple(r) == COLUMNS for r in rows)
    assert [r["statuses"] for r in rows] == [
        "absent", "late", "on_time,overtime", "on_time,missing_checkout", "on_time,early_leave",
        "rest_day", "rest_day",
    ]
    tue = rows[1]
    assert (tue["worked_hours"], tue["late_minutes"], tue["first_in"]) == (
        7.72, 17, "2026-03-03T09:17:00+01:00",
    )
    assert rows[2]["overtime_hours"] == 1.75
    assert rows[4]["early_leave_minutes"] == 100
    assert rows[0]["first_in"] is None
    assert json.loads(json.dumps(rows)) == rows


def test_csv_matches_rows(records: list[DayRecord]) -> None:
    data = to_csv(records)
    assert data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(parsed[0]) == COLUMNS
    rows = timesheet_rows(records)
    assert len(parsed) == len(rows) + 1
    for line, row in zip(parsed[1:], rows, strict=True):
        for col, cell in zip(COLUMNS, line, strict=True):
            expected = row[col]
            if col in NUMERIC_COLUMNS:
                assert float(cell) == expected, col
            else:
                assert cell == ("" if expected is None else expected), col


def test_xlsx_matches_rows_and_highlights(records: list[DayRecord]) -> None:
    ws = load_workbook(io.BytesIO(to_xlsx(records))).worksheets[0]
    assert ws.title == "Timesheet"
    sheet = list(ws.iter_rows(values_only=True))
    assert sheet[0] == COLUMNS
    rows = timesheet_rows(records)
    assert len(sheet) == len(rows) + 1
    for line, row in zip(sheet[1:], rows, strict=True):
        for col, cell in zip(COLUMNS, line, strict=True):
            expected = row[col]
            if col in NUMERIC_COLUMNS:
                assert isinstance(cell, int | float) and cell == expected, col
            else:
                assert cell == (None if expected in (None, "") else expected), col
    status_col = COLUMNS.index("statuses") + 1
    fills = [ws.cell(row=r, column=status_col).fill.fgColor.rgb for r in range(2, 9)]
    assert fills[0] == "FFFF9999"  # absent
    assert fills[1] == "FFFFD580"  # late
    assert fills[2] == "00000000"  # on time: no fill
    assert ws.cell(row=3, column=COLUMNS.index("late_minutes") + 1).fill.fgColor.rgb == "FFFFD580"


def test_spreadsheet_formula_injection_is_neutralised() -> None:
    shift = Shift(name="=HYPERLINK(\"http://x\")", start=time(9), end=time(17), tz="Europe/Berlin")
    recs = compute_timesheet(employee_id="@evil", punches=[], shift=shift, start_date=date(2026, 3, 2),
                             end_date=date(2026, 3, 2))
    assert timesheet_rows(recs)[0]["shift"] == "=HYPERLINK(\"http://x\")"
    line = list(csv.reader(io.StringIO(to_csv(recs).decode("utf-8-sig"))))[1]
    assert (line[0], line[2]) == ("'@evil", "'=HYPERLINK(\"http://x\")")
    ws = load_workbook(io.BytesIO(to_xlsx(recs))).worksheets[0]
    assert ws.cell(row=2, column=3).data_type == "s"
    assert ws.cell(row=2, column=3).value == "'=HYPERLINK(\"http://x\")"


def test_empty_export_has_header_only() -> None:
    assert to_csv([]).decode("utf-8-sig") == ",".join(COLUMNS) + "\r\n"
    sheet = list(load_workbook(io.BytesIO(to_xlsx([]))).worksheets[0].iter_rows(values_only=True))
    assert sheet == [COLUMNS]
