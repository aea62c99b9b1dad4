"""Fleet scenarios for ``officehub sim --scenario …``: the trouble a real site sees, on a timer.

- ``paper-out``: now and then a print box's printer runs out of paper (CUPS state ``stopped``,
  reason ``media-empty``) and is refilled a while later; the hub keeps the jobs and alerts.
- ``flaky-network``: now and then a device's network drops for a moment; it reconnects by itself
  (backoff) and its outbox delivers what waited, so nothing is lost.

A morning rush is a load, not a fault: ``bench/checkin_bench.py`` drives one. A broker restart is
done to the broker (``systemctl restart mosquitto``, or Ctrl-C on ``officehub demo``), not by the sim.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

from firmware_sim.adapters import SimulatedPrinters
from firmware_sim.fleet import SimFleet
from firmware_sim.print_backend import SimPrintBackend

# The simulator's printer sources: both expose their ``SimulatedPrinter`` list as ``items``.
SimPrinterSources = (SimulatedPrinters, SimPrintBackend)

log = logging.getLogger(__name__)

SCENARIOS = ("paper-out", "flaky-network")


class ScenarioRunner:
    def __init__(self, fleet: SimFleet, scenarios: tuple[str, ...], *, every_s: float = 60.0,
                 recover_after_s: float = 30.0, seed: int = 0) -> None:
        unknown = sorted(set(scenarios) - set(SCENARIOS))
        if unknown:
            raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        self.fleet, self.scenarios = fleet, scenarios
        self.every_s, self.recover_after_s = every_s, recover_after_s
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim-scenarios", daemon=True)
        self.log: list[str] = []  # what happened, for tests and the operator's console

    def start(self) -> None:
        if self.scenarios:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def step(self) -> None:
        """One round: every enabled scenario strikes once."""
        for name in self.scenarios:
            {"paper-out": self._paper_out, "flaky-network": self._flaky_network}[name]()

    def _run(self) -> None:
        while not self._stop.wait(self._rng.uniform(0.5, 1.5) * self.every_s):
            try:
                self.step()
            except Exception:  # a scenario must never take the simulator down
                log.exception("scenario step failed")

    def _paper_out(self) -> None:
        boxes = [(b, b.printers.items) for b in self.fleet.printboxes
                 if isinstance(b.printers, SimPrinterSources) and b.printers.items]
        if not boxes:
            return
        box, printers = self._rng.choice(boxes)
        printer = self._rng.choice(printers)
        printer.fault("Media empty", state="stopped")
        box.refresh()
        self._note(f"paper-out: {box.device_id}/{printer.name}")

        def refill() -> None:
            printer.clear()
            box.refresh()
            self._note(f"paper refilled: {box.device_id}/{printer.name}")

        self._later(refill)

    def _flaky_network(self) -> None:
        if not self.fleet.devices:
            return
        device = self._rng.choice(self.fleet.devices)
        device.agent.drop_link()
        self._note(f"network blip: {device.device_id}")

    def _later(self, fn: Callable[[], None]) -> None:
        timer = threading.Timer(self.recover_after_s, fn)
        timer.daemon = True
        timer.start()

    def _note(self, what: str) -> None:
        self.log.append(what)
        log.info("scenario: %s", what)
