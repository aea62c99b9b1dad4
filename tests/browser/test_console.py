"""The console end to end in headless Chromium (playwright-core + Debian's chromium), against a real
hub listening on a free port, real MQTT (Mosquitto), simulated terminals, a real print box and CUPS.

Each spec fails on any console error, page error, 5xx answer or request that leaves localhost, and
saves screenshots to tests/browser/screenshots/.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from devices.print_box.agent import PrintBox
from firmware_sim.adapters import SimulatedLock
from firmware_sim.fleet import SimFleet
from hub.auth.passwords import hash_password
from hub.db.models.core import AuditLog, User
from hub.db.session import transaction
from hub.services.fleet.setup import FLEET
from tests.browser.runner import require_browser, run_spec
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.cups import CupsTestPrinter
from tests.fixtures.face import FACES, images
from tests.fixtures.hub import ADMIN_PASSWORD
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import make_pdf, real_box, wait_printer
from tests.support.waiting import wait_for

PERSON = "kit_harington"
OLD, NEW = "0.1.0", "0.2.0"


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


def _admin_env(hub: HttpHub) -> dict[str, str]:
    return {"OFFICEHUB_URL": hub.url, "ADMIN_USER": "admin", "ADMIN_PASSWORD": ADMIN_PASSWORD}


def _registered(http: httpx.Client, headers: dict[str, str], device_id: str) -> bool:
    return http.get(f"/api/v1/devices/{device_id}", headers=headers).status_code == 200


@pytest.fixture
def thin_door(http_hub: HttpHub, mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[SimFleet]:
    fleet = SimFleet(broker_url=mosquitto.url, doors=1, printboxes=0, seed=5, workdir=tmp_path / "sim",
                     id_prefix=unique_id("ui") + "-", face_mode="thin", heartbeat_s=5)
    fleet.start()
    try:
        assert fleet.wait_connected(15)
        with http_hub.client() as c:
            wait_for(lambda: _registered(c, http_hub.login(), fleet.doors[0].device_id), what="door registered")
        yield fleet
    finally:
        fleet.stop()


def test_admin_enrols_from_the_dataset_and_sees_the_checkin_live(http_hub: HttpHub, thin_door: SimFleet) -> None:
    door = thin_door.doors[0]
    name = f"Kit Harington {uuid.uuid4().hex[:4]}"
    seen: list[Any] = []

    def checkin(_: dict[str, Any]) -> None:
        # The real path: simulated terminal -> MQTT -> hub recognises -> answer opens the lock.
        result = thin_door.see(door, images(f"probe/{PERSON}")[0])
        seen.append(result)
        assert result.decision == "accepted" and result.opened, result

    missed = _missed_punch_request(http_hub)
    out = run_spec("checkin.mjs", env={
        **_admin_env(http_hub), "EMPLOYEE_NAME": name, "EMPLOYEE_NO": unique_id("E"),
        "ENROL_DIR": str(FACES / "enroll" / PERSON),
        "GROUP_PHOTO": str(FACES / "multi" / "kit_harington_and_rose_leslie.jpg"), "DOOR_ID": door.device_id,
        "MISSED_REASON": missed["reason"],
    }, on_event={"ready_for_checkin": checkin})
    assert seen and f"Check-in: {name}" in out["feed"]
    assert isinstance(door.lock, SimulatedLock) and door.lock.openings
    with http_hub.client() as c:
        emps = c.get("/api/v1/employees", headers=http_hub.login(), params={"q": name}).json()["items"]
        req = [r for r in c.get("/api/v1/attendance/missed-punches", headers=http_hub.login()).json()
               if r["id"] == missed["id"]]
    assert len(emps) == 1 and emps[0]["templates"] == len(images(f"enroll/{PERSON}"))
    assert req[0]["state"] == "approved"


def _missed_punch_request(hub: HttpHub) -> dict[str, Any]:
    """An employee (not the one the spec enrols) who forgot to check in yesterday."""
    with hub.client() as c:
        h = hub.login()
        emp = c.post("/api/v1/employees", headers=h, json={"employee_no": unique_id("M"), "name": "Morgan Forgetful"})
        assert emp.status_code == 201, emp.text
        ts = (datetime.now(UTC) - timedelta(days=1)).replace(hour=8, minute=55, microsecond=0)
        res = c.post("/api/v1/attendance/missed-punches", headers=h, json={
            "employee_id": emp.json()["id"], "ts": ts.isoformat(), "direction": "IN",
            "reason": f"badge left at home {uuid.uuid4().hex[:4]}"})
        assert res.status_code == 201, res.text
        out: dict[str, Any] = res.json()
        return out


@pytest.fixture
def box(http_hub: HttpHub, tmp_path: Path) -> Iterator[PrintBox]:
    b = real_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "box")
    b.start()
    assert b.agent.wait_connected(15)
    yield b
    b.stop()


def _employee_login(hub: HttpHub) -> tuple[str, str, int, str]:
    number = unique_id("P")
    with hub.client() as c:
        res = c.post("/api/v1/employees", headers=hub.login(),
                     json={"employee_no": number, "name": "Pat Printer", "department": "Finance"})
        assert res.status_code == 201, res.text
        emp_id = int(res.json()["id"])
    username, password = f"pat-{uuid.uuid4().hex[:6]}", "pat-password-1"
    with transaction(hub.runtime.sessions) as s:
        s.add(User(username=username, password_hash=hash_password(password), role="employee",
                   employee_id=emp_id, active=True, full_name="Pat Printer"))
    return username, password, emp_id, number


def test_employee_drops_a_pdf_and_it_reaches_the_printer(http_hub: HttpHub, box: PrintBox,
                                                        cups_printer: CupsTestPrinter, tmp_path: Path) -> None:
    printer_id = f"{box.device_id}/{cups_printer.queue}"
    with http_hub.client() as c:
        wait_printer(c, http_hub.login(), printer_id)
    user, password, emp_id, emp_no = _employee_login(http_hub)
    pdf = tmp_path / "quarterly-report.pdf"
    pdf.write_bytes(make_pdf(3, text="Quarterly report"))
    out = run_spec("print.mjs", env={"OFFICEHUB_URL": http_hub.url, "EMP_USER": user, "EMP_PASSWORD": password,
                                     "PDF_PATH": str(pdf), "PRINTER_ID": printer_id})
    job_id = out["job_id"]
    assert job_id and out["states_seen"][-1] == "completed"
    spooled = wait_for(lambda: cups_printer.spooled_file_named(job_id), timeout=30, what="spool file")
    assert len(PdfReader(str(spooled)).pages) == 3
    with http_hub.client() as c:
        reqs = c.get("/api/v1/attendance/missed-punches", headers=http_hub.login(),
                     params={"employee_id": emp_id}).json()
        held = c.get(f"/api/v1/print/jobs/{out['held_id']}", headers=http_hub.login()).json()
    assert [r["state"] for r in reqs] == ["pending"]
    assert held["state"] == "held" and held["release_code"]
    # The PIN set in the console releases the held job at the box, typed after the employee number.
    res = box.agent.request("release", {"employee": emp_no, "pin": "4711", "queue": cups_printer.queue})
    assert res.status.value == "ok" and res.data["job_ids"] == [out["held_id"]], res
    wait_for(lambda: cups_printer.spooled_file_named(out["held_id"]), timeout=30, what="released job spooled")


@pytest.fixture
def firmware_site(http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker,
                  tmp_path: Path) -> Iterator[tuple[HttpHub, SimFleet, str]]:
    hub = http_hub_factory(broker_url=mosquitto.url, rollout_tick_s=0.5)
    fleet = SimFleet(broker_url=mosquitto.url, doors=4, printboxes=0, seed=7, workdir=tmp_path / "fw",
                     id_prefix=unique_id("uiro") + "-", heartbeat_s=10)
    fleet.enable_firmware(public_key_b64=hub.runtime.services.get(FLEET).firmware.public_key_b64)
    fleet.start()
    group = unique_id("grp")
    try:
        assert fleet.wait_connected(30)
        with hub.client() as c:
            h = hub.login()
            for device_id in [d.device_id for d in fleet.doors]:
                wait_for(functools.partial(_registered, c, h, device_id), what=f"{device_id} registered")
                assert c.patch(f"/api/v1/devices/{device_id}", headers=h, json={"group": group}).status_code == 200
        yield hub, fleet, group
    finally:
        fleet.stop()


def test_rollout_progress_bar_moves_to_done(firmware_site: tuple[HttpHub, SimFleet, str], tmp_path: Path) -> None:
    hub, fleet, group = firmware_site
    image = tmp_path / f"door-{NEW}.bin"
    image.write_bytes(b"door firmware image " * 2000)
    out = run_spec("rollout.mjs", env={**_admin_env(hub), "FW_VERSION": NEW, "FW_GROUP": group,
                                       "FW_PATH": str(image)})
    percents = out["percents"]
    assert percents[0] < 100 and percents[-1] == 100, percents
    assert out["state"].startswith("completed")
    wait_for(lambda: all(d.agent.firmware == NEW for d in fleet.doors), timeout=30,
             what=f"every device on {NEW}: {[d.agent.firmware for d in fleet.doors]}")


def test_every_admin_page_opens_without_errors_including_the_audit_log(http_hub: HttpHub) -> None:
    """tour.mjs clicks through the admin's whole navigation: each page settles with no error notice,
    console error, 5xx or off-host request (lib.mjs fails the spec on any of those)."""
    with http_hub.client() as c:
        res = c.post("/api/v1/employees", headers=http_hub.login(),
                     json={"name": "Audit Tour", "employee_no": f"TOUR-{uuid.uuid4().hex[:6]}"})
        assert res.status_code == 201, res.text
    out = run_spec("tour.mjs", env={"OFFICEHUB_URL": http_hub.url, "TOUR_USER": "admin",
                                    "TOUR_PASSWORD": ADMIN_PASSWORD, "TOUR_NAME": "admin-tour"})
    assert {"Dashboard", "Employees", "Devices", "Alerts", "Audit log", "Users", "Account"} <= set(out["visited"]), out


def test_every_employee_page_opens_without_errors(http_hub: HttpHub) -> None:
    username, password, _, _ = _employee_login(http_hub)
    out = run_spec("tour.mjs", env={"OFFICEHUB_URL": http_hub.url, "TOUR_USER": username,
                                    "TOUR_PASSWORD": password, "TOUR_NAME": "employee-tour"})
    assert set(out["visited"]) == {"My attendance", "Print", "Account"}, out


def test_admin_manages_a_user_who_then_changes_their_password(http_hub: HttpHub) -> None:
    name = f"kim-{uuid.uuid4().hex[:6]}"
    final = "kims-final-password"
    run_spec("users.mjs", env={**_admin_env(http_hub), "NEW_USER": name, "FIRST_PASSWORD": "kims-first-password",
                               "RESET_PASSWORD": "kims-reset-password", "FINAL_PASSWORD": final})
    with http_hub.runtime.sessions() as s:
        user = s.execute(select(User).where(User.username == name)).scalar_one()
        actions = [a.action for a in s.execute(select(AuditLog).where(
            AuditLog.target_type == "user", AuditLog.target_id == str(user.id)).order_by(AuditLog.id)).scalars()]
    assert user.role == "operator" and user.active
    assert actions == ["user.create", "user.role_change", "user.password_reset", "user.disable", "user.enable",
                       "user.tokens_revoked", "user.password_change"]
    http_hub.login(name, final)
