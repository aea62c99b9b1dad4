"""Attendance through the API: table-driven statuses, night shift over a DST change, holidays,
a missed punch fixed by an approved correction, exports that match the API, employee scoping,
and remote check-in (geofence + selfie 1:1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from fastapi.testclient import TestClient

from hub.runtime import HubRuntime
from tests.fixtures.face import FACES, create_employee, enrol

BERLIN = ZoneInfo("Europe/Berlin")
DAY = "2026-03-02"  # a Monday
HOLIDAY = "2026-03-03"


def _at(day: str, hhmm: str) -> str:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=BERLIN).isoformat()


# name -> (shift, day, [(time, direction)], statuses that must be present, statuses that must be absent)
CASES: dict[str, tuple[str, str, list[tuple[str, str]], set[str], set[str]]] = {
    "on_time": ("day", DAY, [("08:58", "IN"), ("17:02", "OUT")], {"on_time"}, {"late", "early_leave"}),
    "late": ("day", DAY, [("09:12", "IN"), ("17:00", "OUT")], {"late"}, {"on_time", "serious_late"}),
    "serious_late": ("day", DAY, [("09:45", "IN"), ("17:00", "OUT")], {"serious_late"}, {"late"}),
    "early_leave": ("day", DAY, [("09:00", "IN"), ("15:30", "OUT")], {"on_time", "early_leave"}, {"half_day"}),
    "half_day": ("day", DAY, [("09:00", "IN"), ("12:00", "OUT")], {"half_day", "early_leave"}, set()),
    "absent": ("day", DAY, [], {"absent"}, {"on_time"}),
    "overtime": ("day", DAY, [("08:55", "IN"), ("19:00", "OUT")], {"overtime", "on_time"}, set()),
    "holiday": ("day", HOLIDAY, [], {"holiday"}, {"absent"}),
    "missing_checkout": ("day", DAY, [("09:00", "IN")], {"missing_checkout"}, {"early_leave", "half_day"}),
    # Spring forward in Berlin on 2026-03-29: the 22:00-06:00 night has 7 real hours.
    "night_dst": ("night", "2026-03-28", [("22:00", "IN"), ("2026-03-29T06:00", "OUT")], {"on_time"},
                  {"missing_checkout"}),
}


def _setup(api: TestClient, h: dict[str, str]) -> dict[str, int]:
    shifts = {}
    for name, start, end, rules in (("day", "09:00", "17:00", {}),
                                    ("night", "22:00", "06:00", {"workdays": [0, 1, 2, 3, 4, 5, 6]})):
        res = api.post("/api/v1/attendance/shifts", headers=h,
                       json={"name": name, "start": start, "end": end, "tz": "Europe/Berlin", "rules": rules})
        assert res.status_code == 201, res.text
        shifts[name] = res.json()["id"]
    assert api.post("/api/v1/attendance/holidays", headers=h,
                    json={"date": HOLIDAY, "name": "Test holiday"}).status_code == 201
    ids = {}
    for case, (shift, day, punches, _, _) in CASES.items():
        ids[case] = create_employee(api, h, case, shift_id=shifts[shift], department="ops")
        for hhmm, direction in punches:
            ts = _at(day, hhmm) if "T" not in hhmm else datetime.fromisoformat(hhmm).replace(
                tzinfo=BERLIN).isoformat()
            res = api.post("/api/v1/attendance/punches", headers=h,
                           json={"employee_id": ids[case], "ts": ts, "direction": direction})
            assert res.status_code == 201, res.text
    return ids


def _rows(api: TestClient, h: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    res = api.get("/api/v1/attendance/timesheets", headers=h, params=params)
    assert res.status_code == 200, res.text
    rows: list[dict[str, Any]] = res.json()["rows"]
    return rows


def test_statuses_corrections_exports_and_scoping(api: TestClient, admin_headers: dict[str, str],
                                                  make_user: Callable[..., dict[str, str]]) -> None:
    h = admin_headers
    ids = _setup(api, h)
    for case, (_, day, _, present, absent) in CASES.items():
        rows = _rows(api, h, **{"from": day, "to": day, "employee_id": ids[case]})
        assert len(rows) == 1, case
        statuses = set(rows[0]["statuses"].split(","))
        assert present <= statuses and not absent & statuses, (case, rows[0]["statuses"], rows[0]["reasons"])
        for status in statuses:  # every computed status carries its reason
            assert any(r.startswith(status + ":") for r in rows[0]["reasons"].split("\n")), (case, status)
    night = _rows(api, h, **{"from": "2026-03-28", "to": "2026-03-28", "employee_id": ids["night_dst"]})[0]
    assert night["worked_hours"] == 7.0

    # Missed punch: the employee files it, an admin approves, the day is complete.
    emp = ids["missing_checkout"]
    employee = make_user("employee", employee_id=emp)
    res = api.post("/api/v1/attendance/missed-punches", headers=employee,
                   json={"ts": _at(DAY, "17:05"), "direction": "OUT", "reason": "forgot to check out"})
    assert res.status_code == 201, res.text
    req_id = res.json()["id"]
    assert api.post(f"/api/v1/attendance/missed-punches/{req_id}/approve", headers=employee,
                    json={}).status_code == 403
    res = api.post(f"/api/v1/attendance/missed-punches/{req_id}/approve", headers=h, json={"note": "ok"})
    assert res.status_code == 200 and res.json()["state"] == "approved"
    assert [a["action"] for a in res.json()["audit"]] == ["created", "approved"]
    assert api.post(f"/api/v1/attendance/missed-punches/{req_id}/reject", headers=h,
                    json={"note": "too late"}).status_code == 409
    fixed = _rows(api, h, **{"from": DAY, "to": DAY, "employee_id": emp})[0]
    assert "missing_checkout" not in fixed["statuses"] and "on_time" in fixed["statuses"]

    # Exports hold the same numbers as the API.
    params = {"from": "2026-03-02", "to": "2026-03-04", "department": "ops"}
    api_rows = _rows(api, h, **params)
    assert len(api_rows) == 3 * len(CASES)
    csv_res = api.get("/api/v1/attendance/timesheets", headers=h, params={**params, "format": "csv"})
    assert csv_res.status_code == 200 and csv_res.headers["content-type"].startswith("text/csv")
    csv_rows = list(csv.DictReader(io.StringIO(csv_res.content.decode("utf-8-sig"))))
    xlsx_res = api.get("/api/v1/attendance/timesheets", headers=h, params={**params, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_res.content)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    xlsx_rows = [dict(zip(values[0], r, strict=True)) for r in values[1:]]
    assert len(csv_rows) == len(xlsx_rows) == len(api_rows)
    for a, c, x in zip(api_rows, csv_rows, xlsx_rows, strict=True):
        for col, value in a.items():
            if isinstance(value, float | int):
                assert float(c[col]) == float(value) == float(x[col]), col
            else:
                assert c[col] == (value or ""), col
                assert (x[col] or "") == (value or ""), col

    # Employees see only their own attendance.
    mine = _rows(api, employee, **{"from": DAY, "to": DAY})
    assert {r["employee_id"] for r in mine} == {str(emp)}
    other = api.get("/api/v1/attendance/timesheets", headers=employee,
                    params={"from": DAY, "to": DAY, "employee_id": ids["late"]})
    assert other.status_code == 404  # like a missing employee
    punches = api.get("/api/v1/attendance/punches", headers=employee).json()
    assert punches and {p["employee_id"] for p in punches} == {emp}
    assert api.get("/api/v1/attendance/timesheets", headers=h,
                   params={"from": DAY, "to": "2026-03-01"}).status_code == 422


def test_remote_checkin(api: TestClient, admin_headers: dict[str, str], hub: HubRuntime,
                        make_user: Callable[..., dict[str, str]]) -> None:
    h = admin_headers
    emp = create_employee(api, h, "remote_biden")
    assert enrol(api, h, emp, [FACES / "enroll/biden/biden_1.jpg"]).status_code == 201
    assert api.post("/api/v1/attendance/locations", headers=h,
                    json={"name": "HQ", "lat": 52.5200, "lon": 13.4050, "radius_m": 200}).status_code == 201
    user = make_user("employee", employee_id=emp)
    selfie = (FACES / "probe/biden/biden_a.jpg").read_bytes()

    def checkin(lat: float, lon: float, data: bytes) -> Any:
        return api.post("/api/v1/attendance/remote-checkin", headers=user, data={"lat": lat, "lon": lon},
                        files={"file": ("selfie.jpg", data, "image/jpeg")})

    res = checkin(52.5205, 13.4052, selfie)
    assert res.status_code == 201, res.text
    assert res.json()["office"] == "HQ" and res.json()["distance_m"] < 200
    far = checkin(52.5300, 13.4050, selfie)
    assert far.status_code == 403 and far.json()["detail"].startswith("outside_geofence")
    someone_else = checkin(52.5201, 13.4050, (FACES / "probe/kit_harington/kit_harington_a.jpg").read_bytes())
    assert someone_else.status_code == 403 and someone_else.json()["detail"].startswith("no_match")
    garbage = checkin(52.5201, 13.4050, b"not an image")
    assert garbage.status_code == 422 and "not_an_image" in garbage.json()["detail"]
    punches = api.get("/api/v1/attendance/punches", headers=user).json()
    assert [(p["source"], p["employee_id"]) for p in punches] == [("remote", emp)]
    # An admin login without an employee link cannot remote-check-in.
    res = api.post("/api/v1/attendance/remote-checkin", headers=h, data={"lat": 52.52, "lon": 13.405},
                   files={"file": ("s.jpg", selfie, "image/jpeg")})
    assert res.status_code == 403
