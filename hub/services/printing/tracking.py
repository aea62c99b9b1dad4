"""What boxes tell the hub about jobs (events, command acks, catch-up requests) and the timers
that keep jobs moving (re-offers with backoff, hold expiry, stuck jobs, file retention).

The timers take an optional ``now`` so tests can move the clock instead of waiting hours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from hub.db.models.printing import PrintJob
from hub.db.session import transaction
from hub.domain.print_jobs import (
    MAX_DELIVERY_ATTEMPTS,
    REPORT_EVENTS,
    TERMINAL,
    InvalidTransition,
    JobEvent,
    JobSnapshot,
    JobState,
    hold_expired,
    offer_due,
    should_retry,
)
from hub.ingest.handlers import RequestRefused, StoredEvent
from hub.services.printing.alerts import JOB_FAILED, JOB_STUCK, PendingAlert, job_alert, raise_pending
from hub.services.printing.jobs import JobService, older_than
from protocol.bodies_print import PendingPrintJobs, PrintJobEvent, PrintJobsPendingRequest
from protocol.payloads import CommandAck, CommandAckStatus, Request

log = logging.getLogger(__name__)

_IN_BOX = (JobState.QUEUED.value, JobState.SENT.value, JobState.PRINTING.value)


class JobTracker:
    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs
        self.ctx = jobs.ctx
        self.sessions = jobs.sessions

    # --- box reports ----------------------------------------------------------------------

    @staticmethod
    def on_bad_report(ev: StoredEvent, exc: ValidationError) -> None:
        log.warning("bad print_job event %s from %s: %s", ev.event_id, ev.device_id, exc)

    def on_event(self, ev: StoredEvent, body: PrintJobEvent) -> None:
        retry_later = False
        alerts: list[PendingAlert] = []
        with transaction(self.sessions) as session:
            job = session.get(PrintJob, body.job_id, with_for_update=True)
            if job is None or job.box_id != ev.device_id:
                log.info("print_job report for %s from %s ignored (unknown job or another box)",
                         body.job_id, ev.device_id)
                return
            if body.cups_job_id is not None:
                job.cups_job_id = body.cups_job_id
            if body.pages_printed is not None:
                job.pages_printed = body.pages_printed
            reason = "; ".join(x for x in (body.message, ", ".join(body.reasons)) if x)
            state_before = job.state
            event = REPORT_EVENTS[body.state]
            if body.state == "failed":
                job.error_code = body.error_code
                if job.state in _IN_BOX and should_retry(failure_code=body.error_code or "unknown",
                                                         attempts=job.attempts):
                    event, retry_later = JobEvent.REQUEUE, True
            try:
                self.jobs._transition(session, job, event, reason=reason or body.state,
                                      details={"cups_job_id": body.cups_job_id, "reasons": body.reasons,
                                               "error_code": body.error_code, "device_ts": ev.device_ts.isoformat()})
            except InvalidTransition as exc:
                log.info("stale print_job report: %s", exc)
            if job.state in TERMINAL:
                job.updated_at = datetime.now(UTC)
            # Only the report that fails the job alerts; a late report about a job the hub already
            # failed (e.g. timed out as stuck) must not raise a second alert.
            if job.state == JobState.FAILED.value and state_before != JobState.FAILED.value:
                alerts.append(job_alert(kind=JOB_FAILED, job_id=job.id, box_id=job.box_id, queue=job.queue,
                                        code=body.error_code,
                                        message=f"print job {job.filename!r} failed: {reason or body.error_code}"))
        raise_pending(self.ctx.alerts, alerts)
        if retry_later:
            log.info("print job %s will be offered again (%s)", body.job_id, body.error_code)

    def on_ack(self, device_id: str, name: str, ack: CommandAck) -> None:
        cmd = self.ctx.commands.get(ack.command_id)
        job_id = (cmd.args or {}).get("job_id") if cmd is not None else None
        if not job_id:
            return
        with transaction(self.sessions) as session:
            job = session.get(PrintJob, job_id, with_for_update=True)
            if job is None or job.command_id != ack.command_id:
                return
            if ack.status is CommandAckStatus.OK:
                job.command_ok = True
            else:
                job.reason = f"box refused the job: {ack.error or ack.status.value}"
                job.updated_at = datetime.now(UTC)

    # --- catch-up -------------------------------------------------------------------------

    def on_pending(self, device_id: str, req: Request, body: BaseModel | None) -> dict[str, Any]:
        if not isinstance(body, PrintJobsPendingRequest):
            raise RequestRefused("print_jobs_pending needs a body")
        known = set(body.known_job_ids)
        out = PendingPrintJobs()
        with transaction(self.sessions) as session:
            rows = session.execute(select(PrintJob).where(PrintJob.box_id == device_id,
                                                          PrintJob.state.in_(_IN_BOX))).scalars().all()
            for job in rows:
                if job.state == JobState.QUEUED.value or job.id not in known:
                    if job.state != JobState.QUEUED.value:
                        # The box lost a job it had taken (reset workdir): give it back to be printed.
                        self.jobs._transition(session, job, JobEvent.REQUEUE, reason=f"{device_id} lost the job")
                        self.jobs._transition(session, job, JobEvent.OFFER, reason="re-offered on catch-up")
                    job.offered_at = datetime.now(UTC)
                    out.jobs.append(self.jobs.offer_args(job))
            if known:
                ended = session.execute(select(PrintJob.id).where(
                    PrintJob.id.in_(known), PrintJob.state == JobState.CANCELED.value)).scalars().all()
                out.cancel_job_ids = list(ended)
        return out.model_dump(mode="json")

    # --- timers ---------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Re-offer what boxes did not take (with backoff), expire holds, time out stuck jobs."""
        s = self.ctx.settings
        now = now or datetime.now(UTC)
        base = timedelta(seconds=s.print_redeliver_after_s)
        to_dispatch: list[str] = []
        to_cancel: list[tuple[str, str]] = []
        alerts: list[PendingAlert] = []
        with transaction(self.sessions) as session:
            active = session.execute(select(PrintJob).where(PrintJob.state.in_(
                ("pending", "held", "queued", "sent", "printing")))).scalars().all()
            for job in active:
                if job.state == "pending":
                    # A job that failed delivery waits out its backoff; a new one goes now.
                    if job.attempts == 0 or offer_due(last_try=job.updated_at, attempts=job.attempts, now=now,
                                                      base=base):
                        to_dispatch.append(job.id)
                elif job.state == "held":
                    snap = JobSnapshot(job_id=job.id, state=JobState.HELD, held_at=job.held_at)
                    if hold_expired(snap, now=now, ttl=timedelta(hours=s.print_hold_ttl_h)):
                        self.jobs._transition(session, job, JobEvent.EXPIRE,
                                              reason=f"not released within {s.print_hold_ttl_h:g} h")
                        self.jobs.delete_file(session, job)
                elif job.state == "queued":
                    late = job.offered_at is not None and offer_due(last_try=job.offered_at, attempts=job.attempts,
                                                                    now=now, base=base)
                    if job.box_id and not job.command_ok and late and self.jobs.box_online(session, job.box_id):
                        if job.attempts >= MAX_DELIVERY_ATTEMPTS:
                            why = f"{job.box_id} did not take the job after {job.attempts} offers"
                            self.jobs._transition(session, job, JobEvent.FAILED, reason=why)
                        else:
                            to_dispatch.append(job.id)
                elif older_than(job.updated_at, s.print_stuck_after_s, now):
                    alerts.append(self._stuck(session, job))
                    if job.box_id:
                        to_cancel.append((job.box_id, job.id))
        # Commands and alerts open their own transactions: never while this one holds the write lock.
        raise_pending(self.ctx.alerts, alerts)
        for job_id in to_dispatch:
            self.jobs.dispatch(job_id)
        for box, job_id in to_cancel:
            self.ctx.commands.send(device_id=box, name="cancel_print_job", args={"job_id": job_id},
                                  ttl_s=24 * 3600, created_by="print-watchdog")

    def _stuck(self, session: Any, job: PrintJob) -> PendingAlert:
        secs = self.ctx.settings.print_stuck_after_s
        self.jobs._transition(session, job, JobEvent.FAILED, reason=f"no progress for {secs:g}s; timed out")
        job.error_code = "stuck"
        return job_alert(kind=JOB_STUCK, job_id=job.id, box_id=job.box_id, queue=job.queue,
                         message=f"print job {job.filename!r} made no progress for {secs:g}s")

    def retention(self, now: datetime | None = None) -> int:
        """Delete job files ``print_retention_days`` after the job ended; returns how many."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.ctx.settings.print_retention_days)
        with transaction(self.sessions) as session:
            rows = session.execute(select(PrintJob).where(
                PrintJob.state.in_([t.value for t in TERMINAL]), PrintJob.finished_at <= cutoff,
                PrintJob.file_deleted_at.is_(None))).scalars().all()
            for job in rows:
                self.jobs.delete_file(session, job)
        return len(rows)
