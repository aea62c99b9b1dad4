"""Employees CRUD and search, role scoping, and snapshot retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.db.models.people import Snapshot
from hub.runtime import HubRuntime
from hub.services.face.service import FACE


def test_employee_crud_search_and_scoping(api: TestClient, admin_headers: dict[str, str],
                                          make_user: Callable[..., dict[str, str]]) -> None:
    h = admin_headers
    shift = api.post("/api/v1/attendance/shifts", headers=h,
                     json={"name": "day", "start": "09:00", "end": "17:00", "tz": "UTC"}).json()["id"]
    ada = api.post("/api/v1/employees", headers=h, json={"employee_no": "E1", "name": "Ada Lovelace",
                                                        "email": "ada@example.com", "department": "R&D",
                                                        "shift_id": shift})
    assert ada.status_code == 201, ada.text
    assert ada.json()["templates"] == 0 and "blob" not in ada.json()
    bob = api.post("/api/v1/employees", headers=h, json={"employee_no": "E2", "name": "Bob", "department": "Ops"})
    assert bob.status_code == 201
    assert api.post("/api/v1/employees", headers=h, json={"employee_no": "E1", "name": "X"}).status_code == 409
    bad = api.post("/api/v1/employees", headers=h, json={"employee_no": "E3", "name": "Y", "email": "nope"})
    assert bad.status_code == 422 and "email" in bad.json()["detail"]
    assert api.post("/api/v1/employees", headers=h,
                    json={"employee_no": "E4", "name": "Z", "shift_id": 999}).status_code == 422
    page = api.get("/api/v1/employees", headers=h, params={"q": "love"}).json()
    assert [e["name"] for e in page["items"]] == ["Ada Lovelace"] and page["total"] == 1
    assert api.get("/api/v1/employees", headers=h, params={"department": "Ops"}).json()["total"] == 1
    res = api.patch(f"/api/v1/employees/{bob.json()['id']}", headers=h, json={"active": False, "location": "HQ"})
    assert res.status_code == 200 and res.json()["active"] is False and res.json()["location"] == "HQ"
    assert api.get("/api/v1/employees", headers=h, params={"active": True}).json()["total"] == 1
    assert api.get("/api/v1/employees/424242", headers=h).status_code == 404
    assert api.patch("/api/v1/employees/424242", headers=h, json={"name": "x"}).status_code == 404
    assert api.delete("/api/v1/employees/424242", headers=h).status_code == 404

    me = make_user("employee", employee_id=ada.json()["id"])
    assert api.get(f"/api/v1/employees/{ada.json()['id']}", headers=me).status_code == 200
    assert api.get(f"/api/v1/employees/{bob.json()['id']}", headers=me).status_code == 404  # not confirmed
    assert api.get("/api/v1/employees", headers=me).status_code == 403
    assert api.post("/api/v1/employees", headers=me, json={"employee_no": "E9", "name": "Me"}).status_code == 403
    operator = make_user("operator")
    assert api.get("/api/v1/employees", headers=operator).status_code == 200
    assert api.delete(f"/api/v1/employees/{ada.json()['id']}", headers=operator).status_code == 403


def test_snapshots_expire_after_the_retention_period(hub: HubRuntime) -> None:
    store = hub.services.get(FACE).snapshots
    assert store.enabled
    store.save(data=b"\xff\xd8jpeg", employee_id=1, device_id="d", decision="accepted")
    with hub.sessions() as s:
        path = s.execute(select(Snapshot.path)).scalar_one()
    assert store.purge_expired(now=datetime.now(UTC) + timedelta(days=1)) == 0
    assert store.purge_expired(now=datetime.now(UTC) + timedelta(days=store.retention_days + 1)) == 1
    with hub.sessions() as s:
        assert s.execute(select(Snapshot)).first() is None
    assert not Path(path).exists()
