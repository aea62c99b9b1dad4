"""Check-in snapshots: kept on disk for ``snapshot_retention_days``, then deleted by a timer."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from hub.db.models.people import Snapshot
from hub.db.session import SessionFactory, transaction

log = logging.getLogger(__name__)


class SnapshotStore:
    def __init__(self, *, sessions: SessionFactory, folder: Path, retention_days: float) -> None:
        self.sessions = sessions
        self.folder = folder
        self.retention_days = retention_days

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    def save(self, *, data: bytes, employee_id: int | None, device_id: str | None, decision: str) -> None:
        if not self.enabled:
            return
        path = self.folder / str(employee_id or "unknown") / f"{uuid.uuid4().hex}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        with transaction(self.sessions) as s:
            s.add(Snapshot(employee_id=employee_id, device_id=device_id, path=str(path), decision=decision))

    def purge_expired(self, now: datetime | None = None) -> int:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.retention_days)
        with transaction(self.sessions) as s:
            rows = s.execute(select(Snapshot).where(Snapshot.taken_at < cutoff)).scalars().all()
            paths = [r.path for r in rows]
            s.execute(delete(Snapshot).where(Snapshot.id.in_([r.id for r in rows])))
        for p in paths:
            Path(p).unlink(missing_ok=True)
        return len(paths)
