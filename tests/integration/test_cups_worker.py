"""CupsWorker against real CUPS and an ippeveprinter that keeps every document it receives."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from devices.print_box.cups_options import InvalidPrintOptions, PrintOptions
from devices.print_box.cups_worker import (
    CupsError,
    CupsJobStatus,
    CupsNotFound,
    CupsUnavailable,
    CupsWorker,
)
from tests.fixtures.brokers import free_port
from tests.fixtures.cups import CupsTestPrinter, tool

pytestmark = pytest.mark.cups


def make_pdf(path: Path, pages: int) -> Path:
    c = canvas.Canvas(str(path))
    for i in range(pages):
        c.drawString(100, 700, f"OfficeHub test page {i + 1} of {pages}")
        c.showPage()
    c.save()
    return path


def title() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def wait_for(worker: CupsWorker, job_id: int, states: set[str], limit: float = 90) -> CupsJobStatus:
    """Follow a job until it reaches one of ``states`` (a deadline against hangs, not a speed check)."""
    deadline = time.monotonic() + limit
    status = worker.job_status(job_id)
    while status.state not in states:
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck in {status}")
        time.sleep(0.25)
        status = worker.job_status(job_id)
    return status


def ippeve_job_attrs(printer: CupsTestPrinter, ippeve_job_id: int) -> str:
    """Ask ippeveprinter itself (not CUPS) what the job it received looked like."""
    test = printer.workdir / f"get-job-{ippeve_job_id}.test"
    test.write_text(f"""{{
  OPERATION Get-Job-Attributes
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id {ippeve_job_id}
  ATTR name requesting-user-name root
  ATTR keyword requested-attributes all
  STATUS successful-ok
}}
""")
    res = subprocess.run([tool("ipptool"), "-tv", printer.ipp_uri, str(test)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


@pytest.fixture
def worker() -> Iterator[CupsWorker]:
    w = CupsWorker()
    yield w
    w.close()


def test_list_printers_reports_the_queue(worker: CupsWorker, cups_printer: CupsTestPrinter) -> None:
    printers = {p.name: p for p in worker.list_printers()}
    info = printers[cups_printer.queue]
    assert info.accepting is True
    assert info.state in ("idle", "processing")
    assert "IPP Everywhere" in info.make_model
    assert worker.queue_state(cups_printer.queue).name == cups_printer.queue


def test_duplex_copies_ranges_reach_the_printer(worker: CupsWorker, cups_printer: CupsTestPrinter,
                                                tmp_path: Path) -> None:
    doc = make_pdf(tmp_path / "three.pdf", 3)
    name = title()
    opts = PrintOptions(copies=2, duplex=True, color=False, page_ranges="1-2", media="iso_a4_210x297mm")
    job_id = worker.print_file(queue=cups_printer.queue, path=doc, title=name, options=opts)
    assert job_id > 0

    status = wait_for(worker, job_id, {"completed", "aborted", "canceled"})
    assert status.state == "completed", status

    cups_attrs = worker.job_attributes(job_id)
    assert cups_attrs["copies"] == 2
    assert cups_attrs["sides"] == "two-sided-long-edge"
    assert cups_attrs["page-ranges"] == (1, 2)
    assert cups_attrs["media"] == "iso_a4_210x297mm"
    assert cups_attrs["print-color-mode"] == "monochrome"

    spooled = cups_printer.spooled_file_named(name)
    assert spooled is not None, cups_printer.spooled_files()
    assert spooled.suffix == ".pdf"
    # CUPS applies page-ranges itself (pdftopdf) and hands copies/sides to the printer.
    assert len(PdfReader(spooled).pages) == 2
    ippeve = ippeve_job_attrs(cups_printer, int(spooled.name.split("-", 1)[0]))
    assert "copies (integer) = 2" in ippeve
    assert "sides (keyword) = two-sided-long-edge" in ippeve
    assert "job-completed-successfully" in ippeve


def test_paused_queue_keeps_job_pending_until_enabled(worker: CupsWorker, own_cups_printer: CupsTestPrinter,
                                                      tmp_path: Path) -> None:
    own_cups_printer.pause()
    assert worker.queue_state(own_cups_printer.queue).state == "stopped"
    name = title()
    job_id = worker.print_file(queue=own_cups_printer.queue, path=make_pdf(tmp_path / "a.pdf", 1),
                               title=name, options=PrintOptions())
    status = worker.job_status(job_id)
    assert status.state == "pending"
    assert own_cups_printer.spooled_file_named(name) is None

    worker.enable_queue(own_cups_printer.queue)
    assert wait_for(worker, job_id, {"completed", "aborted"}).state == "completed"
    assert own_cups_printer.spooled_file_named(name) is not None
    info = worker.queue_state(own_cups_printer.queue)
    assert info.state != "stopped" and info.accepting


def test_cancel_a_waiting_job(worker: CupsWorker, own_cups_printer: CupsTestPrinter, tmp_path: Path) -> None:
    own_cups_printer.pause()
    name = title()
    job_id = worker.print_file(queue=own_cups_printer.queue, path=make_pdf(tmp_path / "c.pdf", 2),
                               title=name, options=PrintOptions(copies=3))
    worker.cancel(job_id)
    assert worker.job_status(job_id).state == "canceled"
    with pytest.raises(CupsError, match="cannot be canceled"):
        worker.cancel(job_id)
    worker.enable_queue(own_cups_printer.queue)
    # A later job printing proves the canceled one was skipped, not merely delayed.
    later = worker.print_file(queue=own_cups_printer.queue, path=make_pdf(tmp_path / "d.pdf", 1),
                              title=title(), options=PrintOptions())
    assert wait_for(worker, later, {"completed", "aborted"}).state == "completed"
    assert own_cups_printer.spooled_file_named(name) is None


def test_held_job_prints_after_release(worker: CupsWorker, cups_printer: CupsTestPrinter,
                                       tmp_path: Path) -> None:
    name = title()
    job_id = worker.print_file(queue=cups_printer.queue, path=make_pdf(tmp_path / "h.pdf", 1),
                               title=name, options=PrintOptions(), hold=True)
    status = worker.job_status(job_id)
    assert status.state == "held"
    assert "job-hold-until-specified" in status.reasons
    worker.release_job(job_id)
    assert wait_for(worker, job_id, {"completed", "aborted"}).state == "completed"
    assert cups_printer.spooled_file_named(name) is not None


def test_unreachable_printer_keeps_the_job_until_it_returns(worker: CupsWorker,
                                                            own_cups_printer: CupsTestPrinter,
                                                            tmp_path: Path) -> None:
    own_cups_printer.stop_printer()
    name = title()
    job_id = worker.print_file(queue=own_cups_printer.queue, path=make_pdf(tmp_path / "u.pdf", 1),
                               title=name, options=PrintOptions())
    status = wait_for(worker, job_id, {"processing", "stopped", "aborted", "completed"})
    assert status.state in ("processing", "stopped"), status  # waiting, not failed
    own_cups_printer.start_printer()
    worker.enable_queue(own_cups_printer.queue)  # in case CUPS stopped the queue meanwhile
    assert wait_for(worker, job_id, {"completed", "aborted"}, limit=180).state == "completed"
    assert own_cups_printer.spooled_file_named(name) is not None


def test_clear_errors(worker: CupsWorker, cups_printer: CupsTestPrinter, tmp_path: Path) -> None:
    doc = make_pdf(tmp_path / "e.pdf", 1)
    with pytest.raises(CupsNotFound, match="no-such-queue"):
        worker.print_file(queue="no-such-queue", path=doc, title="x", options=PrintOptions())
    with pytest.raises(CupsNotFound, match="not found"):
        worker.job_status(999_999)
    with pytest.raises(CupsError, match="does not exist"):
        worker.print_file(queue=cups_printer.queue, path=tmp_path / "missing.pdf", title="x",
                          options=PrintOptions())
    with pytest.raises(InvalidPrintOptions, match="page ranges"):
        worker.print_file(queue=cups_printer.queue, path=doc, title="x",
                          options=PrintOptions(page_ranges="1-2;5"))
    # The worker survives errors: the next call works.
    assert cups_printer.queue in {p.name for p in worker.list_printers()}


def test_unreachable_cupsd_is_a_typed_error() -> None:
    with CupsWorker(host="127.0.0.1", port=free_port(), call_timeout=60) as w, \
            pytest.raises(CupsUnavailable, match="cannot connect to CUPS"):
        w.list_printers()


class _Forwarder:
    """A TCP forwarder to cupsd that the test can cut, to break the worker's connection for real."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []

    def start(self) -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True).start()

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", 631))
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._server is not None:
            # shutdown() wakes the accept() thread; close() alone leaves the port listening on Linux.
            with contextlib.suppress(OSError):
                self._server.shutdown(socket.SHUT_RDWR)
            self._server.close()
            self._server = None
        for s in self._conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self._conns.clear()


def test_worker_reconnects_after_the_connection_breaks(cups_printer: CupsTestPrinter) -> None:
    fwd = _Forwarder(free_port())
    fwd.start()
    try:
        with CupsWorker(host="127.0.0.1", port=fwd.port) as w:
            assert cups_printer.queue in {p.name for p in w.list_printers()}
            fwd.stop()
            with pytest.raises(CupsUnavailable):
                w.queue_state(cups_printer.queue)
            fwd.start()
            assert w.queue_state(cups_printer.queue).name == cups_printer.queue
    finally:
        fwd.stop()
