"""Registry of typed event bodies (``Event.data``) by event type.

Feature modules register their body models here; the hub validates ``data``
against the registered model and dead-letters unknown types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

EVENT_BODIES: dict[str, type[BaseModel]] = {}
EVENT_TYPES: dict[type[BaseModel], str] = {}  # the reverse of EVENT_BODIES: a body model's event type
REQUEST_BODIES: dict[str, type[BaseModel]] = {}
COMMAND_ARGS: dict[str, type[BaseModel]] = {}

M = TypeVar("M", bound=type[BaseModel])


def _register(registry: dict[str, type[BaseModel]], name: str) -> Callable[[M], M]:
    def deco(model: M) -> M:
        if name in registry and registry[name] is not model:
            raise ValueError(f"{name!r} registered twice")
        registry[name] = model
        return model

    return deco


def event_body(event_type: str) -> Callable[[M], M]:
    register = _register(EVENT_BODIES, event_type)

    def deco(model: M) -> M:
        EVENT_TYPES[register(model)] = event_type
        return model

    return deco


def request_body(action: str) -> Callable[[M], M]:
    return _register(REQUEST_BODIES, action)


def command_args(name: str) -> Callable[[M], M]:
    return _register(COMMAND_ARGS, name)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def validate_event_data(event_type: str, data: dict[str, Any]) -> BaseModel:
    """Raise KeyError for an unknown type, pydantic.ValidationError for a bad body."""
    return EVENT_BODIES[event_type].model_validate(data)


def event_type_of(model: type[BaseModel]) -> str:
    """The event type a body model is registered for (``PunchEvent`` → ``"punch"``); KeyError if none."""
    try:
        return EVENT_TYPES[model]
    except KeyError:
        raise KeyError(f"{model.__name__} is not an event body registered in protocol.events "
                       f"(known: {sorted(EVENT_BODIES)})") from None


# --- bodies shared by every device kind -------------------------------------------------


@event_body("alarm")
class AlarmEvent(Body):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description=(
        "What happened. Sent by every device's runtime: ``outbox_corrupt`` (the outbox file was unusable "
        "at boot; moved aside to ``details.moved_to``, a fresh one started), ``outbox_write_failed`` (the "
        "outbox refuses writes, e.g. a full disk; ``details.error`` is the storage's own reason; events wait "
        "in memory and arrive later), ``outbox_events_dropped`` (events lost meanwhile; "
        "``details.dropped`` counts them by type)"))
    severity: str = Field(default="warning", pattern=r"^(info|warning|critical)$")
    message: str = Field(default="", max_length=1000)
    details: dict[str, Any] = Field(default_factory=dict)


@event_body("log")
class LogEvent(Body):
    level: str = Field(default="info", pattern=r"^(debug|info|warning|error)$")
    message: str = Field(max_length=4000)


@event_body("test")
class TestEvent(Body):
    """Synthetic event used by the simulator's load generator and the benchmarks."""

    n: int = 0
    note: str = Field(default="", max_length=200)


@command_args("ping")
class PingArgs(Body):
    echo: str = Field(default="", max_length=200)


@command_args("reboot")
class RebootArgs(Body):
    delay_s: float = Field(default=0, ge=0, le=600)
