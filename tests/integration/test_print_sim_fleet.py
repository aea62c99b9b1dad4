"""The simulated fleet's print boxes print for real (download over HTTP, simulated printer), so the
demo's printers take jobs submitted through the API; a printer fault there raises one alert."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from firmware_sim.fleet import SimFleet
from firmware_sim.scenarios import ScenarioRunner
from protocol.events import AlarmEvent
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


def _noisy_pdf(side: int) -> bytes:
    """A one-page PDF of random pixels: incompressible, so its size is about side² × 3 bytes."""
    noise = Image.fromarray(np.random.default_rng(5).integers(0, 255, (side, side, 3), dtype=np.uint8))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawImage(ImageReader(noise), 36, 36, width=500, height=500)
    c.showPage()
    c.save()
    return buf.getvalue()


def test_box_applies_its_size_limit_and_queue_names_from_config(http_hub: HttpHub, tmp_path: Path) -> None:
    """max_job_mb from the device config: a larger document fails at the box (permanent, not
    retried) with the reason, before any download, and nothing prints. print_queues gives a printer
    its hub name."""
    fleet = SimFleet(broker_url=http_hub.settings.broker_url or "", doors=0, printboxes=1, seed=6,
                     workdir=tmp_path / "sim", id_prefix=unique_id("lim") + "-", heartbeat_s=5)
    fleet.start()
    admin = http_hub.login()
    try:
        assert fleet.wait_connected(15)
        box = fleet.printboxes[0]
        printer = box.printers.items[0]  # type: ignore[attr-defined]
        with http_hub.client() as c:
            wait_printer(c, admin, f"{box.device_id}/{printer.name}")
            res = c.patch(f"/api/v1/devices/{box.device_id}/config", headers=admin, json={"values": {"max_job_mb": 1}})
            assert res.status_code == 200, res.text
            wait_for(lambda: box.jobs is not None and box.jobs.max_job_bytes == 1024 * 1024, what="config applied")
            big = _noisy_pdf(800)
            assert len(big) > 1024 * 1024
            job = submit(c, admin, big, printer=f"{box.device_id}/{printer.name}").json()
            failed = wait_for(lambda: (s := job_state(c, admin, job["id"]))["state"] == "failed" and s,
                              what="the box refused the job")
            assert failed["error_code"] == "document_too_large" and "max_job_mb" in failed["reason"], failed
            small = submit(c, admin, make_pdf(1), printer=f"{box.device_id}/{printer.name}").json()
            wait_for(lambda: job_state(c, admin, small["id"])["state"] == "completed", what="small job printed")
            assert printer.printed == [small["id"]]

            # print_queues: the box reports the printer under the hub name and prints jobs for it there.
            res = c.patch(f"/api/v1/devices/{box.device_id}/config", headers=admin,
                          json={"values": {"print_queues": {"floor-2": printer.name}}})
            assert res.status_code == 200, res.text
            wait_printer(c, admin, f"{box.device_id}/floor-2")
            named = submit(c, admin, make_pdf(2), printer=f"{box.device_id}/floor-2").json()
            wait_for(lambda: job_state(c, admin, named["id"])["state"] == "completed", what="printed via its hub name")
            assert printer.printed == [small["id"], named["id"]]
    finally:
        fleet.stop()


def test_scenarios_take_paper_and_network_away_and_give_them_back(http_hub: HttpHub, tmp_path: Path) -> None:
    """officehub sim --scenario paper-out --scenario flaky-network, one strike: the printer alert opens
    and resolves, the device drops off the network and comes back, and the event it emitted while
    away arrives once."""
    fleet = SimFleet(broker_url=http_hub.settings.broker_url or "", doors=0, printboxes=1, seed=8,
                     workdir=tmp_path / "sim", id_prefix=unique_id("scn") + "-", heartbeat_s=5)
    fleet.start()
    admin = http_hub.login()
    runner = ScenarioRunner(fleet, ("paper-out", "flaky-network"), recover_after_s=2, seed=1)
    try:
        assert fleet.wait_connected(15)
        box = fleet.printboxes[0]
        with http_hub.client() as c:
            wait_printer(c, admin, f"{box.device_id}/{box.printers.items[0].name}")  # type: ignore[attr-defined]
            runner.step()
            assert any(n.startswith("paper-out") for n in runner.log) and any("blip" in n for n in runner.log)
            box.agent.emit(AlarmEvent(code="scenario_probe", severity="info", message="while flaky"))

            def alerts() -> list[dict[str, object]]:
                return list(c.get("/api/v1/alerts", headers=admin, params={"device_id": box.device_id}).json())

            wait_for(lambda: any(a["kind"] == "printer_error" for a in alerts()), what="paper-out alert")
            wait_for(lambda: any(a["kind"] == "printer_error" and a["state"] == "resolved" for a in alerts()),
                     what="paper refilled, alert resolved", timeout=60)
            wait_for(lambda: box.agent.connected and box.agent.outbox.depth() == 0, what="reconnected, outbox empty")
            probes = c.get("/api/v1/events", headers=admin, params={"device_id": box.device_id, "type": "alarm"}
                           ).json()["items"]
            assert [e["data"]["code"] for e in probes].count("scenario_probe") == 1
            # The device itself saw the link go (its log, fetched through the hub).
            logs = c.post(f"/api/v1/devices/{box.device_id}/logs", headers=admin, params={"lines": 50, "wait_s": 10})
            assert logs.status_code == 200, logs.text
            assert any("lost the broker connection" in line for line in logs.json()["result"]["lines"])
    finally:
        runner.stop()
        fleet.stop()
