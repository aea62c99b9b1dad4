"""What a feature's setup gets from the hub: the few collaborators features use, not the runtime.

Features depend on this module, never on ``hub.runtime`` (which builds it), so the runtime can import
features without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hub.db.session import SessionFactory
from hub.ingest.handlers import HandlerRegistry
from hub.services.alerts import Alerts
from hub.services.commands import CommandService
from hub.services.keys import Services
from hub.services.live import LiveFeed
from hub.services.timers import Timers
from hub.settings import Settings


class Publish(Protocol):
    def __call__(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool: ...


@dataclass(frozen=True, kw_only=True)
class FeatureContext:
    settings: Settings
    sessions: SessionFactory
    registry: HandlerRegistry  # what the feature reacts to: events, requests, command acks, device changes
    timers: Timers
    live: LiveFeed
    commands: CommandService
    alerts: Alerts
    services: Services  # publish yours with ``services.set(KEY, svc)``; find others' with ``get``/``find``
    publish: Publish  # raw MQTT publish (retained device state, e.g. a revoked device's availability)
    broker_url: str  # the hub's own broker URL (the embedded broker's when it runs one)
    on_stop: Callable[[Callable[[], None]], None]  # register a clean-shutdown hook (run in reverse order)
