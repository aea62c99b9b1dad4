"""Where features plug into the ingest: event handlers, request handlers, command-ack listeners.

The ingest stores; features react. Handlers run on worker threads after the event is committed,
never on the MQTT network thread and never inside the ingest transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from protocol.events import event_type_of, validate_event_data
from protocol.payloads import CommandAck, Request

B = TypeVar("B", bound=BaseModel)


@dataclass(slots=True)  # not frozen: built per stored event on the ingest hot path
class StoredEvent:
    id: int | None  # database row id where known (the ingest fast path does not fetch it)
    device_id: str
    event_id: str
    seq: int
    type: str
    device_ts: datetime
    received_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeviceChange:
    device_id: str
    online: bool
    reason: str  # "availability", "will", "heartbeat", "inactivity", "info"
    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceRefusal:
    """A device sent something its kind may not send, or tried to change its kind (refused by the
    ingest and reported to listeners after the batch commits, e.g. to raise an alert)."""

    device_id: str
    code: str  # "kind_change", "wrong_kind"
    message: str
    kind: str | None  # the kind the hub holds for the device
    what: str  # e.g. "info", "event punch", "request gallery_sync"


class RequestRefused(Exception):
    """Raised by a request handler to answer ``status=error`` with this message."""


@dataclass(frozen=True, slots=True)
class EventSubscription(Generic[B]):
    """A handler for one event body type. It gets the stored event and its body, validated once by
    the processor for all of the event's handlers. ``on_invalid`` gets the stored events whose body no
    longer matches the model (e.g. a punch whose encoding an erasure redacted before it was decided);
    without one, such an event is recorded as a handler failure."""

    body_type: type[B]
    handler: Callable[[StoredEvent, B], None]
    on_invalid: Callable[[StoredEvent, ValidationError], None] | None = None

    @property
    def name(self) -> str:
        return str(getattr(self.handler, "__qualname__", self.handler))

    def run(self, ev: StoredEvent, body: BaseModel | ValidationError) -> None:
        if isinstance(body, ValidationError):
            if self.on_invalid is None:
                raise body
            self.on_invalid(ev, body)
        elif isinstance(body, self.body_type):
            self.handler(ev, body)
        else:
            raise TypeError(f"{ev.type} body is a {type(body).__name__}, not a {self.body_type.__name__}")


def stored_body(ev: StoredEvent) -> BaseModel | ValidationError:
    """The typed body of a stored event (its model from ``protocol.events``), or why it is not one."""
    try:
        return validate_event_data(ev.type, ev.data)
    except ValidationError as exc:
        return exc


# (device_id, request envelope, typed body) -> response data
RequestHandler = Callable[[str, Request, BaseModel | None], dict[str, Any]]
CommandAckHandler = Callable[[str, str, CommandAck], None]  # (device_id, command name, ack)
DeviceListener = Callable[[DeviceChange], None]
RefusalListener = Callable[[DeviceRefusal], None]


@dataclass
class HandlerRegistry:
    events: dict[str, list[EventSubscription[Any]]] = field(default_factory=dict)
    requests: dict[str, RequestHandler] = field(default_factory=dict)
    command_acks: dict[str, list[CommandAckHandler]] = field(default_factory=dict)
    device_listeners: list[DeviceListener] = field(default_factory=list)
    refusal_listeners: list[RefusalListener] = field(default_factory=list)

    def on_event(self, body_type: type[B], handler: Callable[[StoredEvent, B], None], *,
                 on_invalid: Callable[[StoredEvent, ValidationError], None] | None = None) -> None:
        """``handler(event, body)`` for every stored event whose body is a ``body_type`` (e.g. ``PunchEvent``)."""
        self.events.setdefault(event_type_of(body_type), []).append(
            EventSubscription(body_type, handler, on_invalid))

    def on_request(self, action: str, handler: RequestHandler) -> None:
        if action in self.requests:
            raise ValueError(f"request action {action!r} already has a handler")
        self.requests[action] = handler

    def on_command_ack(self, command_name: str, handler: CommandAckHandler) -> None:
        self.command_acks.setdefault(command_name, []).append(handler)

    def on_device_change(self, listener: DeviceListener) -> None:
        self.device_listeners.append(listener)

    def on_device_refusal(self, listener: RefusalListener) -> None:
        self.refusal_listeners.append(listener)

    def handles(self, event_type: str) -> bool:
        return bool(self.events.get(event_type))
