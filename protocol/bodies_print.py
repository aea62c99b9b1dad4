"""Event, request and command bodies for the print feature (registered on import).

Flow: the hub sends ``print_job`` (a signed download URL, never the file itself); the box downloads,
checks ``sha256``, submits to its CUPS queue and reports every state change as a ``print_job``
event. Printer faults (paper out, jam, offline, paused queue) go out as the generic ``alarm`` event
with one of ``PRINTER_ALARM_CODES`` and ``details.queue``. A box that reconnects asks for the jobs
it should have (``print_jobs_pending``). Secure release at the box: the box sends ``release`` with
the employee number and PIN, or the QR code, it read; the hub answers with the job ids it released
(``ReleaseResult``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl, model_validator

from protocol.events import Body, command_args, event_body, request_body

JOB_ID = r"^[A-Za-z0-9_-]{1,64}$"
QUEUE = r"^[A-Za-z0-9_.@-]{1,127}$"  # CUPS queue names: no spaces, slashes or '#'
PAGE_RANGES = r"^\d+(-\d+)?(,\d+(-\d+)?)*$"

# Codes for ``alarm`` events about printers (details: {"queue": ..., "reasons": [...]}).
PRINTER_ALARM_CODES = (
    "printer_offline", "printer_paper_out", "printer_jam", "printer_door_open", "printer_toner_empty",
    "printer_queue_paused", "printer_stopped", "printer_recovered",
)

BoxJobState = Literal["sent", "printing", "completed", "failed", "canceled"]


class PrintOptionsBody(Body):
    copies: int = Field(default=1, ge=1, le=999)
    duplex: bool = False
    color: bool = False
    page_ranges: str | None = Field(default=None, pattern=PAGE_RANGES, max_length=200)
    media: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@event_body("print_job")
class PrintJobEvent(Body):
    """Box → hub: the job moved (``sent`` = in CUPS, waiting or held; then printing, and an outcome)."""

    job_id: str = Field(pattern=JOB_ID)
    state: BoxJobState
    cups_job_id: int | None = Field(default=None, ge=1)
    reasons: list[str] = Field(default_factory=list, max_length=32)  # CUPS job/printer-state-reasons
    pages_printed: int | None = Field(default=None, ge=0)  # job-impressions-completed, when known
    # Stable failure code for ``failed`` (download_failed, checksum_mismatch, queue_not_found,
    # cups_unavailable, cups_aborted, cups_job_lost: CUPS forgot the job, outcome unknown, ...),
    # used by the hub's retry rule.
    error_code: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    message: str = Field(default="", max_length=1000)


@command_args("print_job")
class PrintJobArgs(Body):
    """Hub → box: fetch ``url`` (signed, short-lived) and print it on ``queue``.

    ``hold``: submit to CUPS held and print only on ``release_job`` (secure release at the box).
    A box that already has ``job_id`` does not print it again; it re-reports its state.
    """

    job_id: str = Field(pattern=JOB_ID)
    url: HttpUrl
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    filename: str = Field(min_length=1, max_length=255)
    queue: str = Field(pattern=QUEUE)
    options: PrintOptionsBody = Field(default_factory=PrintOptionsBody)
    hold: bool = False
    owner: str | None = Field(default=None, max_length=128)  # shown in the CUPS queue as the job user


@command_args("cancel_print_job")
class CancelPrintJobArgs(Body):
    job_id: str = Field(pattern=JOB_ID)


@command_args("release_job")
class ReleaseJobArgs(Body):
    job_id: str = Field(pattern=JOB_ID)


@request_body("release")
class ReleaseRequest(Body):
    """Box → hub: someone at the box wants their held jobs: ``employee`` + ``pin``, or ``qr``.

    ``employee``: the employee number typed before the PIN; the PIN is checked against that
    employee only (PINs are not unique). Wrong PINs are limited per employee number (at every box)
    and per box; a locked-out employee can still release with a job's QR code.
    ``qr``: a scanned release code, which releases exactly the one job it was issued for.
    """

    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,12}$")
    qr: str | None = Field(default=None, min_length=8, max_length=512)
    queue: str | None = Field(default=None, pattern=QUEUE)  # the printer they stand at
    employee: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")

    @model_validator(mode="after")
    def _one_credential(self) -> ReleaseRequest:
        if (self.pin is None) == (self.qr is None):
            raise ValueError("give exactly one of pin (with employee) or qr")
        if (self.employee is None) != (self.pin is None):
            raise ValueError("employee and pin go together")
        return self


class ReleaseResult(Body):
    """``res/release`` data: what the hub released (an empty list when nothing was waiting)."""

    job_ids: list[str] = Field(default_factory=list)
    employee: str | None = None
    message: str = ""


@request_body("print_jobs_pending")
class PrintJobsPendingRequest(Body):
    """Box → hub after (re)connecting: which jobs should I have? Answered with ``PendingPrintJobs``."""

    queues: list[str] = Field(default_factory=list, max_length=64)
    known_job_ids: list[str] = Field(default_factory=list, max_length=1000)


class PendingPrintJobs(Body):
    jobs: list[PrintJobArgs] = Field(default_factory=list)
    cancel_job_ids: list[str] = Field(default_factory=list)  # jobs the box holds that were canceled meanwhile
