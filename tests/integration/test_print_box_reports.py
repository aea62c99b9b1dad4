"""A print box reports only what CUPS confirmed: a real job runner, a real CUPS queue and its
ippeveprinter. The runner's follower is driven by hand (``_tick``) so each test sees one step."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devices.print_box.backend import CupsBackend
from devices.print_box.cups_options import PrintOptions
from devices.print_box.cups_worker import CupsWorker
from devices.print_box.jobs import JobRunner
from devices.runtime import CommandUnsupported, DeviceAgent
from protocol.payloads import DeviceKind
from tests.fixtures.brokers import MosquittoBroker, unique_id
from tests.fixtures.cups import CupsTestPrinter
from tests.integration.print_helpers import make_pdf
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cups


class Box:
    """A print box's agent and job runner, the runner's timer not started."""

    def __init__(self, broker_url: str, workdir: Path) -> None:
        self.worker = CupsWorker()
        self.backend = CupsBackend(self.worker)
        self.agent = DeviceAgent(device_id=unique_id("rbox"), kind=DeviceKind.PRINT_BOX, model="test",
                                 firmware="1.0", broker_url=broker_url, workdir=workdir, capabilities=["print"])
        self.runner = JobRunner(agent=self.agent, backend=self.backend, workdir=workdir, poll_s=3600)
        self.agent.start()

    def reports(self, job_id: str) -> list[dict[str, Any]]:
        """Every ``print_job`` event emitted for the job, in order (nobody acks them: all still queued)."""
        return [e.data for e in self.agent.outbox.pending(10_000)
                if e.type == "print_job" and e.data["job_id"] == job_id]

    def hand_to_cups(self, *, queue: str, job_id: str, pdf: Path) -> int:
        """What the runner does once the document is downloaded: submit, remember the CUPS id."""
        cups_id = self.backend.submit(queue=queue, path=pdf, title=job_id, options=PrintOptions())
        self.runner.ledger.claim(job_id, queue)
        self.runner.ledger.update(job_id, state="sent", cups_job_id=cups_id)
        return cups_id

    def close(self) -> None:
        self.runner.stop()
        self.agent.stop()
        self.worker.close()


@pytest.fixture
def box(mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[Box]:
    b = Box(mosquitto.url, tmp_path / "box")
    yield b
    b.close()


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_pdf(1))
    return path


def test_a_job_cups_forgot_is_not_reported_completed(box: Box, own_cups_printer: CupsTestPrinter,
                                                     pdf: Path) -> None:
    """The printer is off, so CUPS keeps the job processing; then the job is purged from CUPS. Nothing
    confirmed it printed: the box reports it failed (outcome unknown), not completed."""
    own_cups_printer.stop_printer()
    job_id = unique_id("lost")
    cups_id = box.hand_to_cups(queue=own_cups_printer.queue, job_id=job_id, pdf=pdf)
    wait_for(lambda: box.backend.status(cups_id).state == "processing", timeout=60, what="CUPS job processing")
    box.runner._tick()
    assert box.reports(job_id)[-1]["state"] == "printing"
    # `cancel -x`: the first purge cancels the active job, the second drops it from CUPS' history.
    for _ in range(2):
        box.worker.submit(lambda conn: conn.cancelJob(cups_id, purge_job=True)).result(timeout=30)

    box.runner._tick()
    last = box.reports(job_id)[-1]
    assert last["state"] == "failed", last
    assert last["error_code"] == "cups_job_lost" and "whether it printed is unknown" in last["message"]
    entry = box.runner.ledger.get(job_id)
    assert entry is not None and entry.state == "failed"
    assert own_cups_printer.spooled_file_named(job_id) is None


def test_canceling_a_job_cups_already_finished_says_so(box: Box, cups_printer: CupsTestPrinter,
                                                       pdf: Path) -> None:
    job_id = unique_id("done")
    cups_id = box.hand_to_cups(queue=cups_printer.queue, job_id=job_id, pdf=pdf)
    wait_for(lambda: box.backend.status(cups_id).state == "completed", timeout=90, what="CUPS job completed")

    answer = box.runner.on_cancel({"job_id": job_id})
    assert answer == {"job_id": job_id, "canceled": False, "cups_state": "completed"}, answer
    box.runner._tick()
    assert [r["state"] for r in box.reports(job_id)] == ["completed"]
    assert cups_printer.spooled_file_named(job_id) is not None


class _SlowDocument:
    """Serves a PDF only once ``release`` is set: the box is still downloading until then."""

    def __init__(self, data: bytes) -> None:
        self.requested, self.release = threading.Event(), threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requested.set()
                outer.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/doc.pdf"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_job_canceled_while_downloading_never_reaches_cups(box: Box, cups_printer: CupsTestPrinter) -> None:
    data = make_pdf(1)
    doc = _SlowDocument(data)
    job_id = unique_id("dl")
    offer = {"job_id": job_id, "url": doc.url, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
             "filename": "doc.pdf", "queue": cups_printer.queue}
    try:
        assert box.runner.on_print_job(offer)["accepted"] is True
        assert doc.requested.wait(30)
        assert box.runner.on_cancel({"job_id": job_id}) == {"job_id": job_id, "canceled": True}
        doc.release.set()
        wait_for(lambda: job_id not in box.runner._running, what="the download finished")
    finally:
        doc.close()
    assert box.runner.submitted == 0 and box.backend.find_job(job_id) is None
    assert [r["state"] for r in box.reports(job_id)] == ["canceled"]
    # The hub offering it again (a resend, a catch-up) gets the truth, not "sent".
    assert box.runner.on_print_job(offer)["duplicate"] is True
    assert [r["state"] for r in box.reports(job_id)] == ["canceled", "canceled"]
    assert box.backend.find_job(job_id) is None
    # Nothing is held at the box, so a release is not "ok".
    with pytest.raises(CommandUnsupported, match="nothing was released"):
        box.runner.on_release({"job_id": job_id})
