"""The print box's only door to CUPS: one thread owns the pycups connection.

pycups blocks for a whole IPP round trip and keeps per-call thread state on the Connection object,
so sharing one Connection between threads can crash the interpreter (OpenPrinting/pycups#43). Every
public method here queues a call for the worker thread and waits for its result; callers on an event
loop use ``asyncio.to_thread(worker.print_file, ...)`` or the ``submit`` Future API.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from devices.print_box.cups_options import InvalidPrintOptions, PrintOptions, to_cups_options

log = logging.getLogger(__name__)
T = TypeVar("T")

PrinterStateName = Literal["idle", "processing", "stopped"]
CupsJobStateName = Literal["pending", "held", "processing", "stopped", "canceled", "aborted", "completed"]

_PRINTER_STATES: dict[int, PrinterStateName] = {3: "idle", 4: "processing", 5: "stopped"}
_JOB_STATES: dict[int, CupsJobStateName] = {
    3: "pending", 4: "held", 5: "processing", 6: "stopped", 7: "canceled", 8: "aborted", 9: "completed"}
_PRINTER_ATTRS = ["printer-name", "printer-make-and-model", "printer-state", "printer-state-reasons",
                  "printer-state-message", "printer-is-accepting-jobs", "marker-names", "marker-types",
                  "marker-levels", "marker-colors", "device-uri"]
_JOB_ATTRS = ["job-id", "job-state", "job-state-reasons", "job-impressions-completed",
              "job-printer-state-message", "job-name"]
_IPP_NOT_FOUND = 0x0406
_IPP_NOT_POSSIBLE = 0x0404
_IPP_SERVICE_UNAVAILABLE = 0x0502


class CupsError(Exception):
    """A CUPS call failed; ``message`` says what and why, ``status`` is the IPP status when known."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class CupsUnavailable(CupsError):
    """cupsd could not be reached (not running, socket gone, connection broke)."""


class CupsNotFound(CupsError):
    """No such printer queue or job."""


class CupsTimeout(CupsError):
    """The worker did not answer in time (cupsd hung, or a long queue of calls)."""


@dataclass(frozen=True, slots=True)
class Supply:
    name: str
    kind: str  # marker-types: toner, ink, waste-toner, ...
    level: int  # percent; -1 unknown, -2 unknown but present, -3 "some left" (RFC 3805)
    color: str | None = None


@dataclass(frozen=True, slots=True)
class PrinterInfo:
    name: str
    make_model: str
    state: PrinterStateName
    state_reasons: tuple[str, ...]
    accepting: bool
    message: str = ""
    supplies: tuple[Supply, ...] = field(default_factory=tuple)
    device_uri: str = ""  # where CUPS sends jobs (ipp://host:port/..., usb://..., socket://...)


@dataclass(frozen=True, slots=True)
class CupsJobStatus:
    job_id: int
    state: CupsJobStateName
    reasons: tuple[str, ...]
    impressions: int | None  # sides printed so far (job-impressions-completed), when the printer says
    message: str = ""

    @property
    def terminal(self) -> bool:
        return self.state in ("canceled", "aborted", "completed")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if str(v) != "none")
    return () if str(value) == "none" else (str(value),)


def _supplies(attrs: dict[str, Any]) -> tuple[Supply, ...]:
    names = list(_as_tuple(attrs.get("marker-names")))
    kinds = list(_as_tuple(attrs.get("marker-types")))
    colors = list(_as_tuple(attrs.get("marker-colors")))
    raw_levels = attrs.get("marker-levels")
    levels = list(raw_levels) if isinstance(raw_levels, list | tuple) else (
        [raw_levels] if raw_levels is not None else [])
    return tuple(
        Supply(name=n, kind=kinds[i] if i < len(kinds) else "unknown",
               level=int(levels[i]) if i < len(levels) else -1,
               color=colors[i] if i < len(colors) else None)
        for i, n in enumerate(names))


def _printer_info(name: str, attrs: dict[str, Any]) -> PrinterInfo:
    return PrinterInfo(
        name=name,
        make_model=str(attrs.get("printer-make-and-model", "")),
        state=_PRINTER_STATES.get(int(attrs.get("printer-state", 5)), "stopped"),
        state_reasons=_as_tuple(attrs.get("printer-state-reasons")),
        accepting=bool(attrs.get("printer-is-accepting-jobs", False)),
        message=str(attrs.get("printer-state-message", "")),
        supplies=_supplies(attrs),
        device_uri=str(attrs.get("device-uri", "")),
    )


