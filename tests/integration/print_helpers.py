"""Shared helpers for the print integration tests: PDFs, a real print box, polling."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, TypeVar

import httpx
from reportlab.pdfgen import canvas

from devices.print_box.agent import PrintBox
from devices.print_box.backend import CupsBackend
from devices.print_box.cups_worker import CupsWorker
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.print_backend import SimPrintBackend
from hub.auth.passwords import hash_password
from hub.db.models.core import User
from hub.db.session import transaction
from tests.fixtures.brokers import unique_id
from tests.fixtures.hub_http import HttpHub
from tests.support.waiting import wait_for

T = TypeVar("T")


def make_pdf(pages: int, *, text: str = "OfficeHub test") -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"{text} page {n + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def employee_user(hub: HttpHub, employee_id: int) -> dict[str, str]:
    """API headers of a new employee-role user tied to ``employee_id``."""
    name = unique_id("emp")
    with transaction(hub.runtime.sessions) as s:
        s.add(User(username=name, password_hash=hash_password("pw-" + name), role="employee",
                   employee_id=employee_id, active=True, full_name=name))
    return hub.login(name, "pw-" + name)


def sim_box(*, broker_url: str, workdir: Path, printer: str = "sim-laser",
            job_s: float = 0.2) -> tuple[PrintBox, SimulatedPrinter, SimPrintBackend]:
    """A real print-box agent with a simulated printer (no CUPS): started and connected."""
    sp = SimulatedPrinter(name=printer)
    backend = SimPrintBackend([sp], job_s=job_s)
    box = PrintBox(device_id=unique_id("sbox"), broker_url=broker_url, workdir=workdir, printers=backend,
                   backend=backend, heartbeat_s=5, refresh_s=0.5, poll_s=0.2, ack_timeout_s=2)
    box.start()
    assert box.agent.wait_connected(15)
    return box, sp, backend


def real_box(*, broker_url: str, workdir: Path, device_id: str | None = None,
             watchdog_s: float | None = None) -> PrintBox:
    backend = CupsBackend(CupsWorker())
    return PrintBox(device_id=device_id or unique_id("pbox"), broker_url=broker_url, workdir=workdir,
                    printers=backend, backend=backend, heartbeat_s=5, refresh_s=1, poll_s=0.5,
                    watchdog_s=watchdog_s, ack_timeout_s=2)


def submit(client: httpx.Client, headers: dict[str, str], data: bytes, *, filename: str = "doc.pdf",
           content_type: str = "application/pdf", **fields: Any) -> httpx.Response:
    form = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return client.post("/api/v1/print/jobs", headers=headers, files={"file": (filename, data, content_type)},
                       data=form)


def job_state(client: httpx.Client, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    res = client.get(f"/api/v1/print/jobs/{job_id}", headers=headers)
    assert res.status_code == 200, res.text
    out: dict[str, Any] = res.json()
    return out


def wait_printer(client: httpx.Client, headers: dict[str, str], printer_id: str, timeout: float = 30) -> None:
    def seen() -> bool:
        res = client.get("/api/v1/printers", headers=headers)
        return any(p["id"] == printer_id and p["online"] for p in res.json())

    wait_for(seen, timeout=timeout, what=f"printer {printer_id} registered")
