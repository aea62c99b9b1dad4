"""``GET /api/v1/audit``: who did what, when (enrolment, viewing and erasure of biometric data,
config changes, rollout steps, provisioning, logins). Admins only; newest first, paged by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from hub.api.deps import AdminUser, SessionDep
from hub.api.schemas.types import Id, Line
from hub.db.models.core import AuditLog

router = APIRouter(prefix="/api/v1", tags=["audit"])


class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_before: int | None  # pass as `before` for the next (older) page


@router.get("/audit", response_model=AuditPage)
def list_audit(
    _: AdminUser, db: SessionDep,
    action: Annotated[Line | None, Query(description="exact action, or a prefix ending in '.' (e.g. 'rollout.')")]
    = None,
    actor: Line | None = None, target_type: Line | None = None, target_id: Line | None = None,
    since: datetime | None = None, until: datetime | None = None,
    before: Annotated[Id | None, Query(description="next_before of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    stmt = select(AuditLog)
    if action:
        stmt = stmt.where(AuditLog.action.startswith(action, autoescape=True) if action.endswith(".")
                          else AuditLog.action == action)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if target_type:
        stmt = stmt.where(AuditLog.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditLog.target_id == target_id)
    if since:
        stmt = stmt.where(AuditLog.at >= since)
    if until:
        stmt = stmt.where(AuditLog.at < until)
    if before is not None:
        stmt = stmt.where(AuditLog.id < before)
    rows = db.execute(stmt.order_by(AuditLog.id.desc()).limit(limit)).scalars().all()
    items = [AuditEntryPublic.model_validate(r) for r in rows]
    return AuditPage(items=items, next_before=items[-1].id if len(items) == limit else None)
