"""Who may open which door when.

Rule: a door that no access group lists is open to every active, enrolled employee. A door listed
by one or more groups opens only for members of those groups, inside the group's weekly schedule
(in the group's time zone; an empty schedule means any time). Schedules are evaluated by
facecore.schedule, which edge terminals use too, so both sides decide alike (also offline).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facecore.schedule import in_schedule
from hub.db.models.access import AccessGroup, AccessGroupMember


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    reason: str


def groups_for_door(session: Session, device_id: str) -> list[AccessGroup]:
    return [g for g in session.execute(select(AccessGroup)).scalars() if device_id in (g.doors or [])]


def may_open(session: Session, *, employee_id: int, device_id: str, at: datetime) -> AccessDecision:
    groups = groups_for_door(session, device_id)
    if not groups:
        return AccessDecision(True, "door has no access groups: open to every employee")
    ids = [g.id for g in groups]
    member_of = set(session.execute(select(AccessGroupMember.group_id).where(
        AccessGroupMember.employee_id == employee_id, AccessGroupMember.group_id.in_(ids))).scalars())
    if not member_of:
        return AccessDecision(False, f"employee {employee_id} is in no access group of door {device_id}")
    for g in groups:
        if g.id in member_of and in_schedule(g.schedule, g.tz, at):
            return AccessDecision(True, f"access group {g.name!r}")
    names = ", ".join(sorted(g.name for g in groups if g.id in member_of))
    return AccessDecision(False, f"outside the schedule of access group(s) {names}")


def door_rules(session: Session, device_id: str) -> dict[str, Any]:
    """The door's rules for an edge terminal (evaluated there by facecore.schedule.door_admits)."""
    groups = groups_for_door(session, device_id)
    if not groups:
        return {"restricted": False, "groups": []}
    members: dict[int, list[str]] = {g.id: [] for g in groups}
    for gid, emp in session.execute(select(AccessGroupMember.group_id, AccessGroupMember.employee_id).where(
            AccessGroupMember.group_id.in_(list(members)))).all():
        members[gid].append(str(emp))
    return {"restricted": True, "groups": [{"name": g.name, "members": sorted(members[g.id]), "schedule": g.schedule,
                                            "tz": g.tz} for g in groups]}


def allowed_employees(session: Session, device_id: str) -> set[int] | None:
    """Employees whose templates a door terminal should hold (None: everybody)."""
    groups = groups_for_door(session, device_id)
    if not groups:
        return None
    return set(session.execute(select(AccessGroupMember.employee_id).where(
        AccessGroupMember.group_id.in_([g.id for g in groups]))).scalars())
