"""The bounded ingest inbox: events refused past the bound, re-sends collapsed, other messages given
headroom, memory released once a batch is stored."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

import pytest

from hub.ingest.inbox import BoundedInbox, event_key
from hub.ingest.raw import RawMessage
from protocol import payloads as p
from protocol import topics


def event_msg(device: str, event_id: str | None = None, *, seq: int = 1, pad: int = 0) -> RawMessage:
    ev = p.Event(event_id=event_id or p.new_id(), seq=seq + 1, type="test", device_ts=datetime.now(UTC),
                 boot_id="b", data={"n": seq, "note": "x" * pad})
    return RawMessage(topics.events(device), ev.to_bytes(), False, datetime.now(UTC))


def heartbeat_msg(device: str) -> RawMessage:
    hb = p.Heartbeat(boot_id="b", uptime_s=1)
    return RawMessage(topics.heartbeat(device), hb.to_bytes(), False, datetime.now(UTC))


def take_all(inbox: BoundedInbox) -> list[RawMessage]:
    out = []
    while True:
        try:
            out.append(inbox.get_nowait())
        except queue.Empty:
            return out


def test_events_past_the_bound_are_refused_and_taken_again_once_a_batch_is_stored() -> None:
    inbox = BoundedInbox(max_messages=3, max_bytes=10**6)
    msgs = [event_msg("d1", seq=i) for i in range(5)]
    assert [inbox.offer(m) for m in msgs] == [True, True, True, False, False]
    assert inbox.backlog == 3 and inbox.stats.refused_events == 2 and inbox.refusing()
    batch = take_all(inbox)
    assert batch == msgs[:3]
    # Taken but not stored yet: still held, still counted.
    assert inbox.backlog == 3 and not inbox.offer(msgs[3])
    inbox.done()
    assert inbox.backlog == 0 and inbox.backlog_bytes == 0
    assert inbox.offer(msgs[3]) and inbox.offer(msgs[4])
    assert inbox.stats.high_water == 3


def test_a_resent_event_is_collapsed_while_held_even_in_the_writers_hands() -> None:
    inbox = BoundedInbox(max_messages=100, max_bytes=10**6)
    first = event_msg("d1", "e" * 32)
    assert inbox.offer(first)
    for _ in range(50):  # a device re-sending its window while the database is down
        assert not inbox.offer(RawMessage(first.topic, first.payload, False, datetime.now(UTC)))
    assert take_all(inbox) == [first]
    assert not inbox.offer(first)  # the writer holds it (retrying): still collapsed
    assert inbox.backlog == 1 and inbox.stats.collapsed == 51
    inbox.done()
    assert inbox.offer(first)  # stored and released: a later re-send is taken (the store dedupes it)


def test_the_key_is_device_and_event_id_not_the_bytes() -> None:
    inbox = BoundedInbox(max_messages=100, max_bytes=10**6)
    assert inbox.offer(event_msg("d1", "a" * 32, seq=1))
    assert not inbox.offer(event_msg("d1", "a" * 32, seq=1, pad=3))  # same event, other serialisation
    assert inbox.offer(event_msg("d2", "a" * 32))  # same id, other device: another event
    assert inbox.offer(event_msg("d1", "b" * 32))


def test_event_key_falls_back_to_the_payload() -> None:
    assert event_key("t", b'{"v":1,"event_id":"abc","seq":1}') == ("t", b"abc")
    assert event_key("t", b"not json") == ("t", b"not json")
    assert event_key("t", b'{"event_id": "spaced"}') == ("t", b'{"event_id": "spaced"}')


def test_other_messages_get_headroom_then_are_dropped() -> None:
    inbox = BoundedInbox(max_messages=4, max_bytes=10**6, other_headroom=0.5)
    for i in range(4):
        assert inbox.offer(event_msg("d1", seq=i))
    assert not inbox.offer(event_msg("d1", seq=9))
    assert inbox.offer(heartbeat_msg("d1")) and inbox.offer(heartbeat_msg("d2"))
    assert not inbox.offer(heartbeat_msg("d3"))
    assert inbox.stats.dropped_other == 1 and inbox.stats.refused_events == 1
    take_all(inbox)
    inbox.done()
    assert inbox.backlog == 0


def test_the_byte_bound_holds_but_one_large_message_always_fits_an_empty_inbox() -> None:
    big = event_msg("d1", pad=50_000)
    inbox = BoundedInbox(max_messages=1000, max_bytes=20_000)
    assert inbox.offer(big)  # alone in the inbox: taken although over the byte bound
    assert not inbox.offer(event_msg("d1", seq=2, pad=30_000))
    take_all(inbox)
    inbox.done()
    small = [event_msg("d1", seq=i, pad=1000) for i in range(30)]
    accepted = sum(inbox.offer(m) for m in small)
    assert 10 < accepted < 30 and inbox.backlog_bytes <= 20_000


def test_the_inbox_needs_room() -> None:
    with pytest.raises(ValueError):
        BoundedInbox(max_messages=0, max_bytes=1)
