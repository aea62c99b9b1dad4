"""Door schedules: weekdays, overnight slots, end of day, time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.services.access.rules import in_schedule

MON_0830_UTC = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize(("schedule", "tz", "at", "expected"), [
    ([], "UTC", MON_0830_UTC, True),
    ([{"days": [0], "start": "08:00", "end": "18:00"}], "UTC", MON_0830_UTC, True),
    ([{"days": [1, 2], "start": "08:00", "end": "18:00"}], "UTC", MON_0830_UTC, False),
    ([{"days": [0], "start": "09:00", "end": "18:00"}], "UTC", MON_0830_UTC, False),
    ([{"days": [0], "start": "08:30", "end": "08:31"}], "UTC", MON_0830_UTC, True),  # start included
    ([{"days": [0], "start": "08:00", "end": "08:30"}], "UTC", MON_0830_UTC, False),  # end excluded
    ([{"days": [0], "start": "00:00", "end": "24:00"}], "UTC", MON_0830_UTC, True),
    ([{"days": [0], "start": "22:00", "end": "09:00"}], "UTC", MON_0830_UTC, True),  # overnight slot
    ([{"days": [0], "start": "09:00", "end": "10:00"}], "Europe/Berlin", MON_0830_UTC, True),  # 09:30 CET
    ([{"days": [0], "start": "09:00", "end": "10:00"}], "America/New_York", MON_0830_UTC, False),
])
def test_in_schedule(schedule: list[dict[str, object]], tz: str, at: datetime, expected: bool) -> None:
    assert in_schedule(schedule, tz, at) is expected  # type: ignore[arg-type]


def test_door_admits_as_edge_terminals_decide() -> None:
    from facecore.schedule import door_admits

    rules = {"restricted": True, "groups": [
        {"name": "day", "members": ["1"], "schedule": [{"days": [0], "start": "08:00", "end": "09:00"}], "tz": "UTC"},
        {"name": "any", "members": ["2"], "schedule": [], "tz": "UTC"}]}
    assert door_admits(None, "9", MON_0830_UTC) == (True, "door has no access groups")
    assert door_admits({"restricted": False, "groups": []}, "9", MON_0830_UTC)[0]
    assert door_admits(rules, "1", MON_0830_UTC)[0] and door_admits(rules, "2", MON_0830_UTC)[0]
    ok, why = door_admits(rules, "1", MON_0830_UTC.replace(hour=10))
    assert not ok and "outside the schedule" in why
    ok, why = door_admits(rules, "3", MON_0830_UTC)
    assert not ok and "no access group" in why
