"""Print API against a real hub, broker and HTTP server, with a simulated printer behind a real box:
bad input, ownership, secure release with employee number + PIN and QR, wrong-PIN limits and their
audit, who sees release codes, quotas."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from pypdf import PdfWriter
from sqlalchemy import func, select

from devices.print_box.agent import PrintBox
from devices.print_box.release_panel import ReleasePanel
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.print_backend import SimPrintBackend
from hub.auth.passwords import hash_password
from hub.db.models.core import AuditLog, User
from hub.db.models.people import Employee
from hub.db.models.printing import PinFailure, PrintJob, PrintProfile
from hub.db.session import transaction
from hub.domain.print_release import legacy_pin_hash, verify_pin
from hub.services.auth_audit import denied_access
from hub.services.printing.setup import PRINT
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import job_state, make_pdf, sim_box, submit, wait_printer
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


def test_secure_release_with_employee_number_pin_and_qr(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    box, printer = sim
    _, alice_no, alice = employee(hub)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "482913"}).status_code == 204
        held = submit(c, alice, make_pdf(2), hold=True).json()
        assert held["state"] == "held" and held["release_code"]
        # A PIN alone is no longer a release request: the box cannot even send one.
        with pytest.raises(ValidationError):
            box.agent.request("release", {"pin": "482913", "queue": printer.name})
        wrong = box.agent.request("release", {"employee": alice_no, "pin": "000000", "queue": printer.name})
        assert wrong.status.value == "error" and "wrong employee number or PIN" in (wrong.error or "")
        assert job_state(c, alice, held["id"])["state"] == "held"
        ok = box.agent.request("release", {"employee": alice_no, "pin": "482913", "queue": printer.name})
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
    with hub.runtime.sessions() as s:
        methods = [(a.detail["method"], a.detail["jobs"]) for a in s.execute(
            select(AuditLog).where(AuditLog.action == "print.release", AuditLog.target_id == held["owner"])
            .order_by(AuditLog.id)).scalars()]
    assert methods == [("pin", [held["id"]]), ("qr", [q1["id"]])]


def test_pins_need_not_be_unique(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    """Choosing a PIN someone else has is accepted (a refusal would tell you they have it), and each
    employee number releases only its own jobs with it."""
    box, printer = sim
    _, alice_no, alice = employee(hub)
    _, bob_no, bob = employee(hub)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "246810"}).status_code == 204
        assert c.put("/api/v1/print/pin", headers=bob, json={"pin": "246810"}).status_code == 204
        a_job, b_job = submit(c, alice, make_pdf(1), hold=True).json(), submit(c, bob, make_pdf(1), hold=True).json()
        ok = box.agent.request("release", {"employee": bob_no, "pin": "246810", "queue": printer.name})
        assert ok.status.value == "ok" and ok.data["job_ids"] == [b_job["id"]]
        assert job_state(c, alice, a_job["id"])["state"] == "held"
        ok = box.agent.request("release", {"employee": alice_no, "pin": "246810", "queue": printer.name})
        assert ok.data["job_ids"] == [a_job["id"]]
        # A PIN belongs to an employee record: an account without one is told to use QR codes.
        res = c.put("/api/v1/print/pin", headers=user(hub, 10_000_001), json={"pin": "135790"})
        assert res.status_code == 422 and "QR code" in res.json()["detail"]
    with hub.runtime.sessions() as s:
        hashes = [p.pin_hash or "" for p in s.execute(select(PrintProfile)).scalars() if p.pin_hash]
    assert len(set(hashes)) == len(hashes) and all(h.startswith("pin-scrypt$") for h in hashes)


def test_a_legacy_pin_hash_still_releases_and_is_replaced(hub: HttpHub) -> None:
    emp_id, number, _ = employee(hub)
    owner = f"emp:{emp_id}"
    with transaction(hub.runtime.sessions) as s:
        s.add(PrintProfile(owner_key=owner, pin_hash=legacy_pin_hash(secret=hub.settings.secret(), pin="5150")))
    pins = hub.runtime.services.get(PRINT).release.pins
    assert pins.check(box_id="any-box", employee_no=number, pin="5150") == owner
    with hub.runtime.sessions() as s:
        stored = s.get(PrintProfile, owner).pin_hash
    assert stored.startswith("pin-scrypt$") and verify_pin(secret=hub.settings.secret(), pin="5150", stored=stored)


def test_release_panel_asks_for_employee_number_then_pin(hub: HttpHub,
                                                         sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    """The box's keypad/scanner panel (``officehub printbox --panel``): employee number, then PIN, or a
    scanned code, go to the hub and the answer is shown; nothing is released on a wrong PIN."""
    box, printer = sim
    _, alice_no, alice = employee(hub)
    display = io.StringIO()
    panel = ReleasePanel(agent=box.agent, out=display, queue=printer.name)
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "730519"}).status_code == 204
        by_pin = submit(c, alice, make_pdf(1), hold=True).json()
        panel.run([f"{alice_no}\n", "000000\n", "\n", f"{alice_no}\n", "730519\n"])
        shown = display.getvalue().splitlines()
        assert shown[0] == f"employee {alice_no}: now type your PIN"
        assert shown[1].startswith("refused: wrong employee number or PIN")
        assert shown[3] == f"released 1 job: {by_pin['id']}"
        assert "730519" not in display.getvalue() and "000000" not in display.getvalue()
        wait_for(lambda: job_state(c, alice, by_pin["id"])["state"] == "completed", what="PIN job printed")
        by_code = submit(c, alice, make_pdf(1), hold=True).json()
        assert panel.handle(by_code["release_code"]) == f"released 1 job: {by_code['id']}"
        wait_for(lambda: job_state(c, alice, by_code["id"])["state"] == "completed", what="scanned job printed")
        assert panel.handle("two words here").startswith("not understood")


def test_operators_do_not_see_release_codes(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    """A release code prints the job for whoever shows it: its owner and admins see it, operators do not."""
    box, printer = sim
    _, _, alice = employee(hub)
    operator = staff(hub, "operator")
    with hub.client() as c:
        wait_printer(c, alice, f"{box.device_id}/{printer.name}")
        held = submit(c, alice, make_pdf(1), hold=True).json()
        assert held["release_code"]
        for headers, shown in ((alice, True), (hub.login(), True), (operator, False)):
            one = c.get(f"/api/v1/print/jobs/{held['id']}", headers=headers).json()
            listed = next(j for j in c.get("/api/v1/print/jobs", headers=headers).json()["items"]
                          if j["id"] == held["id"])
            assert one["state"] == listed["state"] == "held"  # operators still see and manage the job
            assert (one["release_code"], listed["release_code"]) == ((held["release_code"],) * 2 if shown
                                                                     else (None, None))


def employee(hub: HttpHub) -> tuple[int, str, dict[str, str]]:
    """An employee record (id, employee number) and the API headers of their user."""
    number = unique_id("no")[-12:]
    with transaction(hub.runtime.sessions) as s:
        emp = Employee(employee_no=number, name="Employee " + number, active=True)
        s.add(emp)
        s.flush()
        emp_id = emp.id
    return emp_id, number, user(hub, emp_id)


def staff(hub: HttpHub, role: str) -> dict[str, str]:
    name = unique_id(role)
    with transaction(hub.runtime.sessions) as s:
        s.add(User(username=name, password_hash=hash_password("pw-" + name), role=role, active=True,
                   full_name=name))
    return hub.login(name, "pw-" + name)


def test_wrong_pins_are_limited_per_employee_number_at_every_box_and_audited_once(
        hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter], tmp_path: Path) -> None:
    box, printer = sim
    other, _, _ = sim_box(broker_url=hub.settings.broker_url or "", workdir=tmp_path / "box2")
    _, alice_no, alice = employee(hub)
    _, bob_no, bob = employee(hub)
    try:
        with hub.client() as c:
            wait_printer(c, alice, f"{box.device_id}/{printer.name}")
            assert c.put("/api/v1/print/pin", headers=alice, json={"pin": "735921"}).status_code == 204
            assert c.put("/api/v1/print/pin", headers=bob, json={"pin": "118844"}).status_code == 204
            held = submit(c, alice, make_pdf(1), hold=True).json()

            def release(at: PrintBox, number: str, pin: str) -> tuple[str, str, list[str]]:
                res = at.agent.request("release", {"employee": number, "pin": pin})
                return res.status.value, res.error or "", list((res.data or {}).get("job_ids", []))

            # Alice's PIN under Bob's number is wrong: the PIN must be that employee's.
            assert release(box, bob_no, "735921")[:2] == ("error", "wrong employee number or PIN (4 attempts left)")
            # Guessing moves to another printer: the count follows the employee number.
            answers = [release(other, bob_no, f"00000{i}") for i in range(4)]
            assert [a[1] for a in answers][-1] == "wrong employee number or PIN (0 attempts left)"
            locked = release(box, bob_no, "118844")  # Bob is locked out everywhere, even with his PIN
            assert locked[0] == "error" and "too many wrong PINs for this employee number" in locked[1]
            assert "too many" in release(other, bob_no, "118844")[1]
            # ... but Bob's failures do not lock the printer for Alice, who also clears her own typo.
            assert release(box, alice_no, "000000")[0] == "error"
            assert release(box, alice_no, "735921") == ("ok", "", [held["id"]])
            # An unknown employee number answers like a wrong PIN, and counts the same way.
            assert release(box, "nobody-" + alice_no, "735921")[1] == "wrong employee number or PIN (4 attempts left)"
        denied_access(hub.runtime.services).flush()  # counts are written back by a timer
        with hub.runtime.sessions() as s:
            subjects = sorted(s.execute(select(PinFailure.subject)).scalars().all())
            lockouts = s.execute(select(AuditLog).where(AuditLog.action.like("print.pin_%lockout"))).scalars().all()
            denied = s.execute(select(AuditLog).where(AuditLog.action.in_(["print.pin_failed",
                                                                           "print.pin_throttled"]))).scalars().all()
        assert subjects == sorted([f"no:{bob_no}"] * 5 + [f"no:nobody-{alice_no}"])
        # Unauthenticated attempts are audited in aggregate: one row per box and kind with a count,
        # one row for the lockout, none per wrong PIN.
        assert [(a.action, a.target_id, a.detail["failures"]) for a in lockouts] == [
            ("print.pin_lockout", bob_no, 5)]
        counts = {(a.action, a.target_id): a.detail["count"] for a in denied}
        assert counts == {("print.pin_failed", f"device:{box.device_id}"): 3,
                          ("print.pin_failed", f"device:{other.device_id}"): 4,
                          ("print.pin_throttled", f"device:{box.device_id}"): 1,
                          ("print.pin_throttled", f"device:{other.device_id}"): 1}
    finally:
        other.stop()


def test_wrong_pins_at_one_box_hit_its_ceiling(hub: HttpHub, sim: tuple[PrintBox, SimulatedPrinter]) -> None:
    """Cycling employee numbers at one printer stops at the box-wide ceiling (4 × the limit)."""
    box, _ = sim
    limit = hub.settings.print_pin_max_failures * 4
    answers = [box.agent.request("release", {"employee": f"guess-{i}", "pin": "123456"}) for i in range(limit + 1)]
    assert all(a.status.value == "error" for a in answers)
    assert "wrong employee number or PIN" in (answers[limit - 1].error or "")
    assert "too many wrong PINs at this printer" in (answers[limit].error or "")
    denied_access(hub.runtime.services).flush()
    with hub.runtime.sessions() as s:
        audits = s.execute(select(AuditLog.action, AuditLog.target_id, AuditLog.detail).where(
            AuditLog.action.like("print.pin_%")).order_by(AuditLog.id)).all()
    assert [(a, t, d.get("count", d.get("failures"))) for a, t, d in audits] == [
        ("print.pin_failed", f"device:{box.device_id}", limit), ("print.pin_box_lockout", box.device_id, limit),
        ("print.pin_throttled", f"device:{box.device_id}", 1)]


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
