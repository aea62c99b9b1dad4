"""What the print box needs from a printing system, as types the box's parts share.

``PrintBox`` (agent), ``JobRunner`` (jobs), ``QueueWatchdog`` (watchdog) and ``CupsBackend``
(backend) all depend on this module and on nothing of each other's, so the agent can build the
others without an import cycle. ``CupsBackend`` is the real implementation; the simulator has its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from devices.print_box.cups_options import PrintOptions


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    name: str
    state: str  # idle | printing | stopped | error | offline
    message: str = ""
    accepting: bool = True
    make_model: str = ""
    reasons: list[str] = field(default_factory=list)  # CUPS printer-state-reasons
    supplies: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class JobStatus:
    state: str  # CUPS job-state name: pending|held|processing|stopped|canceled|aborted|completed
    reasons: tuple[str, ...] = ()
    impressions: int | None = None
    message: str = ""


class PrinterSource(Protocol):
    def printers(self) -> list[PrinterStatus]:
        """Current printers; may block briefly (called on a shared worker thread)."""
        ...


class PrintBackend(PrinterSource, Protocol):
    def submit(self, *, queue: str, path: Path, title: str, options: PrintOptions) -> int: ...
    def status(self, job_id: int) -> JobStatus: ...
    def cancel(self, job_id: int) -> None: ...
    def find_job(self, title: str) -> int | None: ...
    def enable(self, queue: str) -> None: ...
