"""Cloud print end to end: API → hub → MQTT → a real print box → CUPS → ippeveprinter spool."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from devices.print_box.agent import PrintBox
from devices.print_box.cups_worker import CupsWorker
from tests.fixtures.brokers import unique_id
from tests.fixtures.cups import CupsTestPrinter
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import job_state, make_pdf, real_box, submit, wait_printer
from tests.support.waiting import wait_for


@pytest.fixture
def box(http_hub: HttpHub, tmp_path: Path) -> Iterator[PrintBox]:
    b = real_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "box")
    b.start()
    assert b.agent.wait_connected(15)
    yield b
    b.stop()


def test_pdf_prints_with_copies_duplex_and_ranges(http_hub: HttpHub, box: PrintBox,
                                                  cups_printer: CupsTestPrinter) -> None:
    admin = http_hub.login()
    printer_id = f"{box.device_id}/{cups_printer.queue}"
    with http_hub.client() as c:
        wait_printer(c, admin, printer_id)
        res = submit(c, admin, make_pdf(5), printer=printer_id, copies=2, duplex=True, page_ranges="2-4")
        assert res.status_code == 201, res.text
        job = res.json()
        assert job["pages"] == 5 and job["pages_planned"] == 6
        done = wait_for(lambda: (s := job_state(c, admin, job["id"]))["state"] == "completed" and s,
                        timeout=90, what="job completed")
    assert done["cups_job_id"] and done["pages_charged"] == 6
    assert [h["to_state"] for h in done["history"]][:3] == ["pending", "queued", "sent"]
    spooled = wait_for(lambda: cups_printer.spooled_file_named(job["id"]), timeout=30, what="spool file")
    # CUPS' filters apply the range (pages 2-4) and pad the duplex job to an even page count.
    assert len(PdfReader(str(spooled)).pages) == 4
    with CupsWorker() as w:
        attrs = w.job_attributes(done["cups_job_id"])
    assert attrs["copies"] == 2
    assert attrs["sides"] == "two-sided-long-edge"
    assert "2" in str(attrs["page-ranges"]) and "4" in str(attrs["page-ranges"]), attrs["page-ranges"]


def test_box_offline_30s_prints_each_job_once(http_hub: HttpHub, cups_printer: CupsTestPrinter,
                                              tmp_path: Path) -> None:
    admin = http_hub.login()
    workdir, box_id = tmp_path / "obox", unique_id("obox")
    box = real_box(broker_url=http_hub.settings.broker_url or "", workdir=workdir, device_id=box_id)
    box.start()
    assert box.agent.wait_connected(15)
    printer_id = f"{box_id}/{cups_printer.queue}"
    with http_hub.client() as c:
        wait_printer(c, admin, printer_id)
        box.stop()
        wait_for(lambda: not any(p["online"] for p in c.get("/api/v1/printers", headers=admin).json()
                                 if p["id"] == printer_id), what="box seen offline")
        ids = [submit(c, admin, make_pdf(1), printer=printer_id).json()["id"] for _ in range(2)]
        time.sleep(30)
        assert {job_state(c, admin, i)["state"] for i in ids} == {"queued"}
        again = real_box(broker_url=http_hub.settings.broker_url or "", workdir=workdir, device_id=box_id)
        again.start()
        try:
            for i in ids:
                wait_for(lambda i=i: job_state(c, admin, i)["state"] == "completed", timeout=90, what=f"{i} done")
            time.sleep(3)  # late duplicates (pending command + catch-up answer) would show up by now
            assert again.jobs is not None and again.jobs.submitted == 2
        finally:
            again.stop()
    for i in ids:
        assert len([p for p in cups_printer.spooled_files() if i in p.name]) == 1


def test_hub_restart_mid_job_converges_to_cups(http_hub: HttpHub, box: PrintBox,
                                               cups_printer: CupsTestPrinter) -> None:
    admin = http_hub.login()
    printer_id = f"{box.device_id}/{cups_printer.queue}"
    with http_hub.client() as c:
        wait_printer(c, admin, printer_id)
        job_id = submit(c, admin, make_pdf(2), printer=printer_id).json()["id"]
        wait_for(lambda: job_state(c, admin, job_id)["state"] in ("sent", "printing"), what="job in CUPS")
    http_hub.stop()
    with CupsWorker() as w:  # CUPS finishes the job while the hub is down
        cups_id = wait_for(lambda: box.jobs and box.jobs.ledger.get(job_id).cups_job_id, what="cups id")  # type: ignore[union-attr]
        wait_for(lambda: w.job_status(cups_id).state == "completed", timeout=90, what="CUPS completed")
    http_hub.start()
    with http_hub.client() as c:
        done = wait_for(lambda: (s := job_state(c, admin, job_id))["state"] == "completed" and s, timeout=60,
                        what="hub converged")
    assert done["cups_job_id"] == cups_id


def test_paused_queue_keeps_the_job_alerts_and_prints_after_watchdog(
        http_hub: HttpHub, own_cups_printer: CupsTestPrinter, tmp_path: Path) -> None:
    admin = http_hub.login()
    box = real_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "wbox", watchdog_s=12)
    box.start()
    try:
        printer_id = f"{box.device_id}/{own_cups_printer.queue}"
        with http_hub.client() as c:
            wait_printer(c, admin, printer_id)
            own_cups_printer.pause()
            job_id = submit(c, admin, make_pdf(1), printer=printer_id).json()["id"]

            def alert() -> list[dict[str, object]]:
                return [a for a in c.get("/api/v1/print/alerts", headers=admin).json()
                        if a["queue"] == own_cups_printer.queue and a["code"] == "printer_queue_paused"]

            wait_for(alert, what="paused-queue alert")
            assert job_state(c, admin, job_id)["state"] == "sent"  # kept, not failed
            wait_for(lambda: job_state(c, admin, job_id)["state"] == "completed", timeout=90,
                     what="printed after the watchdog re-enabled the queue")
            wait_for(lambda: alert()[0]["state"] == "resolved", what="alert resolved on recovery")
            # One fault, one alert: the print registry and the fleet's printer watcher share its key,
            # and the box reports the fault only as state (its watchdog logs, it raises no alarm).
            # (The box lists every CUPS queue on this machine: count only this test's queue.)
            for_queue = [a for a in c.get("/api/v1/print/alerts", headers=admin).json()
                         if a["box_id"] == box.device_id and a["queue"] == own_cups_printer.queue]
            assert len(for_queue) == 1, for_queue
            fleet_view = c.get("/api/v1/alerts", headers=admin, params={"device_id": box.device_id}).json()
            assert {a["kind"] for a in fleet_view} == {"printer_error"}, fleet_view
    finally:
        box.stop()


def test_cancel_through_the_api_cancels_the_cups_job(http_hub: HttpHub, own_cups_printer: CupsTestPrinter,
                                                     tmp_path: Path) -> None:
    admin = http_hub.login()
    box = real_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "cbox")  # no watchdog
    box.start()
    try:
        printer_id = f"{box.device_id}/{own_cups_printer.queue}"
        with http_hub.client() as c:
            wait_printer(c, admin, printer_id)
            own_cups_printer.pause()  # the job waits in CUPS, where only a real cancel removes it
            job_id = submit(c, admin, make_pdf(1), printer=printer_id).json()["id"]
            sent = wait_for(lambda: (s := job_state(c, admin, job_id))["cups_job_id"] and s, what="job in CUPS")
            res = c.delete(f"/api/v1/print/jobs/{job_id}", headers=admin)
            assert res.status_code == 200 and res.json()["state"] == "canceled", res.text
            with CupsWorker() as w:
                wait_for(lambda: w.job_status(sent["cups_job_id"]).state == "canceled", what="CUPS job canceled")
            assert box.jobs is not None
            wait_for(lambda: box.jobs.ledger.get(job_id).state == "canceled",  # type: ignore[union-attr]
                     what="box saw the cancel")
            own_cups_printer.resume()
            assert job_state(c, admin, job_id)["state"] == "canceled"
        assert own_cups_printer.spooled_file_named(job_id) is None
    finally:
        box.stop()


def test_unreachable_printer_keeps_the_job_alerts_and_prints_when_it_returns(
        http_hub: HttpHub, own_cups_printer: CupsTestPrinter, tmp_path: Path) -> None:
    admin = http_hub.login()
    box = real_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "ubox", watchdog_s=10)
    box.start()
    try:
        printer_id = f"{box.device_id}/{own_cups_printer.queue}"
        with http_hub.client() as c:
            wait_printer(c, admin, printer_id)
            own_cups_printer.stop_printer()  # the printer is switched off: CUPS cannot reach it
            job_id = submit(c, admin, make_pdf(2), printer=printer_id).json()["id"]

            def offline_alert() -> list[dict[str, object]]:
                return [a for a in c.get("/api/v1/print/alerts", headers=admin).json()
                        if a["queue"] == own_cups_printer.queue and a["kind"] == "printer_error"]

            alert = wait_for(offline_alert, timeout=60, what="printer alert")[0]
            # CUPS itself gives no reason for a switched-off IPP printer; the box's probe reports it offline.
            assert alert["code"] == "printer_offline" and "does not answer" in str(alert["message"]), alert
            assert job_state(c, admin, job_id)["state"] in ("sent", "printing")  # kept, not failed
            own_cups_printer.start_printer()
            done = wait_for(lambda: (s := job_state(c, admin, job_id))["state"] == "completed" and s, timeout=150,
                            what="printed once the printer is back")
            wait_for(lambda: offline_alert()[0]["state"] == "resolved", what="alert resolved")
        assert done["error_code"] is None
        spooled = wait_for(lambda: own_cups_printer.spooled_file_named(job_id), what="spool file")
        assert len(PdfReader(str(spooled)).pages) == 2
    finally:
        box.stop()
