"""Release PINs: setting one, and checking employee number + PIN at a box with the wrong-PIN limit.

Rules (hashing, limits, messages) are in ``hub.domain.print_release``. An attempt is recorded as a
failure *before* the slow hash check and removed when the PIN was right: concurrent guesses cannot
slip past the limit, and the hash runs outside the database transaction.

Attempts come from boxes on behalf of anyone standing there, so no audit row is written per wrong
PIN (a guesser could fill the log): wrong and locked-out attempts go to ``on_denied``, which the hub
aggregates per box and window (``hub.services.auth_audit``), and each lockout gets one row, once per
employee number or box per window.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.db.models.core import AuditLog
from hub.db.models.people import Employee
from hub.db.models.printing import PinFailure, PrintProfile
from hub.db.session import transaction
from hub.domain.print_release import PinLimit, hash_pin, pin_hash_is_current, pin_subject, valid_pin, verify_pin
from hub.ingest.handlers import RequestRefused
from hub.services.audit import audit
from hub.services.printing.jobs import PrintRefused

PIN_FAILED = "print.pin_failed"
PIN_THROTTLED = "print.pin_throttled"

# (audit action, box id, reason, employee number) for a refused attempt.
DeniedHook = Callable[[str, str, str, str], None]


class PinService:
    def __init__(self, *, sessions: Any, settings: Any, on_denied: DeniedHook | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.on_denied = on_denied or (lambda action, box_id, reason, employee_no: None)
        # Checked when the employee number is unknown or has no PIN, so the answer takes as long as a
        # real check and timing does not tell which employee numbers exist.
        self._decoy = hash_pin(secret=settings.secret(), pin=secrets.token_hex(6))

    def limit(self) -> PinLimit:
        s = self.settings
        return PinLimit(max_failures=s.print_pin_max_failures, window=timedelta(seconds=s.print_pin_window_s))

    def set_pin(self, *, owner_key: str, pin: str, actor: str) -> None:
        if not valid_pin(pin):
            raise PrintRefused(422, "a print PIN is 4 to 12 digits")
        kind, _, ident = owner_key.partition(":")
        with self.sessions() as session:
            has_employee = kind == "emp" and ident.isdigit() and session.get(Employee, int(ident)) is not None
        if not has_employee:
            raise PrintRefused(422, "a release PIN is typed with an employee number, and this account has no "
                                    "employee record: release held jobs with their QR code")
        stored = hash_pin(secret=self.settings.secret(), pin=pin)
        with transaction(self.sessions) as session:
            prof = session.get(PrintProfile, owner_key) or PrintProfile(owner_key=owner_key)
            prof.pin_hash, prof.updated_at = stored, datetime.now(UTC)
            session.add(prof)
            audit(session, actor=actor, action="print.pin_set", target_type="print_profile", target_id=owner_key)

    def check(self, *, box_id: str, employee_no: str, pin: str, now: datetime | None = None) -> str:
        """The owner key of ``employee_no`` when ``pin`` is theirs; RequestRefused when wrong or locked out."""
        limit, subject = self.limit(), pin_subject(employee_no)
        now = now or datetime.now(UTC)
        since = limit.since(now)
        with transaction(self.sessions) as session:
            session.execute(delete(PinFailure).where(PinFailure.at < since))
            mine = _count(session, since, PinFailure.subject == subject)
            at_box = _count(session, since, PinFailure.box_id == box_id)
            locked = limit.refusal(employee_failures=mine, box_failures=at_box)
            if locked is None:  # counted and recorded in one transaction: parallel guesses see each other
                attempt = PinFailure(box_id=box_id, subject=subject, at=now)
                session.add(attempt)
                session.flush()
                attempt_id = attempt.id
                owner, stored = _pin_of(session, employee_no)
        if locked is not None:
            self.on_denied(PIN_THROTTLED, box_id, locked, employee_no)
            raise RequestRefused(locked)
        ok = verify_pin(secret=self.settings.secret(), pin=pin, stored=stored or self._decoy) and stored is not None
        with transaction(self.sessions) as session:
            if ok and owner is not None:
                # Right PIN: this person's earlier typos no longer count against them.
                session.execute(delete(PinFailure).where(PinFailure.subject == subject))
                prof = session.get(PrintProfile, owner)
                if prof is not None and prof.pin_hash and not pin_hash_is_current(prof.pin_hash):
                    prof.pin_hash = hash_pin(secret=self.settings.secret(), pin=pin)
                return owner
            if session.get(PinFailure, attempt_id) is None:
                # A concurrent right PIN for this number cleared it: this wrong one still counts.
                session.add(PinFailure(box_id=box_id, subject=subject, at=now))
            self._audit_lockouts(session, limit=limit, since=since, box_id=box_id, employee_no=employee_no,
                                 mine=mine, at_box=at_box)
        self.on_denied(PIN_FAILED, box_id, "wrong employee number or PIN", employee_no)
        raise RequestRefused(limit.wrong(employee_failures=mine))

    def _audit_lockouts(self, session: Session, *, limit: PinLimit, since: datetime, box_id: str,
                        employee_no: str, mine: int, at_box: int) -> None:
        window_s = int(limit.window.total_seconds())
        if limit.employee_locked_by(employee_failures=mine) and not _audited(
                session, "print.pin_lockout", employee_no, since):
            audit(session, actor=f"device:{box_id}", action="print.pin_lockout", target_type="employee_no",
                  target_id=employee_no, detail={"box_id": box_id, "failures": mine + 1, "window_s": window_s})
        if limit.box_locked_by(box_failures=at_box) and not _audited(session, "print.pin_box_lockout", box_id, since):
            audit(session, actor=f"device:{box_id}", action="print.pin_box_lockout", target_type="device",
                  target_id=box_id, detail={"failures": at_box + 1, "window_s": window_s})


def _count(session: Session, since: datetime, where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(PinFailure).where(
        where, PinFailure.at >= since)).scalar_one())


def _pin_of(session: Session, employee_no: str) -> tuple[str | None, str | None]:
    """(owner key, stored PIN hash) of an active employee by number; Nones when unknown or without a PIN."""
    emp_id = session.execute(select(Employee.id).where(Employee.employee_no == employee_no,
                                                       Employee.active.is_(True))).scalar_one_or_none()
    if emp_id is None:
        return None, None
    owner = f"emp:{emp_id}"
    prof = session.get(PrintProfile, owner)
    return owner, (prof.pin_hash if prof is not None else None)


def _audited(session: Session, action: str, target_id: str, since: datetime) -> bool:
    return session.execute(select(AuditLog.id).where(AuditLog.action == action, AuditLog.target_id == target_id,
                                                     AuditLog.at >= since).limit(1)).first() is not None
