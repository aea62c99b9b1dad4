"""Liveness and readiness: no token needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from hub.api.deps import RuntimeDep
from hub.services.face.service import FACE

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(rt: RuntimeDep) -> dict[str, Any]:
    db_ok = True
    try:
        with rt.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        db_ok = False
    face = rt.services.find(FACE)
    return {"status": "ok" if db_ok else "degraded", "database": db_ok, "mqtt": rt.mqtt.connected,
            "ingest": {"events_stored": rt.writer.stats.events_stored,
                       "dead_letters": rt.writer.stats.dead_letters,
                       "backlog": rt.inbox.qsize()},
            "face_engine": face.engine.pool.health() if face is not None else None}
