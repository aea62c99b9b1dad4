"""Event handlers are registered per body type and get the typed body, validated once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hub.ingest.handlers import HandlerRegistry, StoredEvent, stored_body
from protocol import events
from protocol.bodies_door import DoorAction, DoorEvent, PunchEvent
from protocol.events import Body, event_type_of

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _stored(type: str, data: dict[str, object]) -> StoredEvent:
    return StoredEvent(1, "door-1", "e1", 1, type, AT, AT, dict(data))


def _run(registry: HandlerRegistry, ev: StoredEvent) -> None:
    body = stored_body(ev)
    for sub in registry.events.get(ev.type, []):
        sub.run(ev, body)


def test_body_models_name_their_event_type() -> None:
    assert event_type_of(PunchEvent) == "punch" and event_type_of(DoorEvent) == "door"

    class NotAnEvent(Body):
        pass

    with pytest.raises(KeyError, match="NotAnEvent is not an event body"):
        event_type_of(NotAnEvent)


def test_handlers_get_the_typed_body() -> None:
    registry, got = HandlerRegistry(), list[tuple[str, object]]()
    registry.on_event(DoorEvent, lambda ev, body: got.append((ev.event_id, body)))
    registry.on_event(events.TestEvent, lambda ev, body: got.append(("wrong handler", body)))
    assert registry.handles("door") and not registry.handles("punch")
    _run(registry, _stored("door", {"action": "forced_open", "door": "back", "reason": ""}))
    assert got == [("e1", DoorEvent(action=DoorAction.FORCED_OPEN, door="back"))]


def test_a_body_that_no_longer_validates_goes_to_on_invalid_or_fails() -> None:
    registry, invalid = HandlerRegistry(), []
    registry.on_event(PunchEvent, lambda ev, body: pytest.fail("not a PunchEvent"),
                      on_invalid=lambda ev, exc: invalid.append(ev.event_id))
    redacted = _stored("punch", {"device_id": "door-1", "employee_id": "7", "encoding": "redacted",
                                 "distance": 0.3, "threshold": 0.6, "model_id": "m"})
    _run(registry, redacted)
    assert invalid == ["e1"]
    strict = HandlerRegistry()
    strict.on_event(PunchEvent, lambda ev, body: None)
    with pytest.raises(ValidationError):
        _run(strict, redacted)
