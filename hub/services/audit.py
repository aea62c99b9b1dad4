"""Audit log: who did what to which object (enrolment, deletion, rollouts, config, …)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.db.models.core import AuditLog


def audit(session: Session, *, actor: str, action: str, target_type: str, target_id: str,
          detail: dict[str, Any] | None = None) -> AuditLog:
    entry = AuditLog(actor=actor, action=action, target_type=target_type, target_id=target_id,
                     detail=detail or {})
    session.add(entry)
    return entry
