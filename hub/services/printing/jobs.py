"""Print jobs: submission, state changes (through the domain state machine), offers to boxes, cancel.

Every state change goes through ``_transition`` so the history and the live feed never miss one.
Offers are ``print_job`` commands carrying a signed, expiring download URL; a box that was offline
gets them when it returns (pending commands, plus its ``print_jobs_pending`` catch-up).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.tokens import Principal, sign_url_path
from hub.db.models.core import Device
from hub.db.models.printing import PrintJob, PrintJobHistory
from hub.db.session import transaction
from hub.domain import print_quota
from hub.domain.print_jobs import TERMINAL, InvalidTransition, JobEvent, JobSnapshot, JobState, apply
from hub.services.commands import CommandRejected
from hub.services.context import FeatureContext
from hub.services.errors import ServiceError
from hub.services.printing import quota, registry
from hub.services.printing.documents import DocumentError, page_count_for_ranges, prepare_document
from hub.services.printing.upload import Upload
from protocol.bodies_print import PrintJobArgs, PrintOptionsBody

log = logging.getLogger(__name__)

FILES_PATH = "/api/v1/files/print/"


class PrintRefused(ServiceError):
    """A request the service refuses; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str, code: str = "refused") -> None:
        super().__init__(message, status=status, code=code)


# image_too_large is 413 like a face photo with too many pixels (the decoded size is what is too large).
_DOC_STATUS = {"empty": 400, "unsupported_type": 415, "office_conversion_unavailable": 415, "image_too_large": 413}


@dataclass(frozen=True, slots=True)
class JobRequest:
    printer: str | None  # "box/queue", "queue" or None for any
    options: PrintOptionsBody
    hold: bool


def owner_key(p: Principal) -> str:
    return f"emp:{p.employee_id}" if p.employee_id is not None else f"user:{p.user_id}"


