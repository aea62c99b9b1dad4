"""Print benchmarks against a hub running as its own process (`officehub serve`, embedded broker):

- submit → box has the job: POST /api/v1/print/jobs until a real print-box agent's ``print_job``
  handler runs (simulated printer, real hub + broker + command path), p95 over 200 jobs;
- a 100 MB PDF upload: the hub process's RSS growth (sampled every 20 ms) while it streams to disk.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject

from devices.print_box.agent import PrintBox
from firmware_sim.adapters import SimulatedPrinter
from firmware_sim.print_backend import SimPrintBackend
from tests.fixtures.brokers import free_port, wait_port

PASSWORD = "bench-admin-password"


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    http, mqtt = free_port(), free_port()
    env = {**os.environ, "OFFICEHUB_MODE": "demo", "OFFICEHUB_ADMIN_PASSWORD": PASSWORD,
           "OFFICEHUB_PUBLIC_URL": f"http://127.0.0.1:{http}", "OFFICEHUB_PRINT_MAX_UPLOAD_MB": "200"}
    exe = str(Path(sys.executable).with_name("officehub"))
    proc = subprocess.Popen([exe, "serve", "--data-dir", str(data_dir), "--port", str(http),
                             "--broker-port", str(mqtt)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(http, timeout=60)
    return proc, f"http://127.0.0.1:{http}", f"mqtt://127.0.0.1:{mqtt}"


def _big_pdf(size_mb: int) -> bytes:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    blob = DecodedStreamObject()
    blob.set_data(os.urandom(size_mb * 1024 * 1024))
    w._add_object(blob)  # an unreferenced stream: size without pages
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _small_pdf() -> bytes:
    w = PdfWriter()
    w.add_blank_page(595, 842)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def bench_print(jobs: int = 200, big_mb: int = 100) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="print-bench-") as tmp:
        proc, url, broker = _serve(Path(tmp) / "hub")
        printer = SimulatedPrinter(name="bench-laser")
        backend = SimPrintBackend([printer], job_s=0.05)
        box = PrintBox(device_id="bench-printbox", broker_url=broker, workdir=Path(tmp) / "box", printers=backend,
                       backend=backend, refresh_s=0.5, poll_s=0.5)
        arrived: dict[str, float] = {}
        assert box.jobs is not None
        take = box.jobs.on_print_job

        def timed(raw: dict[str, Any]) -> dict[str, Any]:
            arrived.setdefault(str(raw["job_id"]), time.perf_counter())
            return take(raw)

        box.agent.on_command("print_job", timed)
        box.start()
        try:
            with httpx.Client(base_url=url, timeout=120) as c:
                token = c.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD}).json()
                h = {"Authorization": f"Bearer {token['access_token']}"}
                deadline = time.monotonic() + 60
                while not c.get("/api/v1/printers", headers=h).json() and time.monotonic() < deadline:
                    time.sleep(0.2)
                pdf, sent = _small_pdf(), {}
                for _ in range(jobs):
                    t0 = time.perf_counter()
                    res = c.post("/api/v1/print/jobs", headers=h, files={"file": ("b.pdf", pdf, "application/pdf")},
                                 data={"printer": "bench-printbox/bench-laser"})
                    res.raise_for_status()
                    sent[res.json()["id"]] = t0
                    jid = res.json()["id"]
                    end = time.monotonic() + 10
                    while jid not in arrived and time.monotonic() < end:
                        time.sleep(0.001)
                lat = sorted((arrived[j] - t0) * 1000 for j, t0 in sent.items() if j in arrived)
                hub = psutil.Process(proc.pid)
                big = _big_pdf(big_mb)
                base = hub.memory_info().rss
                peak, stop = [base], threading.Event()

                def sample() -> None:
                    while not stop.is_set():
                        peak.append(hub.memory_info().rss)
                        time.sleep(0.02)

                t = threading.Thread(target=sample, daemon=True)
                t.start()
                res = c.post("/api/v1/print/jobs", headers=h, files={"file": ("big.pdf", big, "application/pdf")},
                             data={"printer": "bench-printbox/bench-laser", "hold": "true"})
                stop.set()
                t.join()
                return {"jobs": jobs, "delivered": len(lat), "p50_ms": round(statistics.median(lat), 1),
                        "p95_ms": round(lat[int(len(lat) * 0.95) - 1], 1), "big_upload_status": res.status_code,
                        "big_mb": round(len(big) / 1048576, 1),
                        "rss_growth_mb": round((max(peak) - base) / 1048576, 1)}
        finally:
            box.stop()
            proc.terminate()
            proc.wait(30)
