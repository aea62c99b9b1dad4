"""Fleet size: 2,000 simulated devices connected and heartbeating to one hub.

A private Mosquitto (DESIGN §9 settings) and the hub (real runtime + HTTP API under uvicorn) run in
this process's reach; the 2,000 devices run in ONE separate ``python -m firmware_sim`` process on the
shared epoll network loop. We measure the time until the hub's registry shows all of them online,
sample the online count every second over several heartbeat intervals (it must stay exact), time
``GET /api/v1/devices`` with filters meanwhile (p50/p95), and check that a graceful stop of the fleet
brings the count back to exactly zero.
"""

from __future__ import annotations

import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, insert, select

from hub.api.app import create_app, ensure_admin
from hub.db.models.core import Device
from hub.db.models.fleet import DeviceTag, FleetDevice
from hub.features import FEATURES
from hub.runtime import HubRuntime, build_runtime
from hub.settings import load_settings
from tests.fixtures.brokers import MosquittoBroker, free_port, wait_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_PASSWORD = "bench-admin-password"
GROUPS = 10


def _raise_nofile(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def _online(rt: HubRuntime) -> int:
    with rt.sessions() as s:
        return int(s.execute(select(func.count()).select_from(Device).where(Device.online.is_(True))).scalar_one())


def _label_fleet(rt: HubRuntime) -> None:
    """Groups, locations and tags for the filters (written in bulk: the bench times queries, not PATCHes)."""
    with rt.sessions() as s:
        ids = sorted(s.execute(select(Device.id)).scalars())
        s.execute(insert(FleetDevice), [
            {"device_id": d, "group": f"floor-{i % GROUPS}", "location": f"building-{i % 3}",
             "tags": ["lobby"] if i % 7 == 0 else [], "config_overrides": {}, "desired_config": {},
             "config_version": 0, "offline_alerted": False} for i, d in enumerate(ids)])
        s.execute(insert(DeviceTag), [{"device_id": d, "tag": "lobby"} for i, d in enumerate(ids) if i % 7 == 0])
        s.commit()


def _serve(rt: HubRuntime, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), host="127.0.0.1", port=port,
                                          log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, name="bench-uvicorn", daemon=True).start()
    wait_port(port, timeout=15)
    return server


def _api_latency(base: str, requests: int) -> tuple[list[float], int]:
    filters: list[dict[str, Any]] = [
        {"group": "floor-3"}, {"kind": "door_terminal", "online": "true", "limit": 100},
        {"tag": "lobby"}, {"q": "printbox-01"}, {"location": "building-1", "kind": "print_box"},
        {"online": "false"}, {"group": "floor-7", "tag": "lobby"}, {"limit": 50, "offset": 1000},
    ]
    times: list[float] = []
    items = 0
    with httpx.Client(base_url=base, timeout=30) as c:
        token = c.post("/api/v1/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for i in range(requests):
            t0 = time.perf_counter()
            res = c.get("/api/v1/devices", params=filters[i % len(filters)], headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            res.raise_for_status()
            items += len(res.json()["items"])
    return times, items


def bench_fleet(doors: int = 1600, printboxes: int = 400, heartbeat_s: float = 15, observe_s: float = 60,
                requests: int = 300) -> dict[str, Any]:
    devices = doors + printboxes
    nofile = _raise_nofile(4 * devices + 4096)  # the broker and the sim inherit it
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as d:
        tmp = Path(d)
        (tmp / "mosq").mkdir()
        broker = MosquittoBroker(tmp / "mosq", persistence=False)
        broker.start()
        port = free_port()
        settings = load_settings(mode="demo", data_dir=tmp / "hub", broker_url=broker.url, http_port=port,
                                 admin_password=ADMIN_PASSWORD, hub_client_id="bench-hub",
                                 device_offline_after_s=heartbeat_s * 3)
        rt = build_runtime(settings, features=FEATURES)
        ensure_admin(rt)
        rt.start()
        server = _serve(rt, port)
        sim: subprocess.Popen[bytes] | None = None
        try:
            t0 = time.monotonic()
            sim = subprocess.Popen([sys.executable, "-m", "firmware_sim", "--doors", str(doors), "--printboxes",
                                    str(printboxes), "--broker", broker.url, "--heartbeat-s", str(heartbeat_s),
                                    "--workdir", str(tmp / "sim")], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
            deadline = t0 + 300
            while _online(rt) < devices and time.monotonic() < deadline and sim.poll() is None:
                time.sleep(0.25)
            all_online_s = time.monotonic() - t0
            if _online(rt) < devices:
                err = sim.stderr.read().decode()[-2000:] if sim.poll() is not None and sim.stderr else ""
                raise RuntimeError(f"only {_online(rt)}/{devices} online after {all_online_s:.0f}s {err}")
            _label_fleet(rt)
            sim_threads = _threads(sim.pid)
            samples: list[int] = []
            latencies: list[float] = []
            items = 0
            end = time.monotonic() + observe_s
            while time.monotonic() < end:
                samples.append(_online(rt))
                lat, n = _api_latency(f"http://127.0.0.1:{port}", max(1, requests // max(1, int(observe_s))))
                latencies += lat
                items += n
                time.sleep(max(0.0, 1.0 - sum(lat) / 1000))
            heartbeats_seen = _heartbeat_span(rt, heartbeat_s)
            t_stop = time.monotonic()
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=120)
            sim = None
            while _online(rt) > 0 and time.monotonic() - t_stop < 60:
                time.sleep(0.25)
            after_stop = _online(rt)
            q = statistics.quantiles(latencies, n=20)
            return {
                "devices": devices, "processes_for_devices": 1, "sim_process_threads": sim_threads,
                "nofile_limit": nofile, "heartbeat_s": heartbeat_s,
                "time_to_all_online_s": round(all_online_s, 1),
                "online_min": min(samples), "online_max": max(samples), "online_samples": len(samples),
                "observed_s": observe_s, "devices_heard_in_last_heartbeat_window": heartbeats_seen,
                "api_requests": len(latencies), "api_items_returned": items,
                "api_p50_ms": round(statistics.median(latencies), 1), "api_p95_ms": round(q[18], 1),
                "api_max_ms": round(max(latencies), 1),
                "online_after_graceful_stop": after_stop,
                "offline_after_stop_s": round(time.monotonic() - t_stop, 1),
            }
        finally:
            if sim is not None:
                sim.kill()
                sim.wait()
            server.should_exit = True
            time.sleep(0.5)
            rt.stop()
            broker.stop()


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def _heartbeat_span(rt: HubRuntime, heartbeat_s: float) -> int:
    """Devices whose last_seen is within the last 1.5 heartbeat intervals (i.e. still heartbeating)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=heartbeat_s * 1.5)
    with rt.sessions() as s:
        return int(s.execute(select(func.count()).select_from(Device).where(Device.last_seen >= cutoff)).scalar_one())
