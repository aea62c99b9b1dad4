"""Event log and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from hub.api.deps import AdminUser, OperatorUser, SessionDep
from hub.api.schemas.devices import DeadLetterPublic, EventPage, EventPublic
from hub.api.schemas.types import Line, NonNegInt
from hub.db.models.core import DeadLetter, Event

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get("/events", response_model=EventPage)
def list_events(
    _: OperatorUser, db: SessionDep,
    device_id: Line | None = None, type: Line | None = None,
    since: Annotated[datetime | None, Query(description="device time, ISO 8601 with offset")] = None,
    until: datetime | None = None,
    cursor: Annotated[NonNegInt | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> EventPage:
    stmt = select(Event)
    if device_id:
        stmt = stmt.where(Event.device_id == device_id)
    if type:
        stmt = stmt.where(Event.type == type)
    if since:
        stmt = stmt.where(Event.device_ts >= since)
    if until:
        stmt = stmt.where(Event.device_ts < until)
    if cursor is not None:
        stmt = stmt.where(Event.id > cursor)
    rows = db.execute(stmt.order_by(Event.id).limit(limit)).scalars().all()
    items = [EventPublic.model_validate(r) for r in rows]
    return EventPage(items=items, next_cursor=items[-1].id if len(items) == limit else None)


@router.get("/dead-letters", response_model=list[DeadLetterPublic])
def list_dead_letters(_: AdminUser, db: SessionDep, reason: Line | None = None, device_id: Line | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[DeadLetterPublic]:
    stmt = select(DeadLetter)
    if reason:
        stmt = stmt.where(DeadLetter.reason == reason)
    if device_id:
        stmt = stmt.where(DeadLetter.device_id == device_id)
    rows = db.execute(stmt.order_by(DeadLetter.id.desc()).limit(limit)).scalars()
    return [DeadLetterPublic(id=r.id, received_at=r.received_at, topic=r.topic, device_id=r.device_id,
                             reason=r.reason, detail=r.detail, size=r.size,
                             payload_preview=r.payload[:512].decode("utf-8", "replace")) for r in rows]
