"""Load generator used by benchmarks and the no-loss tests: spread N events over agents."""

from __future__ import annotations

from collections.abc import Iterable

from devices.runtime import DeviceAgent
from firmware_sim.fleet import SimFleet
from protocol.events import TestEvent
from protocol.payloads import Event


def emit_events(fleet_or_agents: SimFleet | Iterable[DeviceAgent], *, total: int, note: str = "") -> list[Event]:
    """Emit ``total`` ``test`` events round-robin across the agents; returns them in emission order.

    Each body is ``TestEvent(n=i, note=note)`` with a fleet-wide running ``n``.
    """
    agents = fleet_or_agents.agents if isinstance(fleet_or_agents, SimFleet) else list(fleet_or_agents)
    if not agents:
        raise ValueError("no agents to emit from")
    out: list[Event] = []
    for i in range(total):
        out.append(agents[i % len(agents)].emit(TestEvent(n=i, note=note)))
    return out
