"""Paced event emission from a simulated fleet (the real devices/ agents), for delivery tests."""

from __future__ import annotations

import threading
import time

from firmware_sim.fleet import SimFleet
from protocol.events import TestEvent
from protocol.payloads import Event


def emit_paced(fleet: SimFleet, *, total: int, per_s: float, out: list[Event], done: threading.Event,
               note: str = "no-loss") -> None:
    """Emit ``total`` "test" events round-robin over the fleet at ``per_s``, appending each to ``out``
    (devices put them in their outbox; their senders deliver them); sets ``done`` at the end."""
    agents = fleet.agents
    start = time.monotonic()
    for i in range(total):
        out.append(agents[i % len(agents)].emit(TestEvent(n=i, note=note)))
        lag = start + (i + 1) / per_s - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    done.set()


def start_emitter(fleet: SimFleet, *, total: int, per_s: float, note: str = "no-loss"
                  ) -> tuple[list[Event], threading.Event]:
    """``emit_paced`` on a daemon thread; returns the (growing) list of sent events and the done flag."""
    sent: list[Event] = []
    done = threading.Event()
    threading.Thread(target=emit_paced, args=(fleet,), daemon=True, name="emitter",
                     kwargs={"total": total, "per_s": per_s, "out": sent, "done": done, "note": note}).start()
    return sent, done
