"""Morning rush: 5,000 check-ins from 20 simulated door terminals in 10 simulated minutes, through
the real MQTT path (own Mosquitto, hub with SQLite, the same devices/ code as real terminals).

What is measured (say it plainly, because 5,000 dlib encodings at ~100 ms would take 8+ minutes of
CPU on 2 cores):
- rush (edge mode): each terminal holds the synced 5,000-person gallery; a check-in presents a
  precomputed encoding (a synthetic person + noise), the terminal matches 1:N locally, opens its
  simulated lock and emits a punch event; the hub re-verifies every encoding 1:N against its own
  gallery and records the punch. Door decision latency = presenting the encoding -> lock decision at
  the terminal. Also reported: punch event -> punch row at the hub (device ts to recorded_at).
- thin sample: real dataset probes sent as JPEG over ``req/identify`` from one terminal; the hub
  decodes, detects, encodes and matches; latency = request sent -> response at the terminal.
Simulated time runs ``speedup`` times faster than wall time (default 20: 10 min in 30 s).

``python -m bench.checkin_bench`` prints the figures.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from facecore.images import load_image_file
from firmware_sim.fleet import SimFleet
from hub.db.models.attendance import PunchRejection, PunchRow
from hub.db.models.people import Employee
from hub.db.session import transaction
from hub.features import FEATURES
from hub.runtime import HubRuntime, build_runtime
from hub.services.face.enrolment import enrol
from hub.services.face.gallery import NewTemplate
from hub.services.face.service import FACE, FaceService
from hub.settings import load_settings
from tests.fixtures.brokers import MosquittoBroker

FACES = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "faces"
if not FACES.is_dir():
    FACES = Path("/work/shared/datasets/faces")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def _synthetic_people(rt: HubRuntime, n: int, rng: np.random.Generator) -> dict[int, np.ndarray]:
    face: FaceService = rt.services.get(FACE)
    vecs = rng.normal(size=(n, 128)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)  # random unit vectors: ~1.41 apart
    with transaction(rt.sessions) as s:
        emps = [Employee(employee_no=f"R{i:05d}", name=f"Rush {i}", active=True) for i in range(n)]
        s.add_all(emps)
        s.flush()
        rows = []
        for emp, vec in zip(emps, vecs, strict=True):
            rows += face.gallery.add(s, employee_id=emp.id, templates=[NewTemplate(vec, 120, 100.0)], actor="bench")
        ids = [e.id for e in emps]
    face.gallery.apply_added(rows, list(vecs))
    return dict(zip(ids, vecs, strict=True))


def _enrol_dataset(rt: HubRuntime) -> None:
    face: FaceService = rt.services.get(FACE)
    for folder in sorted((FACES / "enroll").iterdir()):
        with transaction(rt.sessions) as s:
            emp = Employee(employee_no=f"D-{folder.name}", name=folder.name, active=True)
            s.add(emp)
            s.flush()
            emp_id = emp.id
        enrol(sessions=rt.sessions, engine=face.engine, gallery=face.gallery, employee_id=emp_id,
              photos=[p.read_bytes() for p in sorted(folder.iterdir())], actor="bench", photo_dir=None)


def _rush(fleet: SimFleet, people: dict[int, np.ndarray], *, total: int, sim_minutes: float, speedup: float,
          seed: int) -> tuple[list[float], int, int]:
    rng = random.Random(seed)
    ids = list(people)
    rng.shuffle(ids)
    chosen = (ids * (total // len(ids) + 1))[:total]
    noise = np.random.default_rng(seed)
    # Arrivals peak in the middle of the window (triangular), like a real morning.
    plan: list[list[tuple[float, int]]] = [[] for _ in fleet.doors]
    for emp in chosen:
        at = rng.triangular(0, sim_minutes * 60, sim_minutes * 30) / speedup
        plan[rng.randrange(len(fleet.doors))].append((at, emp))
    latencies: list[float] = []
    opened = refused = 0
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def drive(i: int) -> None:
        nonlocal opened, refused
        door = fleet.doors[i]
        assert door.face is not None
        for at, emp in sorted(plan[i]):
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            probe = people[emp] + noise.normal(scale=0.02, size=128).astype(np.float32)
            result = door.face.present_encoding(probe)
            with lock:
                latencies.append(result.latency_s)
                if result.opened and result.employee_id == str(emp):
                    opened += 1
                else:
                    refused += 1

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(fleet.doors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, opened, refused


def _thin_sample(fleet: SimFleet, rounds: int) -> tuple[list[float], int, int]:
    probes = sorted(p for p in (FACES / "probe").rglob("*") if p.suffix in {".jpg", ".png"})
    frames = [(p.parent.name, load_image_file(p)) for p in probes]
    door = fleet.doors[0]
    lat: list[float] = []
    ok = bad = 0
    for _ in range(rounds):
        for _person, rgb in frames:
            t0 = time.perf_counter()
            result = fleet.see(door, rgb)
            lat.append(time.perf_counter() - t0)
            ok += result.opened
            bad += not result.opened
    return lat, ok, bad


def bench_morning_rush(*, total: int = 5000, terminals: int = 20, sim_minutes: float = 10.0,
                       speedup: float = 20.0, thin_rounds: int = 2, seed: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="rush-") as d:
        work = Path(d)
        broker = MosquittoBroker(work / "mosq", persistence=False)
        broker.workdir.mkdir()
        broker.start()
        rt = build_runtime(load_settings(mode="demo", data_dir=work / "hub", broker_url=broker.url,
                                         hub_client_id="bench-hub", snapshot_retention_days=0), features=FEATURES)
        rt.start()
        edge = thin = None
        try:
            assert rt.mqtt.wait_connected(15)
            t0 = time.monotonic()
            people = _synthetic_people(rt, total, np.random.default_rng(seed))
            _enrol_dataset(rt)
            enrol_s = time.monotonic() - t0
            edge = SimFleet(broker_url=broker.url, doors=terminals, printboxes=0, seed=seed, workdir=work / "edge",
                            id_prefix="rush-", face_mode="edge", heartbeat_s=30)
            thin = SimFleet(broker_url=broker.url, doors=1, printboxes=0, seed=seed + 1, workdir=work / "thin",
                            id_prefix="thin-", face_mode="thin", heartbeat_s=30)
            t0 = time.monotonic()
            edge.start()
            thin.start()
            assert edge.wait_connected(30) and thin.wait_connected(30)
            assert edge.wait_gallery_synced(300), "edge terminals did not sync their galleries"
            sync_s = time.monotonic() - t0
            t0 = time.monotonic()
            latencies, opened, refused = _rush(edge, people, total=total, sim_minutes=sim_minutes, speedup=speedup,
                                               seed=seed)
            rush_s = time.monotonic() - t0

            def recorded() -> int:
                with rt.sessions() as s:
                    return int(s.execute(select(func.count()).select_from(PunchRow).where(
                        PunchRow.mode == "edge")).scalar_one())

            deadline = time.monotonic() + 300
            while recorded() < opened and time.monotonic() < deadline:
                time.sleep(0.5)
            drain_s = time.monotonic() - t0 - rush_s
            with rt.sessions() as s:
                rows = s.execute(select(PunchRow.employee_id, PunchRow.ts, PunchRow.recorded_at).where(
                    PunchRow.mode == "edge")).all()
                rejected = s.execute(select(func.count()).select_from(PunchRejection)).scalar_one()
            per_emp: dict[int, int] = {}
            for emp, _, _ in rows:
                per_emp[emp] = per_emp.get(emp, 0) + 1
            e2e = [(rec - ts).total_seconds() for _, ts, rec in rows]
            thin_lat, thin_ok, thin_bad = _thin_sample(thin, thin_rounds)
            return {
                "what": "rush = edge mode, precomputed encodings, 1:N at terminal + hub re-verification; "
                        "thin = dataset JPEG probes, hub detects/encodes/matches",
                "checkins": total, "terminals": terminals, "gallery_people": total + 5,
                "sim_minutes": sim_minutes, "speedup": speedup, "rush_wall_s": round(rush_s, 1),
                "doors_opened": opened, "doors_refused": refused,
                "punches_recorded": len(rows), "lost": max(0, opened - len(rows)),
                "duplicated": sum(c - 1 for c in per_emp.values() if c > 1), "rejected_by_hub": int(rejected),
                "decision_p50_ms": round(statistics.median(latencies) * 1000, 3),
                "decision_p95_ms": round(_pct(latencies, 0.95) * 1000, 3),
                "punch_recorded_p95_s": round(_pct(e2e, 0.95), 3), "drain_after_rush_s": round(drain_s, 1),
                "thin_checkins": len(thin_lat), "thin_opened": thin_ok, "thin_refused": thin_bad,
                "thin_decision_p50_ms": round(statistics.median(thin_lat) * 1000, 1),
                "thin_decision_p95_ms": round(_pct(thin_lat, 0.95) * 1000, 1),
                "enrol_s": round(enrol_s, 1), "gallery_sync_s": round(sync_s, 1),
            }
        finally:
            for fleet in (edge, thin):
                if fleet is not None:
                    fleet.stop()
            rt.stop()
            broker.stop()


if __name__ == "__main__":
    print(json.dumps(bench_morning_rush(), indent=2))
