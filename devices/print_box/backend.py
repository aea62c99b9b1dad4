"""``CupsBackend``: the box's ``PrintBackend`` (``devices.print_box.ports``) on CUPS, via ``CupsWorker``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devices.print_box.cups_options import PrintOptions
from devices.print_box.cups_worker import CupsError, CupsWorker
from devices.print_box.ports import JobStatus, PrinterStatus
from devices.print_box.reachability import ReachabilityProbe, endpoint

_STATES = {"processing": "printing"}


class CupsBackend:
    def __init__(self, worker: CupsWorker, *, probe: ReachabilityProbe | None = None) -> None:
        self.worker = worker
        self.probe = probe or ReachabilityProbe()

    def printers(self) -> list[PrinterStatus]:
        out = []
        for p in self.worker.list_printers(timeout=20):
            state, reasons, message = _STATES.get(p.state, p.state), list(p.state_reasons), p.message
            if p.device_uri and self.probe.reachable(p.device_uri) is False:
                # CUPS keeps such a queue "processing" without a reason; say what is really going on.
                host, port = endpoint(p.device_uri) or ("?", 0)  # never the URI: it may carry credentials
                state, message = "offline", f"the printer does not answer at {host}:{port}"
                reasons = [r for r in reasons if r != "none"] + ["offline-report"]
            out.append(PrinterStatus(
                name=p.name, state=state, message=message, accepting=p.accepting,
                make_model=p.make_model, reasons=reasons,
                supplies=[{"name": s.name, "kind": s.kind, "level": s.level, "color": s.color} for s in p.supplies]))
        return out

    def submit(self, *, queue: str, path: Path, title: str, options: PrintOptions) -> int:
        return self.worker.print_file(queue=queue, path=path, title=title, options=options)

    def status(self, job_id: int) -> JobStatus:
        st = self.worker.job_status(job_id, timeout=20)
        return JobStatus(state=st.state, reasons=st.reasons, impressions=st.impressions, message=st.message)

    def cancel(self, job_id: int) -> None:
        try:
            self.worker.cancel(job_id, timeout=20)
        except CupsError as exc:
            if "already finished" not in exc.message:
                raise

    def find_job(self, title: str) -> int | None:
        def fn(conn: Any) -> int | None:
            jobs = conn.getJobs(which_jobs="all", requested_attributes=["job-id", "job-name"])
            for jid, attrs in sorted(jobs.items(), reverse=True):
                if attrs.get("job-name") == title:
                    return int(jid)
            return None

        return self.worker.submit(fn, retry_on_disconnect=True).result(timeout=20)

    def enable(self, queue: str) -> None:
        self.worker.enable_queue(queue, timeout=20)
