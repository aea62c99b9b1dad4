"""The box's durable memory of jobs it took: job id → CUPS job id and last reported state.

It is what makes the box idempotent on job id: a redelivered offer, a catch-up answer or a restart
never submits the same job to CUPS twice.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FINAL = frozenset({"completed", "failed", "canceled"})


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    job_id: str
    queue: str
    state: str  # claimed | sent | printing | completed | failed | canceled
    cups_job_id: int | None
    reported: str  # the last state emitted to the hub ("" before any)
    reasons: str


class JobLedger:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a CUPS id lost in a power cut means a double print
        self._db.execute("CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, queue TEXT, state TEXT,"
                         " cups_job_id INTEGER, reported TEXT DEFAULT '', reasons TEXT DEFAULT '', updated REAL)")
        self._lock = threading.Lock()

    def get(self, job_id: str) -> LedgerEntry | None:
        with self._lock:
            row = self._db.execute("SELECT job_id, queue, state, cups_job_id, reported, reasons FROM jobs "
                                   "WHERE job_id = ?", (job_id,)).fetchone()
        return LedgerEntry(*row) if row else None

    def claim(self, job_id: str, queue: str) -> bool:
        """Record that we are taking the job; False when it is already known (and not retryable)."""
        with self._lock:
            row = self._db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None and row[0] != "failed":
                return False
            self._db.execute("INSERT OR REPLACE INTO jobs (job_id, queue, state, cups_job_id, reported, reasons,"
                             " updated) VALUES (?, ?, 'claimed', NULL, '', '', ?)", (job_id, queue, time.time()))
            return True

    def update(self, job_id: str, *, state: str | None = None, cups_job_id: int | None = None,
               reported: str | None = None, reasons: str | None = None) -> None:
        sets: list[str] = ["updated = ?"]
        vals: list[object] = [time.time()]
        for col, val in (("state", state), ("cups_job_id", cups_job_id), ("reported", reported),
                         ("reasons", reasons)):
            if val is not None:
                sets.append(f"{col} = ?")
                vals.append(val)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE job_id = ?", (*vals, job_id))

    def active(self) -> list[LedgerEntry]:
        with self._lock:
            rows = self._db.execute("SELECT job_id, queue, state, cups_job_id, reported, reasons FROM jobs "
                                    "WHERE state NOT IN ('completed', 'failed', 'canceled')").fetchall()
        return [LedgerEntry(*r) for r in rows]

    def known_ids(self, limit: int = 1000) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT job_id FROM jobs ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
