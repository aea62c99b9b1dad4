"""Missed-punch requests: create -> approve | reject, with an append-only audit trail.

Transitions are pure: each returns a new request and never mutates its input, so the caller
can persist the result (or not) atomically. Invalid transitions raise `CorrectionError`
subclasses with a message fit for an API 4xx answer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from hub.domain.attendance.models import Punch, PunchDirection, require_aware

# Roles come from the API tokens (admin, operator, employee); HR work is done by admins.
DEFAULT_APPROVER_ROLES: frozenset[str] = frozenset({"admin"})


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CorrectionError(ValueError):
    """A request or transition that is not allowed."""


class InvalidTransition(CorrectionError):
    pass


class NotAllowed(CorrectionError):
    pass


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str  # "created" | "approved" | "rejected"
    note: str


@dataclass(frozen=True, slots=True)
class MissedPunchRequest:
    id: str
    employee_id: str
    ts: datetime
    direction: PunchDirection
    reason: str
    state: RequestState
    audit: tuple[AuditEntry, ...]

    @property
    def decided_by(self) -> str | None:
        for entry in reversed(self.audit):
            if entry.action in ("approved", "rejected"):
                return entry.actor
        return None


def create_request(
    *,
    id: str,
    employee_id: str,
    ts: datetime,
    direction: PunchDirection,
    reason: str,
    actor: str,
    at: datetime,
) -> MissedPunchRequest:
    """A new pending request. `actor` is whoever files it (the employee or an admin on their behalf)."""
    require_aware(ts, "missed punch ts")
    require_aware(at, "audit time")
    if not id or not employee_id or not actor:
        raise CorrectionError("id, employee_id and actor must not be empty")
    if direction is PunchDirection.AUTO:
        # A correction states what was missed; guessing would make the audit meaningless.
        raise CorrectionError("a missed-punch request must say IN or OUT, not AUTO")
    if not reason.strip():
        raise CorrectionError("a missed-punch request needs a reason")
    return MissedPunchRequest(
        id=id,
        employee_id=employee_id,
        ts=ts,
        direction=direction,
        reason=reason.strip(),
        state=RequestState.PENDING,
        audit=(AuditEntry(at=at, actor=actor, action="created", note=reason.strip()),),
    )


def _decide(
    req: MissedPunchRequest,
    *,
    target: RequestState,
    actor: str,
    actor_role: str,
    at: datetime,
    note: str,
    approver_roles: Collection[str],
) -> MissedPunchRequest:
    verb = "approve" if target is RequestState.APPROVED else "reject"
    require_aware(at, "audit time")
    # Rights first: someone who may not decide learns nothing about the request's state.
    if actor == req.employee_id:
        raise NotAllowed(f"cannot {verb} request {req.id}: employees may not decide their own requests")
    if actor_role not in approver_roles:
        raise NotAllowed(
            f"cannot {verb} request {req.id}: role {actor_role!r} is not an approver"
            f" (allowed: {', '.join(sorted(approver_roles))})"
        )
    if req.state is not RequestState.PENDING:
        raise InvalidTransition(
            f"cannot {verb} request {req.id}: it is already {req.state.value}"
            f" (by {req.decided_by or 'unknown'})"
        )
    if target is RequestState.REJECTED and not note.strip():
        raise CorrectionError(f"cannot reject request {req.id}: a rejection needs a note for the employee")
    entry = AuditEntry(at=at, actor=actor, action=target.value, note=note.strip())
    return replace(req, state=target, audit=(*req.audit, entry))


def approve(
    req: MissedPunchRequest,
    *,
    actor: str,
    actor_role: str,
    at: datetime,
    note: str = "",
    approver_roles: Collection[str] = DEFAULT_APPROVER_ROLES,
) -> MissedPunchRequest:
    return _decide(
        req, target=RequestState.APPROVED, actor=actor, actor_role=actor_role, at=at, note=note,
        approver_roles=approver_roles,
    )


def reject(
    req: MissedPunchRequest,
    *,
    actor: str,
    actor_role: str,
    at: datetime,
    note: str,
    approver_roles: Collection[str] = DEFAULT_APPROVER_ROLES,
) -> MissedPunchRequest:
    return _decide(
        req, target=RequestState.REJECTED, actor=actor, actor_role=actor_role, at=at, note=note,
        approver_roles=approver_roles,
    )


def correction_punch_id(request_id: str) -> str:
    return f"correction:{request_id}"


def to_punch(req: MissedPunchRequest) -> Punch:
    """The punch an approved request stands for; refuses anything not approved."""
    if req.state is not RequestState.APPROVED:
        raise InvalidTransition(
            f"request {req.id} is {req.state.value}; only approved requests become punches"
        )
    return Punch(
        ts=req.ts,
        direction=req.direction,
        source="correction",
        device_id=None,
        punch_id=correction_punch_id(req.id),
    )
