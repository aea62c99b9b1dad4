"""Secure release: PIN (keyed hash, wrong PINs rate-limited per box, or per box + employee number
when the box sends one), QR code (signed per job) and face (``face_release``).

A PIN is stored as HMAC-SHA256 under the hub secret, which makes it unique and lets the PIN typed
at a box find its owner without a user name; a leaked database alone does not reveal PINs. The
rules themselves are in ``hub.domain.print_release``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.db.models.people import Employee
from hub.db.models.printing import PinFailure, PrintJob, PrintProfile, ReleaseStation
from hub.db.session import transaction
from hub.domain.print_jobs import InvalidTransition, JobEvent
from hub.domain.print_release import PinLimit, job_of_release_code, pin_hash, pin_subject, release_code, valid_pin
from hub.ingest.handlers import RequestRefused
from hub.services.printing import registry
from hub.services.printing.jobs import JobService, PrintRefused
from protocol.bodies_print import ReleaseRequest, ReleaseResult
from protocol.payloads import Request

log = logging.getLogger(__name__)


class ReleaseService:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.rt = jobs.rt
        self.sessions = jobs.sessions

    def _pin_hash(self, pin: str) -> str:
        return pin_hash(secret=self.rt.settings.secret(), pin=pin)

    # --- PIN ------------------------------------------------------------------------------

    def set_pin(self, owner_key: str, pin: str) -> None:
        if not valid_pin(pin):
            raise PrintRefused(422, "a print PIN is 4 to 12 digits")
        try:
            with transaction(self.sessions) as session:
                prof = session.get(PrintProfile, owner_key) or PrintProfile(owner_key=owner_key)
                prof.pin_hash, prof.updated_at = self._pin_hash(pin), datetime.now(UTC)
                session.add(prof)
        except IntegrityError as exc:
            raise PrintRefused(409, "this PIN cannot be used; choose another one") from exc

    def pin_limit(self) -> PinLimit:
        s = self.rt.settings
        return PinLimit(max_failures=s.print_pin_max_failures, window=timedelta(seconds=s.print_pin_window_s))

    # --- QR -------------------------------------------------------------------------------

    def qr_code(self, job_id: str) -> str:
        return release_code(secret=self.rt.settings.secret(), job_id=job_id)

    # --- release at a box -----------------------------------------------------------------

    def on_release_request(self, device_id: str, req: Request, body: BaseModel | None) -> dict[str, Any]:
        if not isinstance(body, ReleaseRequest):
            raise RequestRefused("release needs a pin or a qr code")
        if body.qr is not None:
            return self._release_qr(device_id, body.qr, body.queue)
        assert body.pin is not None
        owner = self.check_pin(box_id=device_id, pin=body.pin, employee_no=body.employee)
        released = self._release(owner_key=owner, box_id=device_id, queue=body.queue)
        return ReleaseResult(job_ids=released, employee=owner,
                             message=f"{len(released)} job(s) released" if released else
                             "no jobs are waiting for you at this printer").model_dump()

    def _release_qr(self, device_id: str, code: str, queue: str | None) -> dict[str, Any]:
        job_id = job_of_release_code(secret=self.rt.settings.secret(), code=code)
        if job_id is None:
            raise RequestRefused("this QR code is not a valid release code")
        with self.sessions() as session:
            job = session.get(PrintJob, job_id)
            if job is None or job.state != "held":
                raise RequestRefused("this job is not waiting for release (already printed, canceled or expired)")
            owner, name = job.owner_key, job.owner_name
        released = self._release(owner_key=owner, box_id=device_id, queue=queue, only=job_id)
        return ReleaseResult(job_ids=released, employee=name, message=f"{len(released)} job(s) released").model_dump()

    def check_pin(self, *, box_id: str, pin: str, employee_no: str | None = None,
                  now: datetime | None = None) -> str:
        """The owner key a PIN typed at ``box_id`` belongs to; RequestRefused when wrong or locked out.

        A failure is committed before the refusal is answered: it must count even though we answer an error.
        """
        limit, subject = self.pin_limit(), pin_subject(employee_no)
        now = now or datetime.now(UTC)
        since = limit.since(now)
        with transaction(self.sessions) as session:
            session.execute(delete(PinFailure).where(PinFailure.at < since))
            counts = dict(session.execute(select(PinFailure.subject, func.count()).where(
                PinFailure.box_id == box_id, PinFailure.at >= since).group_by(PinFailure.subject)).all())
            mine = int(counts.get(subject, 0))
            locked = limit.refusal(subject_failures=mine, box_failures=sum(int(v) for v in counts.values()))
            if locked:
                raise RequestRefused(locked)
            owner = self._pin_owner(session, pin, employee_no)
            if owner is None:
                session.add(PinFailure(box_id=box_id, subject=subject, at=now))
                wrong = limit.wrong(subject_failures=mine)
                if employee_no:
                    wrong = wrong.replace("wrong PIN", "wrong employee number or PIN", 1)
        if owner is None:
            raise RequestRefused(wrong)
        return owner

    def _pin_owner(self, session: Session, pin: str, employee_no: str | None) -> str | None:
        prof = session.execute(select(PrintProfile).where(
            PrintProfile.pin_hash == self._pin_hash(pin))).scalar_one_or_none()
        if prof is None:
            return None
        if employee_no is None:
            return prof.owner_key
        emp_id = session.execute(select(Employee.id).where(Employee.employee_no == employee_no,
                                                           Employee.active.is_(True))).scalar_one_or_none()
        return prof.owner_key if emp_id is not None and prof.owner_key == f"emp:{emp_id}" else None

    def _release(self, *, owner_key: str, box_id: str, queue: str | None, only: str | None = None) -> list[str]:
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
        return self._release(owner_key=f"emp:{employee_id}", box_id=st.box_id, queue=st.queue)
