"""Face engine throughput: identify/verify through a running hub with 1 client vs 4 concurrent
clients, side by side with the naive face_recognition call in one process (issue 9).

The hub runs as a real process (``officehub serve``) with its face worker pool (one worker per core);
clients post the dataset's probe photos over HTTP. The baseline decodes and runs
``face_locations`` + ``face_encodings`` in this process, one photo after another, which is what a
single-process server without workers could do at best. Target: 4 clients ≥ 1.6 × the single
client's throughput on 2 cores.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from facecore.images import decode_image
from facecore.pipeline import naive_analyze
from tests.fixtures.brokers import MosquittoBroker
from tests.fixtures.face import images
from tests.fixtures.hub import ADMIN_PASSWORD
from tests.fixtures.hub_process import HubProcess


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def _round(*, base: str, headers: dict[str, str], photos: list[bytes], clients: int, kind: str,
           seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
            n = offset
            while time.monotonic() < deadline:
                n += 1
                a, b = photos[n % len(photos)], photos[(n + 3) % len(photos)]
                t0 = time.perf_counter()
                if kind == "identify":
                    res = http.post("/api/v1/recognition/identify", files={"file": ("p.jpg", a)})
                else:
                    res = http.post("/api/v1/recognition/verify", files={"file1": ("a.jpg", a), "file2": ("b.jpg", b)})
                with lock:
                    statuses[res.status_code] = statuses.get(res.status_code, 0) + 1
                    if res.status_code == 200:
                        latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    return {"req_per_s": round(len(latencies) / elapsed, 2), "p95_ms": round(_p95(latencies), 1) if latencies else None,
            "median_ms": round(statistics.median(latencies), 1) if latencies else None, "statuses": statuses}


def _naive(photos: list[bytes], *, seconds: float, faces_per_request: int) -> dict[str, Any]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    n = 0
    while time.monotonic() < deadline:
        start = time.perf_counter()
        for i in range(faces_per_request):
            naive_analyze(decode_image(photos[(n + i * 3) % len(photos)]))
        latencies.append((time.perf_counter() - start) * 1000)
        n += 1
    elapsed = time.monotonic() - t0
    return {"req_per_s": round(len(latencies) / elapsed, 2), "p95_ms": round(_p95(latencies), 1),
            "median_ms": round(statistics.median(latencies), 1)}


def bench_face_engine(seconds: float = 20.0) -> dict[str, Any]:
    photos = [p.read_bytes() for p in images("probe") if "partial" not in p.name]
    out: dict[str, Any] = {"photos": len(photos), "seconds_per_round": seconds}
    with tempfile.TemporaryDirectory(prefix="officehub-face-bench-") as tmp:
        (Path(tmp) / "mosq").mkdir()
        broker = MosquittoBroker(Path(tmp) / "mosq")
        broker.start()
        hub = HubProcess(workdir=Path(tmp), broker_url=broker.url, db_url=f"sqlite:///{tmp}/hub.db",
                         extra_env={"OFFICEHUB_FACE_QUEUE_LIMIT": "16"})
        try:
            hub.start()
            token = httpx.post(f"{hub.base_url}/api/v1/auth/token",
                               data={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            health = httpx.get(f"{hub.base_url}/healthz").json()["face_engine"]
            out["face_workers"] = health["workers"]
            # Warm-up: every worker has loaded its models before anything is timed.
            _round(base=hub.base_url, headers=headers, photos=photos, clients=4, kind="identify", seconds=3)
            for kind in ("identify", "verify"):
                one = _round(base=hub.base_url, headers=headers, photos=photos, clients=1, kind=kind,
                             seconds=seconds)
                four = _round(base=hub.base_url, headers=headers, photos=photos, clients=4, kind=kind,
                              seconds=seconds)
                naive = _naive(photos, seconds=seconds, faces_per_request=1 if kind == "identify" else 2)
                out[f"{kind}_1_client_req_per_s"] = one["req_per_s"]
                out[f"{kind}_1_client_p95_ms"] = one["p95_ms"]
                out[f"{kind}_4_clients_req_per_s"] = four["req_per_s"]
                out[f"{kind}_4_clients_p95_ms"] = four["p95_ms"]
                out[f"{kind}_naive_in_process_req_per_s"] = naive["req_per_s"]
                out[f"{kind}_naive_in_process_p95_ms"] = naive["p95_ms"]
                out[f"{kind}_ratio_4_vs_1"] = round(four["req_per_s"] / one["req_per_s"], 2) if one["req_per_s"] else 0
                out[f"{kind}_statuses_4_clients"] = four["statuses"]
            out["face_engine_after"] = httpx.get(f"{hub.base_url}/healthz").json()["face_engine"]
        finally:
            hub.stop()
            broker.stop()
    return out
