"""The print-job state machine and the rules around it (pure; no I/O).

    pending ──offer──▶ queued ──sent──▶ sent ──printing──▶ printing ──completed──▶ completed
       │                 ▲  │              │                  │
       └──hold──▶ held ──┘  └──requeue──▶ pending (offer lost / box reset)
                   └──expire──▶ expired
    any non-terminal ──cancel──▶ canceled;  any non-terminal except held ──fail──▶ failed

Reports from a print box are at-least-once: the same report twice is a no-op, not an error. A
report that goes backwards (``sent`` after ``printing``) is stale and ignored. ``canceled →
completed`` is allowed: the printer finished before the cancel reached it, and that is what the
employee's quota must be charged for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from protocol.cups_states import CUPS_TO_REPORT, PRINTER_REASON_FAULTS, reason_keyword


class JobState(StrEnum):
    PENDING = "pending"  # stored, not yet offered to a box
    HELD = "held"  # secure release: waiting for the owner to authenticate
    QUEUED = "queued"  # offered to a box (command sent), not yet in CUPS
    SENT = "sent"  # box downloaded the file and submitted it to CUPS
    PRINTING = "printing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"  # held longer than the hold TTL


class JobEvent(StrEnum):
    HOLD = "hold"
    RELEASE = "release"
    OFFER = "offer"
    REQUEUE = "requeue"
    SENT = "sent"
    PRINTING = "printing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCEL = "cancel"
    EXPIRE = "expire"


TERMINAL: frozenset[JobState] = frozenset(
    {JobState.COMPLETED, JobState.FAILED, JobState.CANCELED, JobState.EXPIRED})
DEFAULT_HOLD_TTL = timedelta(hours=8)

_S, _E = JobState, JobEvent
_ACTIVE = (_S.PENDING, _S.HELD, _S.QUEUED, _S.SENT, _S.PRINTING)

# (state, event) -> new state. Anything missing is an invalid transition.
TRANSITIONS: dict[tuple[JobState, JobEvent], JobState] = {
    (_S.PENDING, _E.HOLD): _S.HELD,
    (_S.PENDING, _E.OFFER): _S.QUEUED,
    (_S.HELD, _E.RELEASE): _S.QUEUED,
    (_S.HELD, _E.EXPIRE): _S.EXPIRED,
    (_S.QUEUED, _E.OFFER): _S.QUEUED,  # re-offer after a box reconnects
    (_S.QUEUED, _E.REQUEUE): _S.PENDING,
    (_S.QUEUED, _E.SENT): _S.SENT,
    (_S.QUEUED, _E.PRINTING): _S.PRINTING,  # box may report printing before we saw "sent"
    (_S.QUEUED, _E.COMPLETED): _S.COMPLETED,
    (_S.SENT, _E.REQUEUE): _S.PENDING,  # the box lost its CUPS job (reset, spool wiped)
    (_S.SENT, _E.PRINTING): _S.PRINTING,
    (_S.SENT, _E.COMPLETED): _S.COMPLETED,
    (_S.PRINTING, _E.COMPLETED): _S.COMPLETED,
    (_S.CANCELED, _E.COMPLETED): _S.COMPLETED,  # the printer won the race against the cancel
    **{(s, _E.CANCEL): _S.CANCELED for s in _ACTIVE},
    **{(s, _E.FAILED): _S.FAILED for s in _ACTIVE if s is not _S.HELD},
}

# Progress order of box reports; a report below the current rank is stale, equal is a duplicate.
_RANK = {_S.QUEUED: 0, _S.SENT: 1, _S.PRINTING: 2}
_REPORT_TARGET = {_E.SENT: _S.SENT, _E.PRINTING: _S.PRINTING}


class InvalidTransition(ValueError):
    def __init__(self, job_id: str, state: JobState, event: JobEvent) -> None:
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s is state)
        hint = f"allowed: {', '.join(allowed)}" if allowed else "the job is finished"
        super().__init__(f"print job {job_id} is {state.value}; cannot apply {event.value!r} ({hint})")
        self.job_id, self.state, self.event = job_id, state, event


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    job_id: str
    state: JobState
    held_at: datetime | None = None  # when the job entered ``held``


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    job_id: str
    at: datetime
    from_state: JobState
    to_state: JobState
    event: JobEvent
    reason: str = ""
    details: dict[str, object] = field(default_factory=dict)


class Transition(NamedTuple):
    state: JobState
    entry: HistoryEntry | None  # None: duplicate or stale report, nothing to record


def apply(job: JobSnapshot, event: JobEvent, *, at: datetime, reason: str = "",
          details: dict[str, object] | None = None) -> Transition:
    """Next state for ``event``; raises InvalidTransition when the table forbids it."""
    target = TRANSITIONS.get((job.state, event))
    if target is None:
        if _is_duplicate_or_stale(job.state, event):
            return Transition(job.state, None)
        raise InvalidTransition(job.job_id, job.state, event)
    if target is job.state and event is not JobEvent.OFFER:
        return Transition(job.state, None)
    return Transition(target, HistoryEntry(job_id=job.job_id, at=at, from_state=job.state, to_state=target,
                                           event=event, reason=reason, details=dict(details or {})))


def _is_duplicate_or_stale(state: JobState, event: JobEvent) -> bool:
    report = _REPORT_TARGET.get(event)
    if report is not None and state in _RANK:
        return _RANK[report] <= _RANK[state]
    # The same terminal outcome reported twice (outbox resend) is fine.
    terminal_for = {_E.COMPLETED: _S.COMPLETED, _E.FAILED: _S.FAILED, _E.CANCEL: _S.CANCELED,
                    _E.EXPIRE: _S.EXPIRED}
    return terminal_for.get(event) is state


# --- box reports and CUPS ---------------------------------------------------------------

# What a box reports (protocol ``print_job`` event ``state``) → the event it drives.
REPORT_EVENTS: dict[str, JobEvent] = {
    "sent": JobEvent.SENT, "printing": JobEvent.PRINTING, "completed": JobEvent.COMPLETED,
    "failed": JobEvent.FAILED, "canceled": JobEvent.CANCEL,
}

# CUPS job-state → what the box reports: ``protocol.cups_states.CUPS_TO_REPORT`` (the box uses it too).


def state_for_cups(cups_state: str) -> JobState:
    """Our state for a CUPS job-state name (pending|held|processing|stopped|canceled|aborted|completed)."""
    try:
        return JobState(CUPS_TO_REPORT[cups_state])
    except KeyError:
        raise ValueError(f"unknown CUPS job state {cups_state!r}") from None


def event_for_cups(cups_state: str) -> JobEvent:
    """The event a box's CUPS job-state drives (via the report it sends)."""
    return REPORT_EVENTS[state_for_cups(cups_state).value]


