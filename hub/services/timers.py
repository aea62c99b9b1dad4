"""One thread for the hub's periodic jobs (inactivity, command sweeps, retention, rollouts)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hub.services.failure_log import FailureLog

log = logging.getLogger(__name__)


@dataclass
class _Job:
    name: str
    every_s: float
    fn: Callable[[], object]
    due: float = 0.0
    failures: FailureLog = field(init=False)

    def __post_init__(self) -> None:
        self.failures = FailureLog(log, f"periodic job {self.name}")


class Timers:
    def __init__(self) -> None:
        self._jobs: list[_Job] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-timers", daemon=True)

    def every(self, seconds: float, fn: Callable[[], object], *, name: str) -> None:
        self._jobs.append(_Job(name, seconds, fn, time.monotonic() + seconds))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            now = time.monotonic()
            for job in self._jobs:
                if now >= job.due:
                    job.due = now + job.every_s
                    try:
                        job.fn()
                    except Exception as exc:
                        job.failures.failed(exc)
                    else:
                        job.failures.ok()
