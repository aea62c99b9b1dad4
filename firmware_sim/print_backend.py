"""A print backend over ``SimulatedPrinter``s: "prints" without CUPS (fleet demo, benchmarks).

Jobs go pending → processing → completed over ``job_s`` seconds; a faulted printer keeps them
pending until it is cleared, like a stopped CUPS queue. ``fail_submits`` makes the next N
submissions fail as if CUPS were down (a retryable delivery failure).
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from devices.print_box.cups_options import PrintOptions
from devices.print_box.cups_worker import CupsNotFound, CupsUnavailable
from devices.print_box.ports import JobStatus, PrinterStatus
from firmware_sim.adapters import SimulatedPrinter


@dataclass
class _SimJob:
    queue: str
    title: str
    submitted: float
    canceled: bool = False


class SimPrintBackend:
    def __init__(self, printers: list[SimulatedPrinter], *, job_s: float = 0.2) -> None:
        self.items = list(printers)  # a list, like ``SimulatedPrinters.items`` (scenarios index it)
        self._by_name = {p.name: p for p in printers}
        self.job_s = job_s
        self.jobs: dict[int, _SimJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.fail_submits = 0

    def printers(self) -> list[PrinterStatus]:
        return [p.status() for p in self.items]

    def submit(self, *, queue: str, path: Path, title: str, options: PrintOptions) -> int:
        options.validate()
        if queue not in self._by_name:
            raise CupsNotFound(f"queue {queue!r} does not exist")
        with self._lock:
            if self.fail_submits > 0:
                self.fail_submits -= 1
                raise CupsUnavailable("simulated: the CUPS scheduler is not answering")
            job_id = next(self._ids)
            self.jobs[job_id] = _SimJob(queue=queue, title=title, submitted=time.monotonic())
        return job_id

    def status(self, job_id: int) -> JobStatus:
        job = self.jobs.get(job_id)
        if job is None:
            raise CupsNotFound(f"job {job_id} not found")
        if job.canceled:
            return JobStatus(state="canceled")
        printer = self._by_name[job.queue]
        if printer.state != "idle":
            return JobStatus(state="pending", reasons=(printer.message or printer.state,))
        age = time.monotonic() - job.submitted
        if age < self.job_s:
            return JobStatus(state="processing")
        if job.title not in printer.printed:
            printer.printed.append(job.title)
        return JobStatus(state="completed", impressions=1)

    def cancel(self, job_id: int) -> None:
        if job_id in self.jobs:
            self.jobs[job_id].canceled = True

    def find_job(self, title: str) -> int | None:
        return next((i for i, j in self.jobs.items() if j.title == title), None)

    def enable(self, queue: str) -> None:
        self._by_name[queue].clear()
