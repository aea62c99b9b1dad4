"""The simulated fleet's print boxes print for real (download over HTTP, simulated printer), so the
demo's printers take jobs submitted through the API; a printer fault there raises one alert."""

from __future__ import annotations

from pathlib import Path

from firmware_sim.fleet import SimFleet
from tests.fixtures.brokers import unique_id
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import job_state, make_pdf, submit, wait_printer
from tests.support.waiting import wait_for


def test_sim_fleet_print_boxes_print_submitted_jobs(http_hub: HttpHub, tmp_path: Path) -> None:
    fleet = SimFleet(broker_url=http_hub.settings.broker_url or "", doors=0, printboxes=2, seed=4,
                     workdir=tmp_path / "sim", id_prefix=unique_id("pf") + "-", heartbeat_s=5)
    fleet.start()
    admin = http_hub.login()
    try:
        assert fleet.wait_connected(15)
        box = fleet.printboxes[1]
        printer = box.printers.items[0]  # type: ignore[attr-defined]
        with http_hub.client() as c:
            wait_printer(c, admin, f"{box.device_id}/{printer.name}")
            job = submit(c, admin, make_pdf(3), printer=f"{box.device_id}/{printer.name}", copies=2).json()
            done = wait_for(lambda: (s := job_state(c, admin, job["id"]))["state"] == "completed" and s,
                            what="printed by the simulated fleet")
            assert printer.printed == [job["id"]] and done["pages_charged"] == 6
            assert fleet.printboxes[0].printers.items[0].printed == []  # type: ignore[attr-defined]

            printer.fault("Media empty", state="stopped")
            box.refresh()
            wait_for(lambda: [a for a in c.get("/api/v1/alerts", headers=admin,
                                               params={"device_id": box.device_id}).json()],
                     what="printer alert")
            printer.clear()
            box.refresh()
            alerts = wait_for(lambda: (a := c.get("/api/v1/alerts", headers=admin,
                                                  params={"device_id": box.device_id}).json())
                              and a[0]["state"] == "resolved" and a, what="alert resolved")
            # One alert for the fault: print registry and fleet watcher share its key; the box sends no alarm.
            assert [(a["kind"], a["state"]) for a in alerts] == [("printer_error", "resolved")], alerts
    finally:
        fleet.stop()
