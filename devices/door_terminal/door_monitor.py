"""Door contact supervision: forced-open and held-open alarms from a door-position sensor.

Pure state machine (no I/O): feed it the contact state and whether the lock is released, it says
which door events to report. Forced open: the door opened while the lock was not released (nobody
was let in). Held open: the door stayed open longer than ``held_alarm_s`` (device config
``door_held_alarm_s``), reported once per opening. Closed: after either alarm, so the alert's
story ends; an ordinary authorised open-and-close needs no extra event (``opened`` is sent when
the lock releases).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.bodies_door import DoorAction

FORCED_OPEN, HELD_OPEN, CLOSED = DoorAction.FORCED_OPEN, DoorAction.HELD_OPEN, DoorAction.CLOSED


@dataclass
class DoorMonitor:
    held_alarm_s: float = 30.0
    _opened_at: float | None = field(default=None, init=False)
    _alarmed: bool = field(default=False, init=False)
    _held_sent: bool = field(default=False, init=False)

    def observe(self, *, now: float, door_open: bool, unlocked: bool) -> list[DoorAction]:
        events: list[DoorAction] = []
        if door_open and self._opened_at is None:
            self._opened_at = now
            if not unlocked:
                events.append(FORCED_OPEN)
                self._alarmed = True
        if door_open and self._opened_at is not None and not self._held_sent \
                and now - self._opened_at >= self.held_alarm_s:
            events.append(HELD_OPEN)
            self._held_sent = self._alarmed = True
        if not door_open and self._opened_at is not None:
            if self._alarmed:
                events.append(CLOSED)
            self._opened_at, self._alarmed, self._held_sent = None, False, False
        return events
