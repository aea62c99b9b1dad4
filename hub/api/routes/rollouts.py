"""Staged firmware rollouts over a group: create, start, pause, resume, advance, abort, rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select

from hub.api.deps import AdminUser, FleetDep, OperatorUser, SessionDep
from hub.api.schemas.fleet import RolloutAction, RolloutCreate, RolloutPublic
from hub.api.schemas.types import Line
from hub.db.models.fleet import RolloutDeviceRow, RolloutRow
from hub.domain.rollout_model import RolloutPlan
from hub.services.fleet.rollouts import rollout_public

router = APIRouter(prefix="/api/v1/rollouts", tags=["rollouts"])
Action = Annotated[str, Path(pattern=r"^(start|pause|resume|advance|abort|rollback)$")]


def _one(db: SessionDep, rollout_id: str) -> dict[str, Any]:
    db.expire_all()
    row = db.get(RolloutRow, rollout_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rollout {rollout_id!r}")
    runs = list(db.execute(select(RolloutDeviceRow).where(RolloutDeviceRow.rollout_id == rollout_id)
                           .order_by(RolloutDeviceRow.device_id)).scalars())
    return rollout_public(row, runs)


@router.post("", response_model=RolloutPublic, status_code=status.HTTP_201_CREATED)
def create(user: AdminUser, fleet: FleetDep, db: SessionDep, body: RolloutCreate) -> dict[str, Any]:
    driver = fleet.rollouts
    plan = RolloutPlan(stages=tuple(body.stages), success_threshold_pct=body.success_threshold_pct,
                       failure_threshold_pct=body.failure_threshold_pct, min_executed=body.min_executed,
                       device_timeout_s=body.device_timeout_s)
    rid = driver.create(firmware_id=body.firmware_id, group=body.group, plan=plan, actor=user.username,
                        device_ids=body.device_ids)
    if body.start:
        driver.command(rid, "start", actor=user.username)
    return _one(db, rid)


@router.get("", response_model=list[RolloutPublic])
def list_rollouts(_: OperatorUser, db: SessionDep, state: Line | None = None,
                  limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict[str, Any]]:
    q = select(RolloutRow).order_by(RolloutRow.created_at.desc()).limit(limit)
    if state:
        q = q.where(RolloutRow.state == state)
    return [rollout_public(r) for r in db.execute(q).scalars()]


@router.get("/{rollout_id}", response_model=RolloutPublic)
def get_rollout(_: OperatorUser, db: SessionDep, rollout_id: Line) -> dict[str, Any]:
    return _one(db, rollout_id)


@router.post("/{rollout_id}/{action}", response_model=RolloutPublic)
def act(user: AdminUser, fleet: FleetDep, db: SessionDep, rollout_id: Line, action: Action,
        body: RolloutAction | None = None) -> dict[str, Any]:
    fleet.rollouts.command(rollout_id, action, actor=user.username, reason=body.reason if body else None)
    return _one(db, rollout_id)
