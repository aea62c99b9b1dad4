"""Forced-open and held-open detection from the door contact."""

from __future__ import annotations

from devices.door_terminal.door_monitor import CLOSED, FORCED_OPEN, HELD_OPEN, DoorMonitor


def test_authorised_open_and_close_reports_nothing() -> None:
    m = DoorMonitor(held_alarm_s=30)
    assert m.observe(now=0, door_open=False, unlocked=True) == []
    assert m.observe(now=1, door_open=True, unlocked=True) == []
    assert m.observe(now=6, door_open=True, unlocked=False) == []  # relay re-locked, door still swinging
    assert m.observe(now=8, door_open=False, unlocked=False) == []


def test_door_opened_while_locked_is_forced() -> None:
    m = DoorMonitor(held_alarm_s=30)
    assert m.observe(now=0, door_open=True, unlocked=False) == [FORCED_OPEN]
    assert m.observe(now=1, door_open=True, unlocked=False) == []
    assert m.observe(now=2, door_open=False, unlocked=False) == [CLOSED]


def test_held_open_once_per_opening_then_closed() -> None:
    m = DoorMonitor(held_alarm_s=30)
    m.observe(now=0, door_open=True, unlocked=True)
    assert m.observe(now=29.9, door_open=True, unlocked=False) == []
    assert m.observe(now=30, door_open=True, unlocked=False) == [HELD_OPEN]
    assert m.observe(now=90, door_open=True, unlocked=False) == []
    assert m.observe(now=91, door_open=False, unlocked=False) == [CLOSED]
    assert m.observe(now=92, door_open=True, unlocked=True) == []  # a new, authorised opening


def test_forced_and_then_held() -> None:
    m = DoorMonitor(held_alarm_s=5)
    assert m.observe(now=0, door_open=True, unlocked=False) == [FORCED_OPEN]
    assert m.observe(now=5, door_open=True, unlocked=False) == [HELD_OPEN]
    assert m.observe(now=6, door_open=False, unlocked=False) == [CLOSED]
