"""Queue watchdog: log when a queue enters or leaves a fault, and re-enable queues that stayed paused
(CUPS pauses a queue on backend errors and never resumes it itself).

Faults reach the hub as the box's reported state (``state.live.printers``), which the hub turns into
one alert per queue. The watchdog sends ``log`` events, not ``alarm`` events: an alarm would raise a
second alert for the same fault (the hub's fleet watcher alerts on every ``alarm``)."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING

from devices.runtime import DeviceAgent

if TYPE_CHECKING:
    from devices.print_box.agent import PrinterStatus
    from devices.print_box.backend import PrintBackend

log = logging.getLogger(__name__)

# printer-state-reasons keyword (suffix stripped) → fault code (the hub's domain uses the same codes).
_REASONS = {"paused": "printer_queue_paused", "media-empty": "printer_paper_out", "media-needed": "printer_paper_out",
            "media-jam": "printer_jam", "door-open": "printer_door_open", "cover-open": "printer_door_open",
            "toner-empty": "printer_toner_empty", "offline": "printer_offline",
            "connecting-to-device": "printer_offline", "timed-out": "printer_offline", "shutdown": "printer_offline"}


def fault_code(p: PrinterStatus) -> str | None:
    for r in p.reasons:
        base = r.removesuffix("-error").removesuffix("-warning").removesuffix("-report")
        if base in _REASONS and not r.endswith("-warning"):
            return _REASONS[base]
    return "printer_stopped" if p.state in ("stopped", "error") else None


class QueueWatchdog:
    def __init__(self, *, agent: DeviceAgent, backend: PrintBackend, reenable_after_s: float | None) -> None:
        self.agent, self.backend, self.reenable_after_s = agent, backend, reenable_after_s
        self._faults: dict[str, tuple[str, float]] = {}  # queue → (alarm code, since)

    def check(self, printers: list[PrinterStatus]) -> None:
        now = time.monotonic()
        for p in printers:
            code = fault_code(p)
            prev = self._faults.get(p.name)
            if code and (prev is None or prev[0] != code):
                self._faults[p.name] = (code, now)
                self._log("warning", f"{p.name}: {code} ({p.message or p.state}; {', '.join(p.reasons)})")
            elif code is None and prev is not None:
                del self._faults[p.name]
                self._log("info", f"{p.name}: recovered from {prev[0]}")
            if code == "printer_queue_paused" and self.reenable_after_s is not None:
                since = self._faults[p.name][1]
                if now - since >= self.reenable_after_s:
                    log.warning("watchdog: %s paused for %.0fs, re-enabling it", p.name, now - since)
                    try:
                        self.backend.enable(p.name)
                        self._faults[p.name] = (code, now)  # next try only after another full period
                        self._log("warning", f"{p.name}: paused for {now - since:.0f}s; watchdog re-enabled it")
                    except Exception as exc:
                        log.warning("watchdog could not re-enable %s: %s", p.name, exc)

    def _log(self, level: str, message: str) -> None:
        with contextlib.suppress(RuntimeError):  # outbox closed: the box is stopping
            self.agent.emit("log", {"level": level, "message": message[:4000]})
