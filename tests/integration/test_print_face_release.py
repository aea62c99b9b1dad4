"""Secure release by face: a held job prints when its owner's face is recognised at a door terminal
configured as the printer's release station; someone else's face (enrolled or not) releases nothing.

Real parts throughout: the five dataset people enrolled through the face API, an edge door terminal
(simulated camera, real face_recognition models, gallery synced over MQTT, hub re-verification),
a real print-box agent downloading over HTTP with a simulated printer behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from devices.print_box.agent import PrintBox
from facecore.models import MODEL_ID
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.fleet import SimFleet
from hub.db.models.attendance import PunchRejection, PunchRow
from hub.services.printing.setup import PRINT
from protocol.bodies_door import PunchEvent
from tests.fixtures.brokers import unique_id
from tests.fixtures.face import create_employee, enrol, images
from tests.fixtures.hub_http import HttpHub
from tests.integration.print_helpers import employee_user, job_state, make_pdf, sim_box, submit, wait_printer
from tests.support.waiting import wait_for


@pytest.fixture
def station(http_hub: HttpHub, tmp_path: Path) -> Iterator[tuple[SimFleet, PrintBox, SimulatedPrinter]]:
    box, printer, _ = sim_box(broker_url=http_hub.settings.broker_url or "", workdir=tmp_path / "box")
    fleet = SimFleet(broker_url=http_hub.settings.broker_url or "", doors=1, printboxes=0, seed=3,
                     workdir=tmp_path / "doors", id_prefix=unique_id("rel") + "-", face_mode="edge", heartbeat_s=5)
    fleet.start()
    try:
        assert fleet.wait_connected(15)
        yield fleet, box, printer
    finally:
        fleet.stop()
        box.stop()


def test_held_job_is_released_by_its_owners_face_only(
        http_hub: HttpHub, station: tuple[SimFleet, PrintBox, SimulatedPrinter]) -> None:
    fleet, box, printer = station
    door = fleet.doors[0]
    admin = http_hub.login()
    with http_hub.client() as c:
        ids = {}
        for person in ("obama", "biden"):
            ids[person] = create_employee(c, admin, person)  # type: ignore[arg-type]
            res = enrol(c, admin, ids[person], images(f"enroll/{person}"))  # type: ignore[arg-type]
            assert res.status_code == 201, res.text
        obama, biden = employee_user(http_hub, ids["obama"]), employee_user(http_hub, ids["biden"])
        wait_printer(c, admin, f"{box.device_id}/{printer.name}")
        wait_for(lambda: c.get(f"/api/v1/devices/{door.device_id}", headers=admin).status_code == 200,
                 what="door terminal registered")
        assert fleet.wait_gallery_synced(30)
        res = c.put(f"/api/v1/print/release-stations/{door.device_id}", headers=admin,
                    json={"box_id": box.device_id, "queue": printer.name})
        assert res.status_code == 204, res.text
        job = submit(c, obama, make_pdf(2), hold=True).json()
        assert job["state"] == "held"

        # A terminal (or someone with its credentials) claiming obama without obama's face: the hub's
        # re-verification refuses the punch, and print only follows punches the hub recorded.
        door.agent.emit(PunchEvent(device_id=door.device_id, employee_id=str(ids["obama"]),
                                   encoding=[0.05] * 128, distance=0.1, threshold=0.6, model_id=MODEL_ID))
        wait_for(lambda: rejected(http_hub, door.device_id, str(ids["obama"])), what="forged punch refused")
        # Someone else, enrolled or not, at the release station: recognised or refused, releases nothing.
        seen = fleet.see(door, images("probe/biden")[0])
        assert seen.decision == "accepted" and seen.employee_id == str(ids["biden"]), seen
        unknown = fleet.see(door, images("unknown")[0])
        assert unknown.decision == "unknown", unknown
        punch = wait_for(lambda: verified_punch(http_hub, door.device_id, ids["biden"]),
                         what="biden's punch verified by the hub")
        watcher = http_hub.runtime.services.get(PRINT).face
        wait_for(lambda: watcher._cursor >= punch, what="the release watcher went past biden's punch")
        assert job_state(c, obama, job["id"])["state"] == "held"
        assert c.get(f"/api/v1/print/jobs/{job['id']}", headers=biden).status_code == 404

        # The owner looks at the terminal: the job goes to the station's printer and prints.
        seen = fleet.see(door, images("probe/obama")[0])
        assert seen.decision == "accepted" and seen.employee_id == str(ids["obama"]), seen
        done = wait_for(lambda: (s := job_state(c, obama, job["id"]))["state"] == "completed" and s, timeout=60,
                        what="released by face and printed")
    assert printer.printed == [job["id"]]
    assert [h["reason"] for h in done["history"] if h["event"] == "release"] == [f"released at {box.device_id}"]
    assert done["printer"] == f"{box.device_id}/{printer.name}"


def rejected(hub: HttpHub, device_id: str, claimed: str) -> bool:
    with hub.runtime.sessions() as s:
        row = s.execute(select(PunchRejection.id).where(PunchRejection.device_id == device_id,
                                                        PunchRejection.claimed_employee_id == claimed)).first()
    return row is not None


def verified_punch(hub: HttpHub, device_id: str, employee_id: int) -> int | None:
    """Id of the face punch the hub recorded for this employee at this terminal (None: not yet)."""
    with hub.runtime.sessions() as s:
        return s.execute(select(PunchRow.id).where(PunchRow.device_id == device_id,
                                                   PunchRow.employee_id == employee_id)).scalar()
