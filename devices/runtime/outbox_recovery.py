"""Boot with a corrupt outbox: move the file aside, start a fresh one, keep what can be read.

A door must open after a power cut that damaged its SD card, so a file that is not a usable
database (garbage, truncated, failing its integrity check) must not stop the device from booting.
The damaged file stays next to the new one (``outbox.sqlite3.corrupt-<UTC time>``, with its
``-wal``) for a technician; the newest few are kept so a boot loop cannot fill the card. Undelivered
events that can still be read are copied into the fresh outbox, and its seq continues the old one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from devices.runtime.outbox import Outbox, OutboxCorrupt, OutboxError
from protocol.events import AlarmEvent
from protocol.payloads import Event

log = logging.getLogger(__name__)

KEEP_CORRUPT_COPIES = 3
ALARM_OUTBOX_CORRUPT = "outbox_corrupt"
SIDE_FILES = ("-wal", "-shm")  # SQLite opens "<name>-wal" next to "<name>", so they move together


@dataclass(frozen=True, slots=True)
class OutboxRecovery:
    """What happened at boot, for the alarm the agent sends."""

    reason: str
    moved_to: Path
    size_bytes: int
    salvaged_events: int
    previous_seq: int


def recovery_alarm(r: OutboxRecovery) -> AlarmEvent:
    """The ``alarm`` event body that tells the hub what happened and where the old file went."""
    kept = f"; {r.salvaged_events} undelivered events could still be read and will be sent" if r.salvaged_events else ""
    return AlarmEvent(code=ALARM_OUTBOX_CORRUPT, severity="critical",
                      message=(f"the outbox file was unusable ({r.reason}): moved it to {r.moved_to.name} and "
                               f"started a fresh one{kept}")[:1000],
                      details={"error": r.reason, "moved_to": str(r.moved_to), "size_bytes": r.size_bytes,
                               "salvaged_events": r.salvaged_events, "previous_seq": r.previous_seq})


def open_outbox(path: Path, *, now: datetime | None = None, keep_commands: int = 5000,
                synchronous: str = "NORMAL") -> tuple[Outbox, OutboxRecovery | None]:
    """Open the outbox at ``path``; a corrupt one is moved aside and replaced (``OutboxRecovery``).

    Errors that are not corruption (permissions, a full disk) still raise: moving a sound file
    aside would lose its events for nothing."""
    try:
        return Outbox(path, keep_commands=keep_commands, synchronous=synchronous), None
    except OutboxCorrupt as exc:
        reason = exc.reason
    moved = move_aside(path, now=now or datetime.now(UTC))
    size = moved.stat().st_size
    log.error("outbox %s is unusable (%s): moved it to %s and starting a fresh one", path, reason, moved)
    box = Outbox(path, keep_commands=keep_commands, synchronous=synchronous)
    salvaged, previous_seq = _salvage(moved, box)
    prune_corrupt_copies(path, keep=KEEP_CORRUPT_COPIES, protect=moved)
    return box, OutboxRecovery(reason=reason, moved_to=moved, size_bytes=size, salvaged_events=salvaged,
                               previous_seq=previous_seq)


def move_aside(path: Path, *, now: datetime) -> Path:
    """Rename ``path`` (and its -wal/-shm) to ``<path>.corrupt-<UTC time>``; returns the new main file."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():  # two corrupt boots within a second
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    path.rename(target)
    for suffix in SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target


def prune_corrupt_copies(path: Path, *, keep: int, protect: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` corrupt copies of ``path`` (never ``protect``, the one
    just moved: a rename keeps its old mtime); returns the deleted ones."""
    copies = sorted((p for p in path.parent.glob(f"{path.name}.corrupt-*")
                     if not p.name.endswith(SIDE_FILES) and p != protect), key=lambda p: p.stat().st_mtime_ns)
    keep_others = keep - 1 if protect is not None else keep
    doomed = copies[:-keep_others] if keep_others > 0 else copies
    for p in doomed:
        for f in (p, *(p.with_name(p.name + s) for s in SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
    return doomed


def _salvage(moved: Path, box: Outbox) -> tuple[int, int]:
    """Copy the readable, valid undelivered events into ``box``; returns (events, old seq).

    Reads stop at the first damaged page; every payload must still parse as an Event, so
    nothing garbled reaches the hub (which dedupes on event id if one was already delivered)."""
    events: list[Event] = []
    previous_seq = 0
    try:
        # Read-only: the copy is evidence; SQLite must not checkpoint or "repair" it.
        db = sqlite3.connect(f"{moved.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0, 0
    try:
        with contextlib.suppress(sqlite3.Error, ValueError, TypeError):
            row = db.execute("SELECT value FROM meta WHERE key='seq'").fetchone()
            previous_seq = int(row[0]) if row else 0
        with contextlib.suppress(sqlite3.Error):
            for _seq, _event_id, payload in db.execute("SELECT seq, event_id, payload FROM outbox ORDER BY seq"):
                try:
                    events.append(Event.model_validate_json(bytes(payload)))
                except (ValidationError, TypeError, ValueError):
                    continue
    finally:
        db.close()
    try:
        box.store(events)
        box.advance_seq(at_least=max([previous_seq, *(e.seq for e in events)]))
    except OutboxError as exc:  # e.g. the disk is full too: boot anyway, the events stay in the copy
        log.error("outbox %s: could not copy %d readable events from %s: %s", box.path, len(events), moved, exc)
        return 0, previous_seq
    return len(events), previous_seq
