"""``PrintBox``: a cloud-print box on the shared device runtime.

It reports its printers in ``state.live``. With a print backend it also takes jobs
(``devices.print_box.jobs.JobRunner``: download, print, follow, report) and watches its queues
(``devices.print_box.watchdog``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, replace
from pathlib import Path

from devices.print_box.jobs import JobRunner
from devices.print_box.ports import PrintBackend, PrinterSource, PrinterStatus
from devices.print_box.queue_names import QueueNames
from devices.print_box.watchdog import QueueWatchdog
from devices.runtime import DeviceAgent, Runtime
from devices.runtime.executor import TimerHandle
from protocol.broker_tls import TlsSettings
from protocol.payloads import DeviceKind

log = logging.getLogger(__name__)

MODEL = "officehub-printbox"
FIRMWARE = "0.1.0"


class PrintBox:
    def __init__(self, *, device_id: str, broker_url: str, workdir: Path, printers: PrinterSource,
                 username: str | None = None, password: str | None = None, model: str = MODEL,
                 firmware: str = FIRMWARE, heartbeat_s: float = 30, ack_timeout_s: float = 10,
                 refresh_s: float = 15, runtime: Runtime | None = None,
                 rng: random.Random | None = None, backend: PrintBackend | None = None,
                 poll_s: float = 1.0, watchdog_s: float | None = 300, tls: TlsSettings | None = None) -> None:
        self.printers = printers
        self.refresh_s = refresh_s
        self.agent = DeviceAgent(device_id=device_id, kind=DeviceKind.PRINT_BOX, model=model,
                                 firmware=firmware, broker_url=broker_url, workdir=workdir,
                                 username=username, password=password, capabilities=["print"],
                                 heartbeat_s=heartbeat_s, ack_timeout_s=ack_timeout_s, runtime=runtime,
                                 rng=rng, tls=tls)
        self._runtime = self.agent.runtime
        self._last: list[dict[str, object]] | None = None
        self.queue_names = QueueNames()
        try:  # the mapping stored with the last applied config
            self.queue_names.apply(dict(self.agent.state.config.get("print_queues") or {}))
        except (ValueError, TypeError) as exc:
            log.warning("%s: stored print_queues not usable: %s", device_id, exc)
        self.agent.on_config(self._apply_queue_config)
        self._timer: TimerHandle | None = None
        self.jobs: JobRunner | None = None
        self.watchdog: QueueWatchdog | None = None
        if backend is not None:
            self.jobs = JobRunner(agent=self.agent, backend=backend, workdir=Path(workdir), poll_s=poll_s,
                                  queue_names=self.queue_names)
            self.watchdog = QueueWatchdog(agent=self.agent, backend=backend, reenable_after_s=watchdog_s)

    @property
    def device_id(self) -> str:
        return self.agent.device_id

    def start(self) -> None:
        self.refresh()
        self.agent.start()
        self._timer = self._runtime.scheduler.call_every(
            self.refresh_s, lambda: self._runtime.submit_io(self.refresh))
        if self.jobs is not None:
            self.jobs.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.jobs is not None:
            self.jobs.stop()
        self.agent.stop()

    def crash(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.jobs is not None:
            self.jobs.stop()
        self.agent.crash()

    def _apply_queue_config(self, config: dict[str, object]) -> None:
        mapping = config.get("print_queues") or {}
        if not isinstance(mapping, dict):
            raise ValueError("print_queues must map hub queue names to CUPS printer names")
        if self.queue_names.apply(mapping):
            self._last = None  # publish the printers under their new names on the next refresh
            self._runtime.submit_io(self.refresh)

    def refresh(self) -> None:
        """Re-read the printers and publish state when anything changed."""
        statuses: list[PrinterStatus] = []
        try:
            statuses = self.printers.printers()
            current = [asdict(replace(p, name=self.queue_names.to_hub(p.name))) for p in statuses]
            error = ""
        except Exception as exc:  # CUPS down must show up as state, not kill the box
            current, error = [], f"{type(exc).__name__}: {exc}"
        live: dict[str, object] = {"printers": current}
        if error:
            live["error"] = error
        if self.watchdog is not None and not error:
            self.watchdog.check(statuses)
        if current == self._last and not error:
            return
        self._last = current
        state = self.agent.state
        self.agent.publish_state(config_version=state.config_version, config=state.config, live=live)
