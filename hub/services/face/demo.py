"""Demo data for face check-in: the five dataset people as employees on a day shift, enrolled from
their photos, plus two face terminals (one edge, one thin) whose simulated cameras slowly walk
through the probe photos, so the console shows live check-ins. Skipped when the dataset is absent."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from hub.db.models.attendance import ShiftRow
from hub.db.models.people import Employee
from hub.db.session import transaction
from hub.services.context import FeatureContext
from hub.services.face.enrolment import EnrolmentError, enrol
from hub.services.face.service import FACE

log = logging.getLogger(__name__)

# ../shared/datasets/faces beside the repository (hub/services/face/demo.py is 4 levels below it).
DATASET = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "faces"


class _PacedFolder:
    """Probe photos one every ``every_s`` seconds, in a loop (a person walking up now and then)."""

    def __init__(self, folder: Path, every_s: float) -> None:
        self.files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".png"})
        self.every_s = every_s
        self._closed = threading.Event()

    def frames(self) -> Iterator[Path]:
        while self.files and not self._closed.wait(self.every_s):
            for f in self.files:
                if self._closed.wait(self.every_s):
                    return
                yield f

    def close(self) -> None:
        self._closed.set()


def seed_face_demo(ctx: FeatureContext) -> None:
    folder = ctx.settings.demo_face_dataset or DATASET
    face = ctx.services.find(FACE)
    if face is None or not (folder / "enroll").is_dir():
        log.info("face demo: dataset %s not found; no demo employees enrolled", folder)
        return
    with transaction(ctx.sessions) as s:
        shift = s.execute(select(ShiftRow).where(ShiftRow.name == "Office day")).scalar_one_or_none()
        if shift is None:
            shift = ShiftRow(name="Office day", start="09:00", end="17:30", tz="UTC", rules={})
            s.add(shift)
            s.flush()
        shift_id = shift.id
    for person in sorted(p for p in (folder / "enroll").iterdir() if p.is_dir()):
        number = f"DEMO-{person.name}"
        with transaction(ctx.sessions) as s:
            if s.execute(select(Employee.id).where(Employee.employee_no == number)).first():
                continue  # seeded on an earlier run
            emp = Employee(employee_no=number, name=person.name.replace("_", " ").title(), department="Demo",
                           location="HQ", shift_id=shift_id, active=True)
            s.add(emp)
            s.flush()
            emp_id = emp.id
        try:
            enrol(sessions=ctx.sessions, engine=face.engine, gallery=face.gallery, employee_id=emp_id,
                  photos=[p.read_bytes() for p in sorted(person.iterdir()) if p.is_file()], actor="demo",
                  photo_dir=None)
        except (EnrolmentError, OSError) as exc:
            log.warning("face demo: could not enrol %s: %s", person.name, exc)
    _start_face_terminals(ctx, folder)


def _start_face_terminals(ctx: FeatureContext, folder: Path) -> None:
    from firmware_sim.fleet import SimFleet

    fleets = [SimFleet(broker_url=ctx.broker_url, doors=1, printboxes=0, seed=11 + i, heartbeat_s=10,
                       workdir=ctx.settings.data_dir / "sim-face", id_prefix=f"face-{mode}-", face_mode=mode)
              for i, mode in enumerate(("edge", "thin"))]

    def run() -> None:
        time.sleep(2.0)  # let the hub subscribe first
        for fleet in fleets:
            fleet.start()
            for door in fleet.doors:
                if door.face is not None:
                    face, camera = door.face, _PacedFolder(folder / "probe", every_s=15)
                    ctx.on_stop(camera.close)
                    threading.Thread(target=face.run, args=(camera,), daemon=True, name="demo-camera").start()

    for fleet in fleets:
        ctx.on_stop(fleet.stop)
    threading.Thread(target=run, daemon=True, name="demo-face-terminals").start()
