"""Durable on-device outbox (SQLite, WAL): events wait here until the hub acks them.

Also keeps a bounded record of executed command ids and their ack, so a redelivered
command is acked again with the stored outcome instead of running twice.

Storage failures surface as ``OutboxError`` carrying SQLite's own reason ("database or disk is
full", "disk I/O error"); a file that is not a usable database raises ``OutboxCorrupt`` when
opened (``devices.runtime.outbox_recovery`` moves it aside).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from protocol.payloads import Event, new_id, utcnow

log = logging.getLogger(__name__)

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

# Primary result codes that mean "this file is not a sound database" (extended codes share the low byte).
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26


class OutboxError(RuntimeError):
    """A read or write of the outbox failed. ``reason`` is SQLite's message, ``code`` its error name."""

    def __init__(self, message: str, *, reason: str, code: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code


class OutboxCorrupt(OutboxError):
    """The outbox file is not a usable database (garbage, truncated, failing its integrity check)."""


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
        self._closed = False
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise _error(f"outbox {self.path}: cannot open", exc) from exc
        try:
            self._open(synchronous)
        except BaseException:
            self._db.close()
            raise

    def _open(self, synchronous: str) -> None:
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(SCHEMA)
            # A damaged page may only show when it is read, which could be days later in the middle
            # of a door decision; check every page now, while moving the file aside is still cheap.
            problems = [str(r[0]) for r in self._db.execute("PRAGMA quick_check(5)").fetchall()]
            if problems != ["ok"]:
                reason = "integrity check failed: " + "; ".join(p.replace("\n", " ") for p in problems)
                raise OutboxCorrupt(f"outbox {self.path}: {reason}", reason=reason, code="SQLITE_CORRUPT")
            row = self._db.execute("SELECT value FROM meta WHERE key='seq'").fetchone()
            self._seq = int(row[0]) if row else 0
            self._depth = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
            self._default_max_pages = int(self._db.execute("PRAGMA max_page_count").fetchone()[0])
        except sqlite3.Error as exc:
            raise _error(f"outbox {self.path}: cannot open", exc) from exc

    # --- events ---------------------------------------------------------------------------

    def new_event(self, *, type: str, data: dict[str, Any], device_ts: datetime | None = None,
                  boot_id: str) -> Event:
        """Build the next event and reserve its seq, without storing it (see ``store``).

        A reserved seq that is never stored leaves a gap, which the hub tolerates. The sender reads
        rows in seq order, so callers store reserved events in the order they were built."""
        with self._lock:
            return self._new_event(type=type, data=data, device_ts=device_ts, boot_id=boot_id)

    def store(self, events: Sequence[Event]) -> None:
        """Write events (in one transaction: all or none). Storing an event id again is a no-op,
        so a retry after an uncertain failure cannot duplicate a row."""
        with self._lock:
            self._store(events)

    def append(self, *, type: str, data: dict[str, Any], device_ts: datetime | None = None,
               boot_id: str) -> Event:
        """``new_event`` + ``store`` under one lock; raises ``OutboxError`` if it was not stored."""
        with self._lock:
            event = self._new_event(type=type, data=data, device_ts=device_ts, boot_id=boot_id)
            self._store([event])
            return event

    def _new_event(self, *, type: str, data: dict[str, Any], device_ts: datetime | None, boot_id: str) -> Event:
        self._check_open()
        self._seq += 1
        return Event(event_id=new_id(), seq=self._seq, type=type, device_ts=device_ts or utcnow(),
                     boot_id=boot_id, data=data)

    def _store(self, events: Sequence[Event]) -> None:
        self._check_open()
        if not events:
            return
        top = max(e.seq for e in events)
        inserted = 0
        with self._transaction("store events"):
            for e in events:
                cur = self._db.execute("INSERT INTO outbox (seq, event_id, payload) VALUES (?, ?, ?) "
                                       "ON CONFLICT(event_id) DO NOTHING", (e.seq, e.event_id, e.to_bytes()))
                inserted += max(cur.rowcount, 0)
            self._db.execute("INSERT INTO meta (key, value) VALUES ('seq', ?) "
                             "ON CONFLICT(key) DO UPDATE SET value=MAX(value, excluded.value)", (top,))
        self._seq = max(self._seq, top)
        self._depth += inserted

    def pending_raw(self, limit: int, *, after_seq: int = 0) -> list[PendingEvent]:
        with self._lock:
            self._check_open()
            try:
                rows = self._db.execute(
                    "SELECT seq, event_id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after_seq, limit)).fetchall()
            except sqlite3.Error as exc:
                raise _error(f"outbox {self.path}: cannot read pending events", exc) from exc
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
            with self._transaction("remove acked events"):
                for i in range(0, len(ids), 500):  # stay below SQLite's bound-parameter limit
                    chunk = ids[i:i + 500]
                    marks = ",".join("?" * len(chunk))
                    cur = self._db.execute(f"DELETE FROM outbox WHERE event_id IN ({marks})", chunk)
                    removed += cur.rowcount
            self._depth -= removed
        return removed

    def advance_seq(self, *, at_least: int) -> None:
        """Make the next seq greater than ``at_least`` (a fresh outbox continuing an old one's numbering)."""
        with self._lock:
            self._check_open()
            if at_least <= self._seq:
                return
            with self._transaction("advance seq"):
                self._db.execute("INSERT INTO meta (key, value) VALUES ('seq', ?) "
                                 "ON CONFLICT(key) DO UPDATE SET value=MAX(value, excluded.value)", (at_least,))
            self._seq = at_least

    def depth(self) -> int:
        return self._depth

    @property
    def last_seq(self) -> int:
        return self._seq

    def set_size_limit(self, *, max_bytes: int | None) -> None:
        """Cap the database's size (SQLite ``max_page_count``); ``None`` lifts the cap.

        A write past the cap fails with SQLITE_FULL, exactly as on a full disk: for a device
        sharing a small card with other data, and for tests that need a real full outbox. SQLite
        never sets the cap below the current size, so ``max_bytes=0`` means "full from now on"."""
        with self._lock:
            self._check_open()
            if max_bytes is None:
                pages = self._default_max_pages
            else:
                page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
                pages = max(1, max_bytes // page_size)
            self._db.execute(f"PRAGMA max_page_count={int(pages)}").fetchone()

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

    @contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT; any SQLite failure becomes an ``OutboxError`` with the real reason."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise _error(f"outbox {self.path}: {what} failed", exc) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # After SQLITE_FULL, SQLITE_IOERR or SQLITE_NOMEM SQLite may already have rolled back by
        # itself; a blind ROLLBACK then fails with "cannot rollback - no transaction is active"
        # and that message would replace the real reason.
        if not self._db.in_transaction:
            return
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("outbox %s: rollback failed too: %s", self.path, exc)


def is_corruption(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_CORRUPT, _SQLITE_NOTADB)


def _error(prefix: str, exc: sqlite3.Error) -> OutboxError:
    cls = OutboxCorrupt if is_corruption(exc) else OutboxError
    return cls(f"{prefix}: {exc}", reason=str(exc), code=getattr(exc, "sqlite_errorname", None))
