"""The device outbox: ordering, acks, seq that survives restarts, command dedupe records."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.runtime.outbox import Outbox


def test_seq_grows_and_survives_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    first = [box.append(type="test", data={"n": i}, boot_id="b1") for i in range(3)]
    assert [e.seq for e in first] == [1, 2, 3]
    box.ack(e.event_id for e in first)
    box.close()
    box = Outbox(tmp_path / "o.db")
    e = box.append(type="test", data={"n": 9}, boot_id="b2")
    assert e.seq == 4  # never reused, even though every earlier event was acked and deleted
    assert box.depth() == 1


def test_pending_is_ordered_and_ack_removes(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    ts = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    events = [box.append(type="test", data={"n": i}, device_ts=ts, boot_id="b") for i in range(10)]
    assert box.depth() == 10
    pend = box.pending(100)
    assert [p.seq for p in pend] == list(range(1, 11))
    assert pend[0].device_ts == ts and pend[0].data == {"n": 0}
    assert box.ack([events[0].event_id, events[5].event_id, "unknown-id"]) == 2
    assert box.depth() == 8
    assert [p.seq for p in box.pending(3)] == [2, 3, 4]
    assert [p.seq for p in box.pending(3, after_seq=5)] == [7, 8, 9]
    assert box.ack([]) == 0


def test_pending_raw_payload_round_trips(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    e = box.append(type="test", data={"n": 1, "note": "x"}, boot_id="b")
    (raw,) = box.pending_raw(10)
    assert raw.event_id == e.event_id and raw.seq == e.seq
    assert raw.payload == e.to_bytes()


def test_unacked_events_survive_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    ids = [box.append(type="test", data={"n": i}, boot_id="b").event_id for i in range(5)]
    box.ack(ids[:2])
    box.close()
    box = Outbox(tmp_path / "o.db")
    assert [e.event_id for e in box.pending(10)] == ids[2:]
    assert box.depth() == 3


def test_command_record(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    assert not box.seen_command("c1")
    assert box.command_outcome("c1") is None
    box.mark_command("c1")
    assert box.seen_command("c1")
    assert box.command_outcome("c1") == ""
    box.mark_command("c1", '{"status":"ok"}')
    box.close()
    box = Outbox(tmp_path / "o.db")
    assert box.command_outcome("c1") == '{"status":"ok"}'


def test_command_record_is_trimmed(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", keep_commands=150)
    for i in range(400):
        box.mark_command(f"cmd-{i:05d}", "x")
    assert not box.seen_command("cmd-00000")
    assert box.seen_command("cmd-00399")
    assert box.seen_command("cmd-00300")


def test_concurrent_appends_get_unique_seqs(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")

    def work() -> None:
        for i in range(200):
            box.append(type="test", data={"n": i}, boot_id="b")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [e.seq for e in box.pending(10_000)]
    assert seqs == list(range(1, 801))


def test_closed_outbox_raises_clearly(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    box.close()
    with pytest.raises(RuntimeError, match="closed"):
        box.append(type="test", data={}, boot_id="b")
