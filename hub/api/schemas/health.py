"""Health schema: what ``/healthz`` reports (load balancers read ``status``; operators the rest)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class IngestHealth(BaseModel):
    events_stored: int
    dead_letters: int
    database_reachable: bool
    database_error: str | None
    database_down_since: str | None  # ISO 8601, while the writer sees the database down
    store_retries: int
    backlog: int
    backlog_bytes: int
    backlog_limit: int
    backlog_limit_bytes: int
    backlog_high_water: int
    refusing: bool
    refused_events: int
    dropped_other: int
    collapsed_resends: int


class FaceEngineHealth(BaseModel):
    workers: int
    alive: int
    busy: int
    jobs: int
    busy_refusals: int
    crashes: int
    timeouts: int
    recycled: int


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"]
    reasons: list[str]
    database: bool
    mqtt: bool
    ingest: IngestHealth
    face_engine: FaceEngineHealth | None  # None: the face feature is not running
