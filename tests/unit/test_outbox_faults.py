"""Outbox faults: a full disk reports SQLite's real reason and events wait in memory until there is
room; a corrupt outbox file is moved aside at boot and a fresh one started.

The full disk is real, not mocked: SQLite's ``max_page_count`` (``Outbox.set_size_limit``) makes the
pager refuse to grow exactly as on a full card (SQLITE_FULL, "database or disk is full"), and a child
process with a small ``RLIMIT_FSIZE`` gets a real failing write() from the kernel. Neither needs
mount privileges, so both run in any CI sandbox.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.runtime.backoff import Backoff
from devices.runtime.executor import TimerHandle
from devices.runtime.outbox import Outbox, OutboxCorrupt, OutboxError
from devices.runtime.outbox_recovery import (
    ALARM_OUTBOX_CORRUPT,
    open_outbox,
    prune_corrupt_copies,
    recovery_alarm,
)
from devices.runtime.outbox_writer import ALARM_EVENTS_DROPPED, ALARM_WRITE_FAILED, OutboxWriter
from protocol.events import AlarmEvent

REPO = Path(__file__).resolve().parents[2]
FILLER = "x" * 300  # makes a page fill after a handful of events


class ManualScheduler:
    """Timers the test fires by hand, so retries happen when the test says (no sleeping)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.due: list[tuple[TimerHandle, Callable[[], None]]] = []

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        handle = TimerHandle()
        self.delays.append(delay)
        self.due.append((handle, fn))
        return handle

    def fire(self) -> int:
        due, self.due = self.due, []
        live = [(h, fn) for h, fn in due if not h.cancelled]
        for _, fn in live:
            fn()
        return len(live)


def make_writer(box: Outbox, sched: ManualScheduler, *, max_held: int = 2000,
                stored: list[int] | None = None) -> OutboxWriter:
    return OutboxWriter(outbox=box, scheduler=sched, submit=lambda fn: fn(),
                        on_stored=lambda: stored.append(1) if stored is not None else None,
                        max_held=max_held, backoff=Backoff(initial=0.5, maximum=4.0, jitter=0.0))


def fill_until_fault(writer: OutboxWriter, limit: int = 500) -> int:
    """Write filler events until the outbox refuses one; returns how many were written."""
    for n in range(limit):
        writer.write(type="test", data={"n": n, "note": FILLER}, boot_id="b")
        if writer.fault is not None:
            return n + 1
    raise AssertionError("the size cap never made the outbox full")


# --- a full outbox ---------------------------------------------------------------------------------

