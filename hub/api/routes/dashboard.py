"""``GET /api/v1/dashboard``: what the console's front page shows, in one request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from hub.api.deps import OperatorUser, SessionDep
from hub.db.models.attendance import PunchRow
from hub.db.models.core import Device
from hub.db.models.fleet import Alert as FleetAlert
from hub.db.models.printing import PrintJob

router = APIRouter(prefix="/api/v1", tags=["dashboard"])

ACTIVE_PRINT_STATES = ("pending", "queued", "sent", "printing", "held")


class KindCount(BaseModel):
    online: int = 0
    offline: int = 0


class HourCount(BaseModel):
    hour: datetime
    checkins: int


class AlertSummary(BaseModel):
    id: int
    kind: str
    severity: str
    device_id: str | None
    message: str
    state: str
    at: datetime


class Dashboard(BaseModel):
    generated_at: datetime
    devices: dict[str, KindCount]
    checkins_per_hour: list[HourCount]
    open_alerts: int
    alerts: list[AlertSummary]
    print_jobs_active: int


def _hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@router.get("/dashboard", response_model=Dashboard)
def dashboard(_: OperatorUser, db: SessionDep,
              hours: Annotated[int, Query(ge=1, le=168, description="chart width in hours")] = 24) -> Dashboard:
    now = datetime.now(UTC)
    devices: dict[str, KindCount] = {}
    rows = db.execute(select(Device.kind, Device.online, func.count()).where(Device.revoked.is_(False))
                      .group_by(Device.kind, Device.online)).all()
    for kind, online, n in rows:
        entry = devices.setdefault(kind or "unknown", KindCount())
        if online:
            entry.online += n
        else:
            entry.offline += n

    # Bucket in Python: one indexed range scan, and no dialect-specific date functions.
    first = _hour(now) - timedelta(hours=hours - 1)
    buckets = {first + timedelta(hours=i): 0 for i in range(hours)}
    for (ts,) in db.execute(select(PunchRow.ts).where(PunchRow.ts >= first)):
        key = _hour(ts)
        if key in buckets:
            buckets[key] += 1

    # Door, punch, printer and device alerts all live in the fleet feature's shared alert store.
    active = select(FleetAlert).where(FleetAlert.state.in_(("open", "acked")))
    n_open = db.execute(select(func.count()).select_from(active.subquery())).scalar_one()
    alerts = [AlertSummary(id=a.id, kind=a.kind, severity=a.severity, device_id=a.device_id, message=a.message,
                           state=a.state, at=a.last_at)
              for a in db.execute(active.order_by(FleetAlert.last_at.desc()).limit(10)).scalars()]
    active_jobs = db.execute(select(func.count()).select_from(PrintJob)
                             .where(PrintJob.state.in_(ACTIVE_PRINT_STATES))).scalar_one()
    return Dashboard(generated_at=now, devices=devices,
                     checkins_per_hour=[HourCount(hour=h, checkins=n) for h, n in buckets.items()],
                     open_alerts=n_open, alerts=alerts, print_jobs_active=active_jobs)
