"""The hub's print timers against a real hub, broker, HTTP server and print-box agent (simulated
printer): hold expiry, stuck jobs, file retention, and failed deliveries retried with backoff.

The timers take ``now``: the tests move the hub's clock forward instead of waiting hours. The hub's
own timer keeps running on the real clock alongside, which is what must not act early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devices.print_box.agent import PrintBox
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.print_backend import SimPrintBackend
from hub.db.models.printing import PrintJob
from hub.services.printing.setup import PRINT
from hub.services.printing.tracking import JobTracker
from tests.fixtures.brokers import MosquittoBroker
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import job_state, make_pdf, sim_box, submit, wait_printer
from tests.support.waiting import wait_for

Env = tuple[HttpHub, PrintBox, SimulatedPrinter, SimPrintBackend]


@pytest.fixture
def env(http_hub_factory: Callable[..., HttpHub], mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[Env]:
    # Redelivery base of an hour: only the test's clock (not the hub's 2 s timer) may retry a delivery.
    hub = http_hub_factory(broker_url=mosquitto.url, print_redeliver_after_s=3600)
    box, printer, backend = sim_box(broker_url=mosquitto.url, workdir=tmp_path / "box")
    try:
        yield hub, box, printer, backend
    finally:
        box.stop()


def tracker(hub: HttpHub) -> JobTracker:
    return hub.runtime.services.get(PRINT).tracker  # type: ignore[no-any-return]


def row(hub: HttpHub, job_id: str) -> PrintJob:
    with hub.runtime.sessions() as s:
        job = s.get(PrintJob, job_id)
        assert job is not None
        return job


def start(c: httpx.Client, hub: HttpHub, box: PrintBox, printer: SimulatedPrinter) -> tuple[dict[str, str], str]:
    admin = hub.login()
    printer_id = f"{box.device_id}/{printer.name}"
    wait_printer(c, admin, printer_id)
    return admin, printer_id


def test_held_job_expires_after_8_hours_and_its_file_goes(env: Env) -> None:
    hub, box, printer, _ = env
    with hub.client() as c:
        admin, printer_id = start(c, hub, box, printer)
        job = submit(c, admin, make_pdf(1), printer=printer_id, hold=True).json()
        held_at = row(hub, job["id"]).held_at
        assert held_at is not None
        file = Path(hub.settings.data_dir) / "print" / "files" / str(row(hub, job["id"]).file_name)
        tracker(hub).tick(now=held_at + timedelta(hours=7, minutes=59))
        assert job_state(c, admin, job["id"])["state"] == "held" and file.is_file()
        tracker(hub).tick(now=held_at + timedelta(hours=8, seconds=1))
        done = job_state(c, admin, job["id"])
        assert done["state"] == "expired" and "not released within 8 h" in done["reason"]
        assert not file.exists() and row(hub, job["id"]).file_deleted_at is not None
        # An expired job can no longer be released, by QR or otherwise.
        res = box.agent.request("release", {"qr": job["release_code"]})
        assert res.status.value == "error" and "not waiting for release" in (res.error or "")


def test_stuck_job_times_out_with_an_alert_and_is_canceled_on_the_box(env: Env) -> None:
    hub, box, printer, backend = env
    with hub.client() as c:
        admin, printer_id = start(c, hub, box, printer)
        printer.fault("Paper jam", state="stopped")  # CUPS keeps the job pending; no progress is reported
        job = submit(c, admin, make_pdf(1), printer=printer_id).json()
        wait_for(lambda: job_state(c, admin, job["id"])["state"] == "sent", what="job in the box's queue")
        updated = row(hub, job["id"]).updated_at
        tracker(hub).tick(now=updated + timedelta(hours=3, minutes=59))
        assert job_state(c, admin, job["id"])["state"] == "sent"
        tracker(hub).tick(now=updated + timedelta(hours=4, seconds=1))
        failed = job_state(c, admin, job["id"])
        assert failed["state"] == "failed" and "timed out" in failed["reason"]
        alerts = [a for a in c.get("/api/v1/print/alerts", headers=admin).json() if a["job_id"] == job["id"]]
        assert [(a["kind"], a["box_id"]) for a in alerts] == [("print_job_stuck", box.device_id)]
        cups_id = failed["cups_job_id"]
        wait_for(lambda: backend.jobs[cups_id].canceled, what="the box canceled the job in its queue")
        printer.clear()
        assert box.jobs is not None
        wait_for(lambda: box.jobs.ledger.get(job["id"]).state == "canceled",  # type: ignore[union-attr]
                 what="box ledger canceled")
        # The box's late "canceled" report does not rewrite the hub's verdict.
        assert job_state(c, admin, job["id"])["state"] == "failed"
        assert printer.printed == []


def test_retention_deletes_files_of_finished_jobs_only_after_the_period(env: Env) -> None:
    hub, box, printer, _ = env
    with hub.client() as c:
        admin, printer_id = start(c, hub, box, printer)
        done_id = submit(c, admin, make_pdf(1), printer=printer_id).json()["id"]
        held_id = submit(c, admin, make_pdf(1), printer=printer_id, hold=True).json()["id"]
        wait_for(lambda: job_state(c, admin, done_id)["state"] == "completed", what="job printed")
        finished = row(hub, done_id).finished_at
        assert finished is not None
        files = Path(hub.settings.data_dir) / "print" / "files"
        assert tracker(hub).retention(now=finished + timedelta(days=6, hours=23)) == 0
        assert len(list(files.iterdir())) == 2
        assert tracker(hub).retention(now=finished + timedelta(days=7, seconds=1)) == 1
        assert row(hub, done_id).file_deleted_at is not None and row(hub, held_id).file_deleted_at is None
        assert [p.name for p in files.iterdir()] == [row(hub, held_id).file_name]
        # The job and its history stay (accounting); only the document is gone.
        kept = job_state(c, admin, done_id)
        assert kept["state"] == "completed" and kept["pages_charged"] == 1
        assert tracker(hub).retention(now=finished + timedelta(days=30)) == 0  # nothing twice


def test_failed_delivery_is_retried_after_its_backoff_not_on_every_tick(env: Env) -> None:
    hub, box, printer, backend = env
    with hub.client() as c:
        admin, printer_id = start(c, hub, box, printer)
        backend.fail_submits = 1  # the box's CUPS is down for the first attempt
        job = submit(c, admin, make_pdf(1), printer=printer_id).json()

        def requeued() -> dict[str, Any] | None:
            s = job_state(c, admin, job["id"])
            return s if s["state"] == "pending" and any(h["event"] == "requeue" for h in s["history"]) else None

        state = wait_for(requeued, what="failed delivery requeued")
        assert row(hub, job["id"]).attempts == 1 and "not answering" in state["reason"]
        failed_at = row(hub, job["id"]).updated_at
        # Several timer rounds within the backoff (1 h for the first retry here): no new offer.
        for minutes in (0, 1, 30, 59):
            tracker(hub).tick(now=failed_at + timedelta(minutes=minutes))
        assert row(hub, job["id"]).attempts == 1 and job_state(c, admin, job["id"])["state"] == "pending"
        tracker(hub).tick(now=failed_at + timedelta(hours=1, seconds=1))
        wait_for(lambda: job_state(c, admin, job["id"])["state"] == "completed", what="retried and printed")
        assert row(hub, job["id"]).attempts == 2
        assert printer.printed == [job["id"]]
