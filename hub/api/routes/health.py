"""Liveness and readiness: no token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from hub.api.deps import RuntimeDep
from hub.api.schemas.health import HealthPublic
from hub.services.face.service import FACE

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz(rt: RuntimeDep) -> dict[str, Any]:
    db_ok = True
    try:
        with rt.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        db_ok = False
    # The ingest's own view: a database outage seen while storing, and the backlog it holds back.
    ingest, reasons = rt.writer.health()
    if not db_ok and rt.writer.database.reachable:  # the writer has not noticed yet (no traffic)
        reasons.insert(0, "database unreachable")
    face = rt.services.find(FACE)
    return {"status": "degraded" if reasons else "ok", "reasons": reasons, "database": db_ok,
            "mqtt": rt.mqtt.connected,
            "ingest": {"events_stored": rt.writer.stats.events_stored,
                       "dead_letters": rt.writer.stats.dead_letters, **ingest},
            "face_engine": face.engine.pool.health() if face is not None else None}
