"""Demo data for face check-in: the five dataset people as employees on a day shift, enrolled from
their photos. Skipped when the dataset is absent. The demo's face terminals (cameras walking
through the probe photos) run in the simulator's process: ``firmware_sim.face_demo``."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select

from hub.db.models.attendance import ShiftRow
from hub.db.models.people import Employee
from hub.db.session import transaction
from hub.services.context import FeatureContext
from hub.services.face.enrolment import EnrolmentError, enrol
from hub.services.face.service import FACE
from hub.settings import Settings

log = logging.getLogger(__name__)

# ../shared/datasets/faces beside the repository (hub/services/face/demo.py is 4 levels below it).
DATASET = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "faces"


def demo_face_dataset(settings: Settings) -> Path | None:
    """The demo's face photos (enrol + probe), or None when the dataset is not beside the repository."""
    folder = settings.demo_face_dataset or DATASET
    return folder if (folder / "enroll").is_dir() and (folder / "probe").is_dir() else None


def seed_face_demo(ctx: FeatureContext) -> None:
    folder = demo_face_dataset(ctx.settings)
    face = ctx.services.find(FACE)
    if face is None or folder is None:
        log.info("face demo: dataset %s not found; no demo employees enrolled",
                 ctx.settings.demo_face_dataset or DATASET)
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
