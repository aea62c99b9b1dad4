"""What device features use of the agent they plug into, as Protocols.

``DeviceAgent`` builds ``FleetFeatures``, and the print box and door terminal build their job
runner, watchdog, check-in and release panel around it; those parts depend on these ports, never
on ``devices.runtime.agent``, so no import runs back up to the agent and a test can hand them a
small fake. ``DeviceAgent`` satisfies every port (mypy checks it where the parts are built).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from devices.runtime.commands import CommandHandler
from devices.runtime.executor import Runtime
from protocol.events import Body
from protocol.payloads import DeviceKind, DeviceState, Event, Response

# Gets the whole desired config; raises to refuse it (then no hook's change is kept).
ConfigHook = Callable[[dict[str, Any]], None]


class EventSink(Protocol):
    def emit(self, body: Body, *, device_ts: datetime | None = None) -> Event:
        """Queue a typed event body (a model registered with ``protocol.events.event_body``)."""
        ...


class Requester(Protocol):
    def request(self, action: str, data: dict[str, Any], *, timeout: float) -> Response: ...


class AgentPort(EventSink, Requester, Protocol):
    """The agent as a feature sees it: identity, state, commands, config hooks, events, requests."""

    firmware: str  # read and written: a firmware slot switch changes it

    @property
    def device_id(self) -> str: ...
    @property
    def kind(self) -> DeviceKind: ...
    @property
    def model(self) -> str: ...
    @property
    def workdir(self) -> Path: ...
    @property
    def boot_id(self) -> str: ...
    @property
    def uptime_s(self) -> float: ...
    @property
    def runtime(self) -> Runtime: ...
    @property
    def connected(self) -> bool: ...
    @property
    def state(self) -> DeviceState: ...
    @property
    def default_heartbeat_s(self) -> float: ...

    def wait_connected(self, timeout: float = 10.0) -> bool: ...
    def on_command(self, name: str, handler: CommandHandler) -> None: ...
    def on_config(self, hook: ConfigHook, *, first: bool = False) -> None: ...
    def publish_state(self, *, config_version: int | None, config: dict[str, Any],
                      live: dict[str, Any]) -> None: ...
    def set_heartbeat_interval(self, seconds: float | None) -> None: ...
    def republish_info(self) -> None: ...
    def https_context(self) -> ssl.SSLContext | None:
        """For downloads from the hub (a private CA); None: the default context is right."""
        ...
