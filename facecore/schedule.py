"""Weekly door schedules, shared by the hub and edge terminals (which decide offline).

A schedule is a list of slots ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}`` in a time
zone; weekday 0 is Monday, ``end`` is exclusive, "24:00" means the end of the day, and a slot whose
end is before its start runs overnight. An empty schedule means any time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo


def _hhmm(value: str) -> time:
    h, m = value.split(":")
    return time.max if int(h) == 24 else time(int(h), int(m))


def in_schedule(schedule: Sequence[Mapping[str, Any]], tz: str, at: datetime) -> bool:
    if not schedule:
        return True
    local = at.astimezone(ZoneInfo(tz))
    now = local.time().replace(second=0, microsecond=0)
    for slot in schedule:
        if local.weekday() not in slot.get("days", range(7)):
            continue
        start, end = _hhmm(slot["start"]), _hhmm(slot["end"])
        if (start <= now < end) if start < end else (now >= start or now < end):
            return True
    return False


def door_admits(rules: Mapping[str, Any] | None, employee_id: str, at: datetime) -> tuple[bool, str]:
    """Edge terminals: ``rules`` as sent by the hub's gallery sync (``access``), or None (no rules
    known yet: open to everyone in the gallery, which holds only people the door admits)."""
    if not rules or not rules.get("restricted"):
        return True, "door has no access groups"
    member_of = [g for g in rules.get("groups", []) if employee_id in {str(m) for m in g.get("members", [])}]
    if not member_of:
        return False, f"employee {employee_id} is in no access group of this door"
    for g in member_of:
        if in_schedule(g.get("schedule", []), g.get("tz", "UTC"), at):
            return True, f"access group {g.get('name')!r}"
    return False, "outside the schedule of the employee's access group(s)"