_STOP = object()


class CupsWorker:
    """Owns one ``cups.Connection`` on a dedicated thread; thread-safe to call from anywhere."""

    def __init__(self, *, host: str | None = None, port: int | None = None, user: str | None = None,
                 call_timeout: float = 60.0, name: str = "cups-worker") -> None:
        self._host = host
        self._port = port
        self._user = user
        self._timeout = call_timeout
        self._calls: queue.Queue[Any] = queue.Queue()
        self._conn: Any = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- plumbing ----------------------------------------------------------------------

    def submit(self, fn: Callable[[Any], T], *, retry_on_disconnect: bool = False) -> Future[T]:
        """Run ``fn(connection)`` on the worker thread. Errors arrive as ``CupsError`` subclasses."""
        if self._closed:
            raise CupsError("CUPS worker is closed")
        fut: Future[T] = Future()
        self._calls.put((fn, fut, retry_on_disconnect))
        return fut

    def _call(self, fn: Callable[[Any], T], *, retry: bool, timeout: float | None) -> T:
        fut = self.submit(fn, retry_on_disconnect=retry)
        limit = self._timeout if timeout is None else timeout
        try:
            return fut.result(timeout=limit)
        except FutureTimeout:
            raise CupsTimeout(f"CUPS did not answer within {limit:.0f}s") from None

    def _connect(self) -> Any:
        import cups  # imported here: the hub and unit tests never need pycups

        if self._user:
            cups.setUser(self._user)  # thread-local in libcups, so it is set on this thread
        kwargs: dict[str, Any] = {}
        if self._host is not None:
            kwargs["host"] = self._host
        if self._port is not None:
            kwargs["port"] = self._port
        try:
            return cups.Connection(**kwargs)
        except RuntimeError as exc:
            where = f"{self._host or 'default server'}:{self._port or 631}"
            raise CupsUnavailable(f"cannot connect to CUPS at {where}: {exc} (is cupsd running?)") from exc

    def _translate(self, exc: BaseException) -> CupsError:
        import cups

        if isinstance(exc, CupsError):
            return exc
        if isinstance(exc, cups.IPPError):
            status, text = (*exc.args, None, "")[:2]
            status = int(status) if isinstance(status, int) else None
            if status == _IPP_NOT_FOUND:
                return CupsNotFound(f"CUPS: not found ({text})", status=status)
            if status == _IPP_SERVICE_UNAVAILABLE:
                return CupsUnavailable(f"CUPS unavailable: {text}", status=status)
            return CupsError(f"CUPS refused the request: {text} (IPP status 0x{status or 0:04x})",
                             status=status)
        if isinstance(exc, cups.HTTPError):
            return CupsUnavailable(f"HTTP error talking to CUPS: status {exc.args[0] if exc.args else '?'}")
        if isinstance(exc, RuntimeError):
            return CupsUnavailable(f"CUPS connection failed: {exc}")
        if isinstance(exc, InvalidPrintOptions):
            return CupsError(f"invalid print options: {exc}")
        return CupsError(f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            if item is _STOP:
                break
            fn, fut, retry = item
            if not fut.set_running_or_notify_cancel():
                continue
            attempts = 2 if retry else 1
            for attempt in range(attempts):
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    fut.set_result(fn(self._conn))
                    break
                except BaseException as exc:
                    err = self._translate(exc)
                    if isinstance(err, CupsUnavailable):
                        # Drop the broken connection; the next call (or the retry) makes a new one.
                        self._conn = None
                        if attempt + 1 < attempts:
                            log.info("CUPS connection lost, reconnecting: %s", err.message)
                            continue
                    fut.set_exception(err)
                    break
        self._conn = None

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._calls.put(_STOP)
        self._thread.join(timeout)

    def __enter__(self) -> CupsWorker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- printers ----------------------------------------------------------------------

    def list_printers(self, *, timeout: float | None = None) -> list[PrinterInfo]:
        def fn(conn: Any) -> list[PrinterInfo]:
            out = []
            for name in sorted(conn.getPrinters()):
                attrs = conn.getPrinterAttributes(name, requested_attributes=_PRINTER_ATTRS)
                out.append(_printer_info(name, attrs))
            return out

        return self._call(fn, retry=True, timeout=timeout)

    def queue_state(self, name: str, *, timeout: float | None = None) -> PrinterInfo:
        def fn(conn: Any) -> PrinterInfo:
            return _printer_info(name, conn.getPrinterAttributes(name, requested_attributes=_PRINTER_ATTRS))

        return self._call(fn, retry=True, timeout=timeout)

    def enable_queue(self, name: str, *, timeout: float | None = None) -> None:
        """Resume a paused queue and let it accept jobs again (cupsenable + cupsaccept)."""

        def fn(conn: Any) -> None:
            conn.enablePrinter(name)
            conn.acceptJobs(name)

        self._call(fn, retry=True, timeout=timeout)

    # --- jobs --------------------------------------------------------------------------

    def print_file(self, *, queue: str, path: Path | str, title: str, options: PrintOptions,
                   hold: bool = False, timeout: float | None = None) -> int:
        """Submit a file; returns the CUPS job id. ``hold`` keeps it until ``release_job``.

        Not retried on a broken connection: CUPS may have taken the job already, and a second
        submission would print twice. The caller decides (the job id is its correlation key).
        """
        cups_opts = to_cups_options(options, hold=hold)
        src = str(path)
        if not Path(src).is_file():
            raise CupsError(f"file to print does not exist: {src}")
        # Titles show up in queues and spool names; CUPS truncates at 255.
        safe_title = (title or Path(src).name)[:255]

        def fn(conn: Any) -> int:
            job_id = int(conn.printFile(queue, src, safe_title, cups_opts))
            if job_id <= 0:  # cupsPrintFile2 reports failure as job id 0
                raise CupsError(f"CUPS did not accept the job for queue {queue!r}")
            return job_id

        try:
            return self._call(fn, retry=False, timeout=timeout)
        except CupsError as exc:
            if isinstance(exc, CupsNotFound) or exc.status == 0x0500:
                raise CupsNotFound(f"queue {queue!r} does not exist or refused the file: {exc.message}",
                                   status=exc.status) from exc
            raise

    def job_status(self, job_id: int, *, timeout: float | None = None) -> CupsJobStatus:
        def fn(conn: Any) -> CupsJobStatus:
            attrs = conn.getJobAttributes(job_id, requested_attributes=_JOB_ATTRS)
            raw_imp = attrs.get("job-impressions-completed")
            return CupsJobStatus(
                job_id=job_id,
                state=_JOB_STATES.get(int(attrs.get("job-state", 3)), "pending"),
                reasons=_as_tuple(attrs.get("job-state-reasons")),
                impressions=int(raw_imp) if isinstance(raw_imp, int) else None,
                message=str(attrs.get("job-printer-state-message", "") or ""),
            )

        try:
            return self._call(fn, retry=True, timeout=timeout)
        except CupsNotFound as exc:
            raise CupsNotFound(f"CUPS job {job_id} not found (purged from history?)",
                               status=exc.status) from exc

    def job_attributes(self, job_id: int, *, timeout: float | None = None) -> dict[str, Any]:
        """Every attribute CUPS holds for the job (diagnostics, tests)."""
        return self._call(lambda conn: dict(conn.getJobAttributes(job_id)), retry=True, timeout=timeout)

    def cancel(self, job_id: int, *, timeout: float | None = None) -> None:
        """Cancel a job. Cancelling a job that already ended raises ``CupsError`` saying so."""

        def fn(conn: Any) -> None:
            conn.cancelJob(job_id)

        try:
            self._call(fn, retry=True, timeout=timeout)
        except CupsError as exc:
            if exc.status == _IPP_NOT_POSSIBLE:
                raise CupsError(f"CUPS job {job_id} cannot be canceled (already finished)",
                                status=exc.status) from exc
            raise

    def release_job(self, job_id: int, *, timeout: float | None = None) -> None:
        """Let a job submitted with ``hold=True`` print now."""
        self._call(lambda conn: conn.setJobHoldUntil(job_id, "no-hold"), retry=True, timeout=timeout)
