"""Queue watchdog: log when a queue enters or leaves a fault, and re-enable queues that stayed paused
(CUPS pauses a queue on backend errors and never resumes it itself).

Faults reach the hub as the box's reported state (``state.live.printers``), which the hub turns into
one alert per queue. The watchdog sends ``log`` events, not ``alarm`` events: an alarm would raise a
second alert for the same fault (the hub's fleet watcher alerts on every ``alarm``)."""

from __future__ import annotations

import contextlib
import logging
import time

from devices.print_box.ports import PrintBackend, PrinterStatus
from devices.runtime.ports import EventSink
from protocol.cups_states import PRINTER_REASON_FAULTS, reason_keyword
from protocol.events import LogEvent

log = logging.getLogger(__name__)


def fault_code(p: PrinterStatus) -> str | None:
    """The queue's fault (codes shared with the hub's domain); warnings are not faults."""
    for r in p.reasons:
        base = reason_keyword(r)
        if base in PRINTER_REASON_FAULTS and not r.endswith("-warning"):
            return PRINTER_REASON_FAULTS[base]
    return "printer_stopped" if p.state in ("stopped", "error") else None


class QueueWatchdog:
    def __init__(self, *, agent: EventSink, backend: PrintBackend, reenable_after_s: float | None) -> None:
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
            self.agent.emit(LogEvent(level=level, message=message[:4000]))
