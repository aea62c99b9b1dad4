"""Durable on-device outbox (SQLite, WAL): events wait here until the hub acks them.

Also keeps a bounded record of executed command ids and their ack, so a redelivered
command is acked again with the stored outcome instead of running twice.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.payloads import Event, new_id, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id TEXT NOT NULL UNIQUE,
    outcome TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An outbox row as the sender needs it: already serialised, so resends cost nothing."""

    seq: int
    event_id: str
    payload: bytes


class Outbox:
    """Thread-safe; one SQLite connection guarded by a lock (writes are tiny and serialised anyway)."""

    def __init__(self, path: Path, *, keep_commands: int = 5000, synchronous: str = "NORMAL") -> None:
        # NORMAL in WAL mode survives a process crash (kill -9); FULL also survives power loss at
        # the cost of an fsync per event.
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keep_commands = keep_commands
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key='seq'").fetchone()
        self._seq = int(row[0]) if row else 0
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._closed = False

    # --- events ---------------------------------------------------------------------------

    def append(self, *, type: str, data: dict[str, Any], device_ts: datetime | None = None,
               boot_id: str) -> Event:
        with self._lock:
            self._check_open()
            seq = self._seq + 1
            event = Event(event_id=new_id(), seq=seq, type=type, device_ts=device_ts or utcnow(),
                          boot_id=boot_id, data=data)
            payload = event.to_bytes()
            # One transaction: the seq counter and the row land together or not at all.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO outbox (seq, event_id, payload) VALUES (?, ?, ?)",
                                 (seq, event.event_id, payload))
                self._db.execute("INSERT INTO meta (key, value) VALUES ('seq', ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (seq,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._seq = seq
            self._depth += 1
            return event

    def pending_raw(self, limit: int, *, after_seq: int = 0) -> list[PendingEvent]:
        with self._lock:
            self._check_open()
            rows = self._db.execute(
                "SELECT seq, event_id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit)).fetchall()
        return [PendingEvent(int(s), str(e), bytes(p)) for s, e, p in rows]

    def pending(self, limit: int, *, after_seq: int = 0) -> list[Event]:
        return [Event.model_validate_json(p.payload) for p in self.pending_raw(limit, after_seq=after_seq)]

    def ack(self, event_ids: Iterable[str]) -> int:
        ids = list(event_ids)
        if not ids:
            return 0
        removed = 0
        with self._lock:
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for i in range(0, len(ids), 500):  # stay below SQLite's bound-parameter limit
                    chunk = ids[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    cur = self._db.execute(f"DELETE FROM outbox WHERE event_id IN ({marks})", chunk)
                    removed += cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._depth -= removed
        return removed

    def depth(self) -> int:
        return self._depth

    @property
    def last_seq(self) -> int:
        return self._seq

    # --- executed commands ----------------------------------------------------------------

    def seen_command(self, command_id: str) -> bool:
        return self.command_outcome(command_id) is not None

    def command_outcome(self, command_id: str) -> str | None:
        """The stored ack JSON ('' while the command was running), or None if never seen."""
        with self._lock:
            self._check_open()
            row = self._db.execute("SELECT outcome FROM commands WHERE command_id=?",
                                   (command_id,)).fetchone()
        return None if row is None else str(row[0])

    def mark_command(self, command_id: str, outcome: str = "") -> None:
        with self._lock:
            self._check_open()
            cur = self._db.execute(
                "INSERT INTO commands (command_id, outcome) VALUES (?, ?) "
                "ON CONFLICT(command_id) DO UPDATE SET outcome=excluded.outcome", (command_id, outcome))
            n = cur.lastrowid or 0
            if n and n % 100 == 0:  # trim now and then, not on every insert
                self._db.execute("DELETE FROM commands WHERE n <= ?", (n - self._keep_commands,))

    # --- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"outbox {self.path} is closed")
