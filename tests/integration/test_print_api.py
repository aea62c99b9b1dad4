"""Print API against a real hub, broker and HTTP server, with a simulated printer behind a real box:
bad input, ownership, secure release with PIN and QR, wrong-PIN limits, quotas."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from devices.print_box.agent import PrintBox
from devices.print_box.release_panel import ReleasePanel
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.print_backend import SimPrintBackend
from hub.auth.passwords import hash_password
from hub.db.models.core import User
from hub.db.models.people import Employee
from hub.db.models.printing import PinFailure, PrintJob
from hub.db.session import transaction
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import job_state, make_pdf, submit, wait_printer
from tests.support.waiting import wait_for


@pytest.fixture
def hub(http_hub_factory, mosquitto: MosquittoBroker) -> HttpHub:  # type: ignore[no-untyped-def]
    return http_hub_factory(broker_url=mosquitto.url, print_max_upload_mb=0.5)  # type: ignore[no-any-return]


@pytest.fixture
def sim(hub: HttpHub, tmp_path: Path) -> Iterator[tuple[PrintBox, SimulatedPrinter]]:
    printer = SimulatedPrinter(name="sim-laser")
    backend = SimPrintBackend([printer])
    box = PrintBox(device_id=unique_id("sbox"), broker_url=hub.settings.broker_url or "", workdir=tmp_path / "box",
                   printers=backend, backend=backend, heartbeat_s=5, refresh_s=0.5, poll_s=0.2, ack_timeout_s=2)
    box.start()
    assert box.agent.wait_connected(15)
    yield box, printer
    box.stop()


def user(hub: HttpHub, employee_id: int) -> dict[str, str]:
    name = unique_id("emp")
    with transaction(hub.runtime.sessions) as s:
        s.add(User(username=name, password_hash=hash_password("pw-" + name), role="employee",
                   employee_id=employee_id, active=True, full_name=name))
    return hub.login(name, "pw-" + name)


def encrypted_pdf() -> bytes:
    import io

    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret", owner_password="owner")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def test_bad_input_is_refused_and_nothing_is_stored(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, printer = sim
    alice, bob = user(hub, 101), user(hub, 102)
    files_dir = Path(hub.settings.data_dir) / "print" / "files"
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        cases = [
            (b"just some text, not a pdf", "notes.pdf", 422, "not a PDF"),
            (encrypted_pdf(), "locked.pdf", 422, "password"),
            (b"", "empty.pdf", 400, "empty"),
            (b"%PDF-1.4\n" + b"0" * 600_000, "big.pdf", 413, "limit"),
        ]
        for data, name, status, words in cases:
            res = submit(c, alice, data, filename=name)
            assert res.status_code == status, (name, res.text)
            assert words in res.json()["detail"], res.json()
        res = submit(c, alice, make_pdf(1), printer="nope/nowhere")
        assert res.status_code == 404 and "unknown printer" in res.json()["detail"]
        res = submit(c, alice, make_pdf(1), page_ranges="7-9")
        assert res.status_code == 422 and "past the end" in res.json()["detail"]
        assert list(files_dir.iterdir()) == [] and list((files_dir.parent / "tmp").iterdir()) == []
        with hub.runtime.sessions() as s:
            assert s.execute(select(func.count()).select_from(PrintJob)).scalar_one() == 0
        # Someone else's job id looks exactly like a missing one, for reading and for cancelling.
        mine = submit(c, alice, make_pdf(1), hold=True).json()
        assert c.get(f"/api/v1/print/jobs/{mine['id']}", headers=bob).status_code == 404
        assert c.delete(f"/api/v1/print/jobs/{mine['id']}", headers=bob).status_code == 404
        assert c.get("/api/v1/print/jobs", headers=bob).json()["items"] == []
        assert [j["id"] for j in c.get("/api/v1/print/jobs", headers=alice).json()["items"]] == [mine["id"]]
        assert c.delete(f"/api/v1/print/jobs/{mine['id']}", headers=alice).json()["state"] == "canceled"


def test_secure_release_with_pin_and_qr(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, printer = sim
    alice = user(hub, 201)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "482913"}).status_code == 204
        held = submit(c, alice, make_pdf(2), hold=True).json()
        assert held["state"] == "held" and held["release_code"]
        wrong = box.agent.request("release", {"pin": "000000", "queue": printer.name})
        assert wrong.status.value == "error" and "wrong PIN" in (wrong.error or "")
        assert job_state(c, alice, held["id"])["state"] == "held"
        ok = box.agent.request("release", {"pin": "482913", "queue": printer.name})
        assert ok.status.value == "ok" and ok.data["job_ids"] == [held["id"]]
        wait_for(lambda: job_state(c, alice, held["id"])["state"] == "completed", what="released job printed")
        assert printer.printed == [held["id"]]
        # QR: the code shown for one held job releases exactly that job.
        q1, q2 = (submit(c, alice, make_pdf(1), hold=True).json() for _ in range(2))
        res = box.agent.request("release", {"qr": q1["release_code"]})
        assert res.data["job_ids"] == [q1["id"]]
        wait_for(lambda: job_state(c, alice, q1["id"])["state"] == "completed", what="QR job printed")
        assert job_state(c, alice, q2["id"])["state"] == "held"
        assert box.agent.request("release", {"qr": q2["id"] + ".forged"}).status.value == "error"


def test_release_panel_lines_release_held_jobs(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    """The box's keypad/scanner panel (``officehub printbox --panel``): typed PINs and scanned codes
    go to the hub and the answer is shown; nothing is released on a wrong PIN."""
    box, printer = sim
    alice = user(hub, 202)
    display = io.StringIO()
    panel = ReleasePanel(agent=box.agent, out=display, queue=printer.name)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "730519"}).status_code == 204
        by_pin = submit(c, alice, make_pdf(1), hold=True).json()
        panel.run(["000000\n", "\n", "730519\n"])
        shown = display.getvalue().splitlines()
        assert shown[0].startswith("refused: wrong PIN") and shown[1] == f"released 1 job: {by_pin['id']}"
        wait_for(lambda: job_state(c, alice, by_pin["id"])["state"] == "completed", what="PIN job printed")
        by_code = submit(c, alice, make_pdf(1), hold=True).json()
        assert panel.handle(by_code["release_code"]) == f"released 1 job: {by_code['id']}"
        wait_for(lambda: job_state(c, alice, by_code["id"])["state"] == "completed", what="scanned job printed")
        assert panel.handle("hello").startswith("not understood")


def test_wrong_pins_are_rate_limited(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, _ = sim
    answers = [box.agent.request("release", {"pin": f"99990{i}"}) for i in range(6)]
    assert all(a.status.value == "error" for a in answers)
    assert "wrong PIN (0 attempts left)" in (answers[4].error or "")
    assert "too many wrong PINs" in (answers[5].error or "")


def test_quota_refuses_with_a_clear_message(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, printer = sim
    alice, admin = user(hub, 301), hub.login()
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/quotas", headers=admin,
                     json={"scope": "employee", "key": "emp:301", "monthly_pages": 5}).status_code == 204
        assert submit(c, alice, make_pdf(2), copies=2).status_code == 201
        res = submit(c, alice, make_pdf(2))
        assert res.status_code == 403 and "only 1 of your 5 monthly pages are left" in res.json()["detail"]
        assert c.put("/api/v1/print/departments", headers=admin,
                     json={"owner": "emp:302", "department": "sales"}).status_code == 204
        assert c.put("/api/v1/print/quotas", headers=admin,
                     json={"scope": "department", "key": "sales", "monthly_pages": 1}).status_code == 204
        res = submit(c, user(hub, 302), make_pdf(2))
        assert res.status_code == 403 and "department" in res.json()["detail"]


def employee(hub: HttpHub) -> tuple[int, str, dict[str, str]]:
    """An employee record (id, employee number) and the API headers of their user."""
    number = unique_id("no")[-12:]
    with transaction(hub.runtime.sessions) as s:
        emp = Employee(employee_no=number, name="Employee " + number, active=True)
        s.add(emp)
        s.flush()
        emp_id = emp.id
    return emp_id, number, user(hub, emp_id)


def test_wrong_pins_with_an_employee_number_are_limited_per_box_and_employee(
        hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, printer = sim
    _, alice_no, alice = employee(hub)
    _, bob_no, bob = employee(hub)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "735921"}).status_code == 204
        assert c.put("/api/v1/print/pin", headers=bob, json={"pin": "118844"}).status_code == 204
        held = submit(c, alice, make_pdf(1), hold=True).json()

        def release(pin: str, number: str | None) -> tuple[str, str, list[str]]:
            res = box.agent.request("release", {"pin": pin, "employee": number} if number else {"pin": pin})
            return res.status.value, res.error or "", list((res.data or {}).get("job_ids", []))

        # Alice's PIN under Bob's number is wrong: with a number, the PIN must be that employee's.
        assert release("735921", bob_no)[:2] == ("error", "wrong employee number or PIN (4 attempts left)")
        for _ in range(4):
            assert release("000000", bob_no)[0] == "error"
        assert "too many wrong PINs" in release("118844", bob_no)[1]  # Bob is locked out here, even with his PIN
        # ... but Bob's failures do not lock the printer for Alice, with her number or with her PIN alone.
        assert release("735921", alice_no) == ("ok", "", [held["id"]])
        wait_for(lambda: job_state(c, alice, held["id"])["state"] == "completed", what="released job printed")
        assert release("735921", None)[0] == "ok"
        with hub.runtime.sessions() as s:
            subjects = s.execute(select(PinFailure.subject).where(PinFailure.box_id == box.device_id)).scalars().all()
        assert subjects == [f"no:{bob_no}"] * 5
