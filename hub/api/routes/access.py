"""Door access: access groups (members, doors, weekly schedule). Door alerts (forced/held open)
are raised by the fleet feature and listed at ``/api/v1/alerts``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.api.deps import AdminUser, OperatorUser, RuntimeDep, SessionDep
from hub.api.schemas.people import AccessGroupCreate, AccessGroupPublic
from hub.api.schemas.types import Id
from hub.db.models.access import AccessGroup, AccessGroupMember
from hub.db.models.people import Employee
from hub.runtime import HubRuntime
from hub.services.audit import audit
from hub.services.face.service import FACE
from hub.services.face.sync import notify_edge_terminals

router = APIRouter(prefix="/api/v1/access", tags=["access"])


def _public(db: SessionDep, g: AccessGroup) -> AccessGroupPublic:
    members = list(db.execute(select(AccessGroupMember.employee_id).where(AccessGroupMember.group_id == g.id)
                              .order_by(AccessGroupMember.employee_id)).scalars())
    return AccessGroupPublic(id=g.id, name=g.name, doors=g.doors, schedule=g.schedule, tz=g.tz, members=members)


def _resync(rt: HubRuntime, doors: list[str]) -> None:
    # Which people a door admits changed: its terminal drops its gallery and pulls it again.
    if doors and FACE in rt.services:
        notify_edge_terminals(rt.services.get(FACE), rt.commands, version=0, only=doors)


def _write(db: SessionDep, group: AccessGroup, body: AccessGroupCreate) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(body.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise HTTPException(422, f"tz: unknown time zone {body.tz!r}") from exc
    unknown = [m for m in body.members if db.get(Employee, m) is None]
    if unknown:
        raise HTTPException(422, f"members: no employee(s) {unknown}")
    group.name, group.doors, group.tz = body.name, body.doors, body.tz
    group.schedule = [s.model_dump() for s in body.schedule]
    db.flush()
    db.execute(delete(AccessGroupMember).where(AccessGroupMember.group_id == group.id))
    for m in sorted(set(body.members)):
        db.add(AccessGroupMember(group_id=group.id, employee_id=m))


@router.get("/groups", response_model=list[AccessGroupPublic])
def list_groups(_: OperatorUser, db: SessionDep) -> list[AccessGroupPublic]:
    return [_public(db, g) for g in db.execute(select(AccessGroup).order_by(AccessGroup.id)).scalars()]


@router.post("/groups", response_model=AccessGroupPublic, status_code=status.HTTP_201_CREATED)
def create_group(admin: AdminUser, rt: RuntimeDep, db: SessionDep, body: AccessGroupCreate) -> AccessGroupPublic:
    group = AccessGroup(name=body.name, doors=[], schedule=[], tz="UTC")
    db.add(group)
    try:
        _write(db, group, body)
        db.flush()
    except IntegrityError as exc:
        raise HTTPException(409, f"access group {body.name!r} exists") from exc
    audit(db, actor=admin.username, action="access_group.create", target_type="access_group",
          target_id=str(group.id), detail=body.model_dump())
    db.commit()
    _resync(rt, body.doors)
    return _public(db, group)


@router.put("/groups/{group_id}", response_model=AccessGroupPublic)
def replace_group(admin: AdminUser, rt: RuntimeDep, db: SessionDep, group_id: Id,
                  body: AccessGroupCreate) -> AccessGroupPublic:
    group = db.get(AccessGroup, group_id)
    if group is None:
        raise HTTPException(404, f"no access group {group_id}")
    doors = sorted(set(group.doors) | set(body.doors))
    try:
        _write(db, group, body)
    except IntegrityError as exc:
        raise HTTPException(409, f"access group {body.name!r} exists") from exc
    audit(db, actor=admin.username, action="access_group.update", target_type="access_group",
          target_id=str(group.id), detail=body.model_dump())
    db.commit()
    _resync(rt, doors)
    return _public(db, group)


@router.delete("/groups/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_group(admin: AdminUser, rt: RuntimeDep, db: SessionDep, group_id: Id) -> Response:
    group = db.get(AccessGroup, group_id)
    if group is None:
        raise HTTPException(404, f"no access group {group_id}")
    doors = list(group.doors)
    db.execute(delete(AccessGroupMember).where(AccessGroupMember.group_id == group_id))
    db.delete(group)
    audit(db, actor=admin.username, action="access_group.delete", target_type="access_group",
          target_id=str(group_id))
    db.commit()
    _resync(rt, doors)
    return Response(status_code=204)

