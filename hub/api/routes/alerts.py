"""Alerts: list, acknowledge, resolve (raised by any feature through ``hub.services.alerts.Alerts``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from hub.api.deps import OperatorUser, RuntimeDep, SessionDep
from hub.api.schemas.fleet import AlertPublic
from hub.api.schemas.types import Id, Line
from hub.db.models.fleet import Alert
from hub.services.alerts import alert_public

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("", response_model=list[AlertPublic])
def list_alerts(_: OperatorUser, db: SessionDep,
                state: Annotated[str | None, Query(pattern=r"^(open|acked|resolved|active)$")] = None,
                kind: Line | None = None, device_id: Line | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """``state=active`` means open or acked."""
    q = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if state == "active":
        q = q.where(Alert.state.in_(("open", "acked")))
    elif state:
        q = q.where(Alert.state == state)
    if kind:
        q = q.where(Alert.kind == kind)
    if device_id:
        q = q.where(Alert.device_id == device_id)
    return [alert_public(a) for a in db.execute(q).scalars()]


def _move(rt: RuntimeDep, alert_id: Id, to: Literal["acked", "resolved"], by: str) -> dict[str, Any]:
    return rt.alerts.transition(alert_id, to=to, by=by)


@router.post("/{alert_id}/ack", response_model=AlertPublic)
def ack(user: OperatorUser, rt: RuntimeDep, alert_id: Id) -> dict[str, Any]:
    return _move(rt, alert_id, "acked", user.username)


@router.post("/{alert_id}/resolve", response_model=AlertPublic)
def resolve(user: OperatorUser, rt: RuntimeDep, alert_id: Id) -> dict[str, Any]:
    return _move(rt, alert_id, "resolved", user.username)
