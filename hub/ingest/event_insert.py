"""Idempotent bulk insert of events: returns the (device_id, event_id) pairs that were new.

SQLite gets a raw executemany fast path: SQLAlchemy's per-row bind processing (datetimes, JSON)
cost more than the insert itself and capped the ingest well below the broker's rate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from hub.db.models.core import Event as EventRow

COLUMNS = ("device_id", "event_id", "seq", "type", "boot_id", "device_ts", "received_at", "data", "processed_at")
_SQLITE_INSERT = (f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                  "ON CONFLICT (device_id, event_id) DO NOTHING")


def _sqlite_ts(dt: datetime | None) -> str | None:
    # The storage format SQLAlchemy's SQLite DATETIME reads back (naive UTC, see UTCDateTime).
    if dt is None:
        return None
    offset = dt.utcoffset()
    naive = dt.replace(tzinfo=None)
    if offset:
        naive -= offset
    return naive.isoformat(sep=" ", timespec="microseconds")


def insert_events(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    if session.get_bind().dialect.name == "sqlite":
        return _insert_sqlite(session, rows)
    stmt = postgresql.insert(EventRow).on_conflict_do_nothing(index_elements=["device_id", "event_id"])
    table = EventRow.__table__.c
    inserted = session.connection().execute(stmt.returning(table.device_id, table.event_id), rows).all()
    return {(d, e) for d, e in inserted}


def _insert_sqlite(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    by_device: dict[str, list[str]] = {}
    for r in rows:
        by_device.setdefault(r["device_id"], []).append(r["event_id"])
    existing: set[tuple[str, str]] = set()
    for device_id, ids in by_device.items():
        for i in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[i:i + 900]
            sql = f"SELECT event_id FROM events WHERE device_id = ? AND event_id IN ({','.join('?' * len(chunk))})"
            existing.update((device_id, e) for (e,) in dbapi.execute(sql, [device_id, *chunk]))
    fresh = [r for r in rows if (r["device_id"], r["event_id"]) not in existing]
    params = []
    for r in fresh:
        received = _sqlite_ts(r["received_at"])
        params.append((r["device_id"], r["event_id"], r["seq"], r["type"], r["boot_id"], _sqlite_ts(r["device_ts"]),
                       received, to_json(r["data"]).decode(), received if r["processed_at"] else None))
    dbapi.executemany(_SQLITE_INSERT, params)
    return {(r["device_id"], r["event_id"]) for r in fresh}