# --- holds ------------------------------------------------------------------------------


def hold_expires_at(held_at: datetime, ttl: timedelta = DEFAULT_HOLD_TTL) -> datetime:
    return held_at + ttl


def hold_expired(job: JobSnapshot, *, now: datetime, ttl: timedelta = DEFAULT_HOLD_TTL) -> bool:
    """A held job whose owner did not release it within ``ttl`` (PaperCut Hive's common 8 h)."""
    if job.state is not JobState.HELD or job.held_at is None:
        return False
    return now >= hold_expires_at(job.held_at, ttl)


# --- faults and retries -------------------------------------------------------------------

# printer-state-reasons keyword → alert code: ``protocol.cups_states.PRINTER_REASON_FAULTS``.
_OFFLINE = frozenset({"offline", "connecting-to-device", "timed-out", "shutdown"})


@dataclass(frozen=True, slots=True)
class FaultDecision:
    keep_job: bool  # True: the job stays where it is and will print when the fault clears
    alert: str | None  # alert code to raise (protocol ``alarm`` event), None when healthy
    reasons: tuple[str, ...] = ()


def printer_fault(*, printer_state: str, reasons: tuple[str, ...] | list[str]) -> FaultDecision:
    """Decide what a printer's state means for the jobs on it.

    A stopped, jammed, paper-out or unreachable printer never fails a job: the job stays queued in
    CUPS and an alert is due so someone fixes the printer (or the watchdog re-enables the queue).
    Warnings (``toner-low-warning``) are not faults.
    """
    faults = []
    for r in reasons:
        base = reason_keyword(r)
        # "-report" is informational, except the offline family that backends report that way.
        if base in PRINTER_REASON_FAULTS and (not r.endswith("-report") or base in _OFFLINE):
            faults.append((PRINTER_REASON_FAULTS[base], r))
    if not faults and printer_state == "stopped":
        faults.append(("printer_stopped", "stopped"))
    if not faults:
        return FaultDecision(keep_job=True, alert=None)
    return FaultDecision(keep_job=True, alert=faults[0][0], reasons=tuple(r for _, r in faults))


# Failures a box reports; permanent ones will fail again, so retrying only wastes paper or time.
# ``cups_job_lost`` (CUPS forgot the job) is not retried either: it may have printed already.
PERMANENT_FAILURES = frozenset(
    {"corrupt_document", "unsupported_type", "encrypted_pdf", "checksum_mismatch", "queue_not_found",
     "invalid_options", "document_too_large", "cups_job_lost"})
MAX_DELIVERY_ATTEMPTS = 5


def should_retry(*, failure_code: str, attempts: int, max_attempts: int = MAX_DELIVERY_ATTEMPTS) -> bool:
    """Re-offer a job after a delivery failure (download error, CUPS unavailable, box restart)?"""
    return failure_code not in PERMANENT_FAILURES and attempts < max_attempts


_RETRY_CAP = timedelta(minutes=15)


def retry_delay(attempts: int, *, base: timedelta = timedelta(seconds=30),
                cap: timedelta = _RETRY_CAP) -> timedelta:
    """Exponential backoff between delivery attempts: 30 s, 1 min, 2 min, … capped at 15 min."""
    delay: timedelta = base * (2 ** max(0, attempts - 1))
    return min(cap, delay)


def offer_due(*, last_try: datetime, attempts: int, now: datetime,
              base: timedelta = timedelta(seconds=30)) -> bool:
    """Is a job that was offered ``attempts`` times (the last at ``last_try``) due for another offer?

    Failed or unanswered deliveries back off (``retry_delay``) instead of retrying on every timer tick.
    The cap never undercuts ``base``: a configured redelivery interval is the shortest wait.
    """
    return now >= last_try + retry_delay(attempts, base=base, cap=max(_RETRY_CAP, base))