def test_full_outbox_reports_the_real_error_not_cannot_rollback(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.set_size_limit(max_bytes=0)
    with pytest.raises(OutboxError) as info:
        for n in range(500):
            box.append(type="test", data={"n": n, "note": FILLER}, boot_id="b")
    err = info.value
    assert err.reason == "database or disk is full" and err.code == "SQLITE_FULL"
    assert "cannot rollback" not in str(err) and "database or disk is full" in str(err)
    assert isinstance(err.__cause__, sqlite3.OperationalError)
    stored = box.depth()
    assert [e.seq for e in box.pending(1000)] == list(range(1, stored + 1))  # nothing half-written
    box.set_size_limit(max_bytes=None)
    box.append(type="test", data={"n": -1}, boot_id="b")  # the connection is still usable
    assert box.depth() == stored + 1


def test_storing_an_event_twice_keeps_one_row(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    event = box.new_event(type="test", data={"n": 1}, boot_id="b")
    box.store([event])
    box.store([event])
    assert box.depth() == 1 and [e.event_id for e in box.pending(10)] == [event.event_id]


def test_writer_holds_events_in_memory_and_stores_them_in_order_when_room_returns(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    sched, stored = ManualScheduler(), list[int]()
    writer = make_writer(box, sched, stored=stored)
    box.set_size_limit(max_bytes=0)
    written = fill_until_fault(writer)
    fault = writer.fault
    assert fault is not None and fault.reason == "database or disk is full"
    later = [writer.write(type="test", data={"n": 1000 + i}, boot_id="b") for i in range(5)]
    assert writer.held == 1 + 1 + 5  # the refused event, the alarm, the later ones

    sched.fire()  # still full: the retry fails and the next one is scheduled, with a longer delay
    assert writer.fault is not None and writer.held == 7 and sched.due
    box.set_size_limit(max_bytes=None)  # room again
    sched.fire()
    assert writer.fault is None and writer.held == 0 and stored
    events = box.pending(10_000)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) == written + 1 + 5
    assert {e.event_id for e in later} <= {e.event_id for e in events}
    (alarm,) = [e for e in events if e.type == "alarm"]
    body = AlarmEvent.model_validate(alarm.data)
    assert body.code == ALARM_WRITE_FAILED and body.severity == "critical"
    assert "database or disk is full" in body.message and body.details["error"] == "database or disk is full"
    assert "cannot rollback" not in body.message
    assert sched.delays[:2] == [0.5, 1.0]  # backoff between attempts


def test_an_ack_that_frees_rows_lets_the_retry_through(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    sched = ManualScheduler()
    writer = make_writer(box, sched)
    box.set_size_limit(max_bytes=0)
    fill_until_fault(writer)
    held = writer.held
    box.ack([e.event_id for e in box.pending(10_000)])  # the hub took everything stored so far
    writer.retry_soon()
    assert writer.fault is None and box.depth() == held


def test_held_events_are_readable_for_delivery_and_an_ack_discards_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    writer = make_writer(box, ManualScheduler())
    box.set_size_limit(max_bytes=0)
    fill_until_fault(writer)
    extra = writer.write(type="test", data={"n": -1}, boot_id="b")
    rows = writer.pending_raw(10_000)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))  # disk rows, then memory, in order
    assert len(rows) == box.depth() + writer.held and rows[-1].event_id == extra.event_id
    assert [r.seq for r in writer.pending_raw(2, after_seq=box.depth())] == [box.depth() + 1, box.depth() + 2]
    assert writer.discard([r.event_id for r in rows]) == 3 and writer.held == 0
    box.set_size_limit(max_bytes=None)
    writer.write(type="test", data={"n": -2}, boot_id="b")  # the next write that succeeds ends the fault
    assert writer.fault is None


def test_memory_is_bounded_oldest_dropped_alarms_kept_and_reported(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    sched = ManualScheduler()
    writer = make_writer(box, sched, max_held=5)
    box.set_size_limit(max_bytes=0)
    fill_until_fault(writer)
    newest = [writer.write(type="door", data={"action": "opened", "door": "main", "reason": f"r{i}"},
                           boot_id="b") for i in range(10)]
    fault = writer.fault
    assert fault is not None and writer.held == 5 and fault.dropped == 1 + 6  # refused filler + 6 door events
    box.set_size_limit(max_bytes=None)
    sched.fire()
    events = box.pending(10_000)
    alarms = [AlarmEvent.model_validate(e.data) for e in events if e.type == "alarm"]
    assert [a.code for a in alarms] == [ALARM_WRITE_FAILED, ALARM_EVENTS_DROPPED]
    assert alarms[1].details["dropped"] == {"test": 1, "door": 6}
    kept = [e.event_id for e in events if e.type == "door"]
    assert kept == [e.event_id for e in newest[-4:]]


def test_close_makes_a_last_attempt(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    writer = make_writer(box, ManualScheduler())
    box.set_size_limit(max_bytes=0)
    fill_until_fault(writer)
    box.set_size_limit(max_bytes=None)
    assert writer.close() == 0 and writer.held == 0
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(type="test", data={}, boot_id="b")


# A real failing write(2): the child process may not grow any file past its current size.
FSIZE_CHILD = textwrap.dedent("""
    import json, resource, signal, sys
    from pathlib import Path
    from devices.runtime.outbox import Outbox
    from devices.runtime.outbox_writer import OutboxWriter
    from devices.runtime.executor import TimerHandle
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
    folder = Path(sys.argv[1])
    box = Outbox(folder / "o.db")
    timers = []
    class Sched:
        def call_later(self, delay, fn):
            timers.append(fn)
            return TimerHandle()
    writer = OutboxWriter(outbox=box, scheduler=Sched(), submit=lambda fn: fn(), on_stored=lambda: None)
    writer.write(type="test", data={"n": 0}, boot_id="b")
    limit = max(p.stat().st_size for p in folder.iterdir())
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    n = 1
    while writer.fault is None and n < 2000:
        writer.write(type="test", data={"n": n, "note": "x" * 300}, boot_id="b")
        n += 1
    reason = writer.fault.reason
    writer.write(type="test", data={"n": -1}, boot_id="b")
    held = writer.held
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    timers.pop()()
    print(json.dumps({"reason": reason, "held": held, "fault_after": writer.fault is not None,
                      "types": [e.type for e in box.pending(10000)], "written": n + 1}))
""")


def test_a_real_failing_disk_write_is_reported_held_and_retried(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", FSIZE_CHILD, str(tmp_path)], capture_output=True, text=True,
                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # The kernel refuses the write (EFBIG): SQLite says so, and nothing masks it.
    assert got["reason"] in ("disk I/O error", "database or disk is full"), got
    assert got["held"] == 3 and not got["fault_after"]
    assert len(got["types"]) == got["written"] + 1 and got["types"].count("alarm") == 1


# --- a corrupt outbox file at boot -------------------------------------------------------------------

def _outbox_with_events(path: Path, n: int) -> list[str]:
    box = Outbox(path)
    ids = [box.append(type="test", data={"n": i, "note": FILLER}, boot_id="old").event_id for i in range(n)]
    box.close()
    return ids


def _corrupt_copies(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm")))


NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_garbage_file_is_moved_aside_and_a_fresh_outbox_started(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    garbage = os.urandom(20_000)
    path.write_bytes(garbage)
    with pytest.raises(OutboxCorrupt, match="file is not a database"):
        Outbox(path)
    box, rec = open_outbox(path, now=NOW)
    assert rec is not None and rec.reason == "file is not a database"
    assert rec.moved_to == tmp_path / "outbox.sqlite3.corrupt-20250304T050607Z"
    assert rec.moved_to.read_bytes() == garbage and rec.size_bytes == len(garbage)  # kept as it was
    assert rec.salvaged_events == 0
    e = box.append(type="test", data={"n": 1}, boot_id="b")
    assert e.seq == 1 and box.depth() == 1
    body = recovery_alarm(rec)
    assert body.code == ALARM_OUTBOX_CORRUPT and body.severity == "critical"
    assert "file is not a database" in body.message and rec.moved_to.name in body.message
    assert body.details["moved_to"] == str(rec.moved_to)


def test_truncated_file_is_moved_aside_with_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _outbox_with_events(path, 50)
    with path.open("r+b") as fh:
        fh.truncate(5000)  # a power cut mid-copy, a card that lost its tail
    (tmp_path / "outbox.sqlite3-wal").write_bytes(b"\0" * 64)
    box, rec = open_outbox(path, now=NOW)
    assert rec is not None and "malformed" in rec.reason
    assert rec.moved_to.exists() and Path(f"{rec.moved_to}-wal").exists()
    assert box.depth() == 0 and box.append(type="test", data={}, boot_id="b").seq >= 1


def test_failing_integrity_check_is_moved_aside_and_readable_events_kept(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    ids = _outbox_with_events(path, 40)
    db = sqlite3.connect(path)
    root = int(db.execute("SELECT rootpage FROM sqlite_master WHERE name='sqlite_autoindex_commands_1'").fetchone()[0])
    page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
    db.close()
    with path.open("r+b") as fh:  # a damaged page the outbox would only hit days later
        fh.seek((root - 1) * page_size)
        fh.write(os.urandom(page_size))
    box, rec = open_outbox(path, now=NOW)
    assert rec is not None and rec.reason.startswith("integrity check failed")
    assert rec.salvaged_events == 40 and rec.previous_seq == 40
    assert [e.event_id for e in box.pending(100)] == ids  # undelivered events still go out
    assert box.append(type="test", data={}, boot_id="b").seq == 41  # seq continues


def test_a_sound_outbox_is_not_touched_and_other_errors_still_raise(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    _outbox_with_events(path, 3)
    box, rec = open_outbox(path)
    assert rec is None and box.depth() == 3
    box.close()
    folder = tmp_path / "is-a-directory"
    folder.mkdir()
    with pytest.raises(OutboxError) as info:
        open_outbox(folder)  # cannot open: not corruption, so nothing may be moved
    assert not isinstance(info.value, OutboxCorrupt) and folder.is_dir()
    assert _corrupt_copies(tmp_path) == []


def test_only_the_newest_corrupt_copies_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    for n in range(5):
        path.write_bytes(b"not a database" * 100)
        box, rec = open_outbox(path, now=datetime(2025, 1, 1, 0, 0, n, tzinfo=UTC))
        box.close()
        assert rec is not None
        os.utime(rec.moved_to, ns=(n * 10**9, n * 10**9))
    assert prune_corrupt_copies(path, keep=3) == []  # open_outbox already pruned
    assert [p.name[-7:] for p in _corrupt_copies(tmp_path)] == ["000002Z", "000003Z", "000004Z"]

