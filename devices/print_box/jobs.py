"""``JobRunner``: takes ``print_job`` offers, downloads and checks the file, prints it through the
backend, follows the CUPS job and reports every state as a ``print_job`` event.

Idempotent on job id (``JobLedger``). Command handlers only claim the job and return, so the ack
("the box has the job") is fast; download and CUPS work run on the runner's own threads.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from devices.print_box.cups_options import PrintOptions
from devices.print_box.cups_worker import CupsError, CupsNotFound, CupsUnavailable
from devices.print_box.ledger import FINAL, JobLedger, LedgerEntry
from devices.print_box.ports import PrintBackend
from devices.print_box.queue_names import QueueNames
from devices.runtime.commands import CommandUnsupported
from devices.runtime.executor import TimerHandle
from devices.runtime.ports import AgentPort
from protocol.bodies_print import BoxJobState, PendingPrintJobs, PrintJobArgs, PrintJobEvent
from protocol.cups_states import CUPS_TO_REPORT

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_CATCH_UP_FIRST_S, _CATCH_UP_MAX_S = 5.0, 120.0


class JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


DEFAULT_MAX_JOB_MB = 100


class JobRunner:
    def __init__(self, *, agent: AgentPort, backend: PrintBackend, workdir: Path, poll_s: float = 1.0,
                 download_timeout_s: float = 120, queue_names: QueueNames | None = None) -> None:
        self.agent, self.backend, self.poll_s = agent, backend, poll_s
        self.queue_names = queue_names or QueueNames()
        self.download_timeout_s = download_timeout_s
        self.spool = workdir / "print-spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.ledger = JobLedger(workdir / "print-jobs.sqlite3")
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{agent.device_id}-print")
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._timer: TimerHandle | None = None
        self._synced = False  # caught up with the hub since the last (re)connect
        self._catching_up = False
        self._catch_up_after = 0.0  # monotonic; a failed catch-up backs off instead of retrying every tick
        self._catch_up_backoff = _CATCH_UP_FIRST_S
        self._force_report = True  # after a (re)start, re-report every job we know: the hub converges
        self._stopped = threading.Event()
        self.submitted = 0  # CUPS submissions by this process (observable in tests and benches)
        self.max_job_bytes = DEFAULT_MAX_JOB_MB * 1024 * 1024
        self.apply_config(agent.state.config)
        agent.on_config(self.apply_config)
        agent.on_command("print_job", self.on_print_job)
        agent.on_command("cancel_print_job", self.on_cancel)
        agent.on_command("release_job", self.on_release)

    def start(self) -> None:
        self._timer = self.agent.runtime.scheduler.call_every(
            self.poll_s, lambda: self.agent.runtime.submit_io(self._tick))

    def stop(self) -> None:
        self._stopped.set()  # a tick already queued on the agent's I/O thread must not touch the closed ledger
        if self._timer is not None:
            self._timer.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.ledger.close()

    # --- offers ---------------------------------------------------------------------------

    def on_print_job(self, raw: dict[str, Any]) -> dict[str, Any]:
        args = PrintJobArgs.model_validate(raw)
        with self._lock:
            if args.job_id in self._running:
                return {"job_id": args.job_id, "duplicate": True}
            entry = self.ledger.get(args.job_id)
            if entry is not None and entry.state == "claimed" and entry.cups_job_id is None:
                # Claimed by an earlier process that died before CUPS took it: CUPS may still have it.
                found = self._find(args.job_id)
                if found is not None:
                    self.ledger.update(args.job_id, state="sent", cups_job_id=found)
                    entry = self.ledger.get(args.job_id)
                else:
                    entry = None
            if entry is not None and entry.state != "failed":
                # A finished job re-reports its outcome (a canceled one never said more than that).
                self._report(args.job_id, entry.state if entry.state in FINAL else entry.reported or "sent")
                return {"job_id": args.job_id, "duplicate": True, "state": entry.state}
            if entry is None or entry.state == "failed":
                self.ledger.claim(args.job_id, args.queue)
            self._running.add(args.job_id)
        self._pool.submit(self._run, args)
        return {"job_id": args.job_id, "accepted": True}

    @staticmethod
    def on_release(raw: dict[str, Any]) -> dict[str, Any]:
        # The hub does secure release itself and offers jobs already released: nothing is held here.
        raise CommandUnsupported("this box holds no jobs to release: the hub releases held jobs and then "
                                 "offers them; nothing was released")

    def _find(self, title: str) -> int | None:
        try:
            return self.backend.find_job(title)
        except Exception as exc:
            log.warning("could not look for job %s in CUPS: %s", title, exc)
            return None

    def apply_config(self, config: dict[str, Any]) -> None:
        """Device config ``max_job_mb``: larger documents are refused before any download."""
        mb = int(config.get("max_job_mb", DEFAULT_MAX_JOB_MB))
        if not 1 <= mb <= 1024:
            raise ValueError(f"max_job_mb must be in [1, 1024], got {mb}")
        self.max_job_bytes = mb * 1024 * 1024

    def _run(self, args: PrintJobArgs) -> None:
        path = self.spool / f"{args.job_id}.pdf"
        try:
            if args.size > self.max_job_bytes:
                raise JobFailed("document_too_large", f"{args.size} bytes is over this box's limit of "
                                f"{self.max_job_bytes // (1024 * 1024)} MB (config max_job_mb)")
            self._download(args, path)
            opts = args.options
            options = PrintOptions(copies=opts.copies, duplex=opts.duplex, color=opts.color,
                                   page_ranges=opts.page_ranges, media=opts.media)
            if self._canceled(args.job_id):
                return  # canceled while it downloaded: it never reaches CUPS
            cups_id = self.backend.submit(queue=self.queue_names.to_cups(args.queue), path=path, title=args.job_id,
                                          options=options)
            self.submitted += 1
            with self._lock:
                canceled = self._canceled(args.job_id)
                self.ledger.update(args.job_id, state=None if canceled else "sent", cups_job_id=cups_id)
            if canceled:
                self._cancel_submitted(args.job_id, cups_id)
                return
            self._emit(args.job_id, "sent", cups_job_id=cups_id)
        except JobFailed as exc:
            self._fail(args.job_id, exc.code, exc.message)
        except CupsNotFound as exc:
            self._fail(args.job_id, "queue_not_found", exc.message)
        except CupsUnavailable as exc:
            self._fail(args.job_id, "cups_unavailable", exc.message)
        except CupsError as exc:
            self._fail(args.job_id, "cups_refused", exc.message)
        except Exception as exc:  # never lose the job silently
            log.exception("print job %s failed", args.job_id)
            self._fail(args.job_id, "box_error", f"{type(exc).__name__}: {exc}")
        finally:
            path.unlink(missing_ok=True)  # CUPS keeps its own copy
            with self._lock:
                self._running.discard(args.job_id)

    def _download(self, args: PrintJobArgs, path: Path) -> None:
        h = hashlib.sha256()
        size = 0
        try:
            ctx = self.agent.https_context()  # a hub on HTTPS with a private CA
            with urllib.request.urlopen(str(args.url), timeout=self.download_timeout_s, context=ctx) as res, \
                    path.open("wb") as f:
                while chunk := res.read(_CHUNK):
                    size += len(chunk)
                    if size > args.size:
                        raise JobFailed("checksum_mismatch", f"download is larger than the announced {args.size} bytes")
                    h.update(chunk)
                    f.write(chunk)
        except JobFailed:
            raise
        except Exception as exc:
            raise JobFailed("download_failed", f"could not download the document: {exc}") from exc
        if h.hexdigest() != args.sha256:
            raise JobFailed("checksum_mismatch", "the downloaded document does not match its sha256")

    def _canceled(self, job_id: str) -> bool:
        entry = self.ledger.get(job_id)
        return entry is not None and entry.state == "canceled"

    def _fail(self, job_id: str, code: str, message: str) -> None:
        if self._canceled(job_id):
            return  # the cancel already answered for this job
        self.ledger.update(job_id, state="failed")
        self._emit(job_id, "failed", error_code=code, message=message[:1000])

    # --- cancel ---------------------------------------------------------------------------

    def on_cancel(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Cancel a job; the answer says what CUPS really did (a job that already printed is not canceled)."""
        job_id = str(raw["job_id"])
        with self._lock:  # against ``_run`` handing the job to CUPS right now
            entry = self.ledger.get(job_id)
            if entry is None:
                # Not here yet: remember, so a late offer is not printed.
                self.ledger.claim(job_id, "")
                self.ledger.update(job_id, state="canceled", reported="canceled")
                self._emit(job_id, "canceled", message="canceled before it reached the box")
                return {"job_id": job_id, "canceled": True}
            if entry.state in FINAL:
                return {"job_id": job_id, "canceled": entry.state == "canceled", "state": entry.state}
            if entry.cups_job_id is None:
                # Still downloading: ``_run`` sees the mark and never submits it.
                self.ledger.update(job_id, state="canceled", reported="canceled")
                self._emit(job_id, "canceled", message="canceled before it reached CUPS")
                return {"job_id": job_id, "canceled": True}
            cups_id = entry.cups_job_id
        self.backend.cancel(cups_id)
        state = self._cups_state(cups_id)
        # The follower reports the outcome as an event (canceled, or completed when the printer won).
        return {"job_id": job_id, "canceled": state == "canceled", "cups_state": state}

    def _cancel_submitted(self, job_id: str, cups_id: int) -> None:
        """The cancel came while CUPS was taking the job: cancel it there as well. When CUPS does not
        confirm it, the follower goes on and reports what happened instead (e.g. completed)."""
        try:
            self.backend.cancel(cups_id)
        except CupsError as exc:
            log.warning("job %s: canceling CUPS job %s failed: %s", job_id, cups_id, exc)
        if self._cups_state(cups_id) != "canceled":
            self.ledger.update(job_id, state="sent")

    def _cups_state(self, cups_id: int) -> str:
        try:
            return self.backend.status(cups_id).state
        except CupsError as exc:
            log.info("state of CUPS job %s unknown: %s", cups_id, exc)
            return "unknown"

    # --- following jobs ---------------------------------------------------------------------

    def _tick(self) -> None:
        if self._stopped.is_set():
            return
        try:
            self._maybe_catch_up()
            force, self._force_report = self._force_report, False
            for entry in self.ledger.active():
                if entry.cups_job_id is None:
                    continue
                try:
                    st = self.backend.status(entry.cups_job_id)
                except CupsNotFound:
                    self._lost(entry)
                    continue
                except CupsError as exc:
                    log.info("status of %s unavailable: %s", entry.job_id, exc)
                    continue
                report = CUPS_TO_REPORT.get(st.state, "sent")
                reasons = ",".join(st.reasons)
                if force or report != entry.reported or reasons != entry.reasons:
                    final = report if report in FINAL else None
                    self.ledger.update(entry.job_id, state=final or report, reported=report, reasons=reasons)
                    self._emit(entry.job_id, report, cups_job_id=entry.cups_job_id, reasons=list(st.reasons),
                               pages_printed=st.impressions, message=st.message,
                               error_code="cups_aborted" if report == "failed" else None)
        except RuntimeError:
            pass  # stopping: outbox closed
        except sqlite3.ProgrammingError:
            if not self._stopped.is_set():
                raise  # the ledger closed under a tick that raced stop(): nothing left to follow

    def _lost(self, entry: LedgerEntry) -> None:
        """CUPS no longer knows the job (purged, or cupsd lost its history): nobody confirmed that it
        printed, so it is not reported completed; not re-offered either, as it may have printed."""
        self.ledger.update(entry.job_id, state="failed", reported="failed", reasons="job-purged")
        self._emit(entry.job_id, "failed", cups_job_id=entry.cups_job_id, reasons=["job-purged"],
                   error_code="cups_job_lost",
                   message=f"CUPS no longer knows job {entry.cups_job_id} (purged, or its history was lost); "
                           f"last seen {entry.reported or 'queued'}: whether it printed is unknown")

    def _maybe_catch_up(self) -> None:
        if not self.agent.connected:
            self._synced = False
            return
        if self._synced or self._catching_up or time.monotonic() < self._catch_up_after:
            return
        self._catching_up = True
        # On the runner's pool: the request may wait 10 s, which must not hold the agent's shared I/O
        # thread (a simulated fleet runs many boxes on two of them).
        self._pool.submit(self._catch_up)

    def _catch_up(self) -> None:
        """After (re)connecting: ask the hub which jobs we should have (fresh download URLs)."""
        try:
            res = self.agent.request("print_jobs_pending", {"known_job_ids": self.ledger.known_ids()}, timeout=10)
            pending = PendingPrintJobs.model_validate(res.data or {})
        except Exception as exc:
            log.info("catch-up request failed (%s); retrying in %.0fs, pending commands still arrive", exc,
                     self._catch_up_backoff)
            self._catch_up_after = time.monotonic() + self._catch_up_backoff
            self._catch_up_backoff = min(_CATCH_UP_MAX_S, self._catch_up_backoff * 2)
            return
        finally:
            self._catching_up = False
        self._synced, self._catch_up_backoff = self.agent.connected, _CATCH_UP_FIRST_S
        for job in pending.jobs:
            self.on_print_job(job.model_dump(mode="json"))
        for job_id in pending.cancel_job_ids:
            self.on_cancel({"job_id": job_id})

    def _report(self, job_id: str, state: str) -> None:
        entry = self.ledger.get(job_id)
        if entry is not None:
            # ``state`` is read back from the ledger as text: the model checks it is a report state.
            self.agent.emit(PrintJobEvent.model_validate({
                "job_id": job_id, "state": state, "cups_job_id": entry.cups_job_id,
                "reasons": [r for r in entry.reasons.split(",") if r]}))

    def _emit(self, job_id: str, state: BoxJobState, *, cups_job_id: int | None = None,
              reasons: list[str] | None = None, pages_printed: int | None = None, error_code: str | None = None,
              message: str = "") -> None:
        self.agent.emit(PrintJobEvent(job_id=job_id, state=state, cups_job_id=cups_job_id, reasons=reasons or [],
                                      pages_printed=pages_printed, error_code=error_code, message=message))
