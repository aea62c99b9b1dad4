"""Secure release at a box: employee number + PIN (``pins``), QR code (signed per job) and face
(``face_release``). Every release that printed something is audited with how it was authorised.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from hub.db.models.printing import PrintJob, ReleaseStation
from hub.db.session import transaction
from hub.domain.print_jobs import InvalidTransition, JobEvent
from hub.domain.print_release import job_of_release_code, release_code
from hub.ingest.handlers import RequestRefused
from hub.services.audit import audit
from hub.services.auth_audit import note_denied
from hub.services.printing import registry
from hub.services.printing.jobs import JobService, PrintRefused
from hub.services.printing.pins import PinService
from protocol.bodies_print import ReleaseRequest, ReleaseResult
from protocol.payloads import Request

log = logging.getLogger(__name__)


class ReleaseService:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.ctx = jobs.ctx
        self.sessions = jobs.sessions
        self.pins = PinService(sessions=jobs.sessions, settings=jobs.ctx.settings, on_denied=self._denied)

    def _denied(self, action: str, box_id: str, reason: str, employee_no: str) -> None:
        # Aggregated per box and window, like refused logins: attempts come from anyone at a printer.
        note_denied(self.ctx.services, action=action, source=f"device:{box_id}", reason=reason, username=employee_no)

    # --- QR -------------------------------------------------------------------------------

    def qr_code(self, job_id: str) -> str:
        return release_code(secret=self.ctx.settings.secret(), job_id=job_id)

    # --- release at a box -----------------------------------------------------------------

    def on_release_request(self, device_id: str, req: Request, body: BaseModel | None) -> dict[str, Any]:
        if not isinstance(body, ReleaseRequest):
            raise RequestRefused("release needs an employee number and PIN, or a QR code")
        if body.qr is not None:
            return self._release_qr(device_id, body.qr, body.queue)
        assert body.pin is not None and body.employee is not None  # the contract pairs them
        owner = self.pins.check(box_id=device_id, employee_no=body.employee, pin=body.pin)
        released = self._release(owner_key=owner, box_id=device_id, queue=body.queue, method="pin")
        return ReleaseResult(job_ids=released, employee=owner,
                             message=f"{len(released)} job(s) released" if released else
                             "no jobs are waiting for you at this printer").model_dump()

    def _release_qr(self, device_id: str, code: str, queue: str | None) -> dict[str, Any]:
        job_id = job_of_release_code(secret=self.ctx.settings.secret(), code=code)
        if job_id is None:
            raise RequestRefused("this QR code is not a valid release code")
        with self.sessions() as session:
            job = session.get(PrintJob, job_id)
            if job is None or job.state != "held":
                raise RequestRefused("this job is not waiting for release (already printed, canceled or expired)")
            owner, name = job.owner_key, job.owner_name
        released = self._release(owner_key=owner, box_id=device_id, queue=queue, only=job_id, method="qr")
        return ReleaseResult(job_ids=released, employee=name, message=f"{len(released)} job(s) released").model_dump()

    def _release(self, *, owner_key: str, box_id: str, queue: str | None, method: str,
                 only: str | None = None) -> list[str]:
        """Move the owner's held jobs for this box (or for any printer) to the box, then offer them."""
        released: list[str] = []
        with transaction(self.sessions) as session:
            q = select(PrintJob).where(PrintJob.owner_key == owner_key, PrintJob.state == "held")
            if only:
                q = q.where(PrintJob.id == only)
            here = registry.available(session, box_id=box_id, queue=queue)
            for job in session.execute(q.order_by(PrintJob.created_at)).scalars():
                if job.box_id not in (None, box_id):
                    continue  # sent to another printer: released there
                target = job.queue if job.box_id == box_id and job.queue else (here[0].queue if here else None)
                if target is None:
                    continue
                job.box_id, job.queue = box_id, target
                try:
                    self.jobs._transition(session, job, JobEvent.RELEASE, reason=f"released at {box_id}")
                except InvalidTransition:
                    continue
                # dispatch() offers jobs in pending/queued; released jobs go straight to queued.
                released.append(job.id)
            if released:
                audit(session, actor=f"device:{box_id}", action="print.release", target_type="print_owner",
                      target_id=owner_key, detail={"method": method, "queue": queue, "jobs": released})
        for job_id in released:
            self.jobs.dispatch(job_id)
        return released

    # --- face -----------------------------------------------------------------------------

    def set_station(self, *, terminal_id: str, box_id: str, queue: str | None) -> None:
        with transaction(self.sessions) as session:
            row = session.get(ReleaseStation, terminal_id) or ReleaseStation(terminal_id=terminal_id, box_id=box_id)
            row.box_id, row.queue = box_id, queue
            session.add(row)

    def release_for_employee(self, *, terminal_id: str, employee_id: int) -> list[str]:
        with self.sessions() as session:
            st = session.get(ReleaseStation, terminal_id)
        if st is None:
            raise PrintRefused(404, f"{terminal_id} is not configured as a print release station")
        return self._release(owner_key=f"emp:{employee_id}", box_id=st.box_id, queue=st.queue, method="face")