class JobService:
    def __init__(self, ctx: FeatureContext) -> None:
        self.ctx = ctx
        self.sessions = ctx.sessions
        self.root = Path(ctx.settings.data_dir) / "print"
        self.files = self.root / "files"
        self.tmp = self.root / "tmp"
        self.files.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    # --- submission -----------------------------------------------------------------------

    def submit(self, *, principal: Principal, upload: Upload, req: JobRequest) -> PrintJob:
        """Store and create a job. Refusals raise PrintRefused and leave no file and no row."""
        if upload.path is None:
            raise PrintRefused(422, "send the document in a 'file' form field")
        box_id, queue_name = self._resolve_printer(req.printer)
        try:
            doc = prepare_document(src=upload.path, filename=upload.filename or "document",
                                   content_type=upload.content_type, dst_dir=self.files,
                                   max_image_pixels=self.ctx.settings.print_max_image_pixels)
        except DocumentError as exc:
            raise PrintRefused(_DOC_STATUS.get(exc.code, 422), exc.message, exc.code) from exc
        try:
            return self._create(principal=principal, doc=doc, req=req, box_id=box_id, queue=queue_name)
        except BaseException:
            doc.path.unlink(missing_ok=True)
            raise

    def _resolve_printer(self, printer: str | None) -> tuple[str | None, str | None]:
        if printer is None or printer.strip().lower() in ("", "any"):
            return None, None
        box, _, queue_name = printer.strip().rpartition("/")
        with self.sessions() as session:
            found = registry.available(session, box_id=box or None, queue=queue_name)
        if not found:
            raise PrintRefused(404, f"unknown printer {printer!r}; see GET /api/v1/printers", "unknown_printer")
        return found[0].box_id, found[0].queue

    def _create(self, *, principal: Principal, doc: Any, req: JobRequest, box_id: str | None,
                queue: str | None) -> PrintJob:
        try:
            in_range = page_count_for_ranges(doc.pages, req.options.page_ranges)
        except ValueError as exc:
            raise PrintRefused(422, str(exc), "invalid_page_ranges") from exc
        pages = print_quota.job_pages(pages_in_range=in_range, copies=req.options.copies)
        now = datetime.now(UTC)
        period = print_quota.period_of(now.astimezone())
        key = owner_key(principal)
        with transaction(self.sessions) as session:
            dept = quota.department_of(session, key, principal.employee_id)
            decision = quota.check(session, owner_key=key, department=dept, period=period, pages=pages)
            if not decision.allowed:
                raise PrintRefused(403, f"print quota exceeded: {decision.message}", decision.reason.value)
            job = PrintJob(id=uuid.uuid4().hex, owner_key=key, user_id=principal.user_id,
                           employee_id=principal.employee_id, owner_name=principal.username, department=dept,
                           filename=doc.original_name, mime=doc.mime, file_name=doc.path.name, sha256=doc.sha256,
                           size=doc.size, doc_pages=doc.pages, pages_planned=pages, pages_charged=0,
                           options=req.options.model_dump(mode="json"), requested_printer=req.printer,
                           box_id=box_id, queue=queue, hold=req.hold, state=JobState.PENDING.value, reason="",
                           attempts=0, command_ok=False, period=period, created_at=now, updated_at=now)
            session.add(job)
            session.add(PrintJobHistory(job_id=job.id, at=now, from_state="", to_state="pending", event="submit",
                                        reason=f"{pages} pages", details={}))
            if req.hold:
                self._transition(session, job, JobEvent.HOLD, reason="waiting for release at the printer")
        self.ctx.live.publish("print_job", {"id": job.id, "state": job.state})
        if not req.hold:
            self.dispatch(job.id)
        return self.get(job.id) or job

    # --- state ----------------------------------------------------------------------------

    def get(self, job_id: str) -> PrintJob | None:
        with self.sessions() as session:
            return session.get(PrintJob, job_id)

    def _transition(self, session: Session, job: PrintJob, event: JobEvent, *, reason: str = "",
                    details: dict[str, object] | None = None) -> bool:
        """Apply ``event``; False when it is a duplicate/stale report. Raises InvalidTransition."""
        now = datetime.now(UTC)
        snap = JobSnapshot(job_id=job.id, state=JobState(job.state), held_at=job.held_at)
        new_state, entry = apply(snap, event, at=now, reason=reason, details=details)
        if entry is None:
            return False
        job.state, job.updated_at = new_state.value, now
        job.reason = reason or job.reason
        if new_state is JobState.HELD:
            job.held_at = now
        if new_state in TERMINAL:
            job.finished_at = now
            job.pages_charged = print_quota.billable_pages(final_state=new_state.value, planned=job.pages_planned,
                                                           printed=job.pages_printed)
        session.add(PrintJobHistory(job_id=job.id, at=now, from_state=entry.from_state.value,
                                    to_state=new_state.value, event=event.value, reason=reason,
                                    details=dict(details or {})))
        self.ctx.live.publish("print_job", {"id": job.id, "state": job.state, "reason": reason})
        return True

    def transition(self, job_id: str, event: JobEvent, *, reason: str = "",
                   details: dict[str, object] | None = None) -> PrintJob | None:
        with transaction(self.sessions) as session:
            job = session.get(PrintJob, job_id, with_for_update=True)
            if job is None:
                return None
            try:
                self._transition(session, job, event, reason=reason, details=details)
            except InvalidTransition as exc:
                log.info("ignored: %s", exc)
            return job

    # --- offers ---------------------------------------------------------------------------

    def offer_args(self, job: PrintJob) -> PrintJobArgs:
        expires = int(time.time()) + self.ctx.settings.print_url_ttl_s
        path = FILES_PATH + job.id
        url = f"{self.ctx.settings.base_url.rstrip('/')}{path}?" + sign_url_path(
            path, secret=self.ctx.settings.secret(), expires_at=expires)
        return PrintJobArgs.model_validate({
            "job_id": job.id, "url": url, "sha256": job.sha256, "size": job.size, "filename": job.filename,
            "queue": job.queue, "options": job.options, "hold": False, "owner": job.owner_name or None})

    def dispatch(self, job_id: str) -> bool:
        """Offer a pending (or re-offer a queued) job to its box; False when no printer can take it yet."""
        with transaction(self.sessions) as session:
            job = session.get(PrintJob, job_id, with_for_update=True)
            if job is None or job.state not in (JobState.PENDING.value, JobState.QUEUED.value):
                return False
            if job.box_id is None or job.queue is None:
                choice = registry.available(session)
                if not choice:
                    job.reason = "waiting for a printer to come online"
                    return False
                job.box_id, job.queue = choice[0].box_id, choice[0].queue
            args = self.offer_args(job)
            self._transition(session, job, JobEvent.OFFER, reason=f"offered to {job.box_id}/{job.queue}")
            job.attempts += 1
            job.offered_at, job.command_ok = datetime.now(UTC), False
            job.command_id = uuid.uuid4().hex
            box, cmd_id = job.box_id, job.command_id
        try:
            self.ctx.commands.send(device_id=box, name="print_job", args=args.model_dump(mode="json"),
                                  ttl_s=self.ctx.settings.print_url_ttl_s, ack_timeout_s=30,
                                  created_by="print", command_id=cmd_id)
        except CommandRejected as exc:
            log.warning("print job %s: cannot offer to %s: %s", job_id, box, exc)
            return False
        return True

    # --- cancel ---------------------------------------------------------------------------

    def cancel(self, job_id: str, *, by: str) -> PrintJob:
        with transaction(self.sessions) as session:
            job = session.get(PrintJob, job_id, with_for_update=True)
            if job is None:
                raise PrintRefused(404, f"no print job {job_id}")
            was = job.state
            try:
                self._transition(session, job, JobEvent.CANCEL, reason=f"canceled by {by}")
            except InvalidTransition as exc:
                raise PrintRefused(409, f"print job {job_id} is {job.state}; it can no longer be canceled") from exc
            box = job.box_id if was in ("queued", "sent", "printing") else None
        if box:
            try:
                self.ctx.commands.send(device_id=box, name="cancel_print_job", args={"job_id": job_id},
                                      ttl_s=24 * 3600, ack_timeout_s=30, created_by=by)
            except CommandRejected as exc:
                log.warning("cancel of %s could not reach %s: %s", job_id, box, exc)
        return self.get(job_id) or job

    def history(self, job_id: str) -> list[PrintJobHistory]:
        with self.sessions() as session:
            return list(session.execute(select(PrintJobHistory).where(PrintJobHistory.job_id == job_id)
                                        .order_by(PrintJobHistory.id)).scalars())

    def file_path(self, job: PrintJob) -> Path | None:
        if job.file_name is None or job.file_deleted_at is not None:
            return None
        p = self.files / job.file_name
        return p if p.is_file() else None

    def delete_file(self, session: Session, job: PrintJob) -> None:
        if job.file_name and job.file_deleted_at is None:
            (self.files / job.file_name).unlink(missing_ok=True)
            job.file_deleted_at = datetime.now(UTC)

    def box_online(self, session: Session, box_id: str) -> bool:
        dev = session.get(Device, box_id)
        return bool(dev and dev.online)


def older_than(ts: datetime | None, seconds: float, now: datetime) -> bool:
    return ts is not None and ts + timedelta(seconds=seconds) <= now
