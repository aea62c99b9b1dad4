"""Punch recording: one row per punch, idempotent on its key (``device_id:event_id`` for terminal
events), so redelivery and re-processing never create a second punch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.db.models.attendance import PunchRejection, PunchRow


@dataclass(frozen=True)
class PunchIn:
    key: str
    employee_id: int
    ts: datetime
    direction: str = "AUTO"
    source: str = "face"
    device_id: str | None = None
    door: str | None = None
    mode: str | None = None
    distance: float | None = None
    threshold: float | None = None
    model_id: str | None = None


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def record_punch(session: Session, punch: PunchIn) -> bool:
    """Insert the punch unless its key exists; True when it is new."""
    values = {k: getattr(punch, k) for k in PunchIn.__dataclass_fields__}
    stmt: Insert = _insert(session)(PunchRow).values(**values).on_conflict_do_nothing(index_elements=["key"])
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]  # execute() is typed Result; DML gives CursorResult
    return bool(result.rowcount)


def record_rejection(session: Session, *, key: str, device_id: str, claimed_employee_id: str | None,
                     reason: str) -> bool:
    stmt: Insert = _insert(session)(PunchRejection).values(
        key=key, device_id=device_id, claimed_employee_id=claimed_employee_id, reason=reason[:500],
    ).on_conflict_do_nothing(index_elements=["key"])
    result: CursorResult[Any] = session.execute(stmt)  # type: ignore[assignment]  # execute() is typed Result; DML gives CursorResult
    return bool(result.rowcount)


def punch_public(p: PunchRow) -> dict[str, Any]:
    return {"id": p.id, "employee_id": p.employee_id, "ts": p.ts, "direction": p.direction, "source": p.source,
            "device_id": p.device_id, "door": p.door, "mode": p.mode, "distance": p.distance,
            "threshold": p.threshold, "model_id": p.model_id, "recorded_at": p.recorded_at}
