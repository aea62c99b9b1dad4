"""`make bench`: run every benchmark side by side with its baseline, print the figures and write
them into BENCHMARKS.md (between the generated markers, keeping the hand-written notes).

Each benchmark is a function returning a flat dict; register it in ``BENCHES`` with its title,
the DESIGN.md §7 target it checks, and a predicate telling whether the target is met.
Run one: ``python -m bench.run_all --only ingest``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Bench:
    key: str
    title: str
    target: str
    func: str  # "module:function"
    met: Callable[[dict[str, Any]], bool]
    kwargs: dict[str, Any] | None = None


BENCHES: list[Bench] = [
    Bench("ingest", "Event ingest, QoS 1, persisted (hub) vs a do-nothing paho subscriber",
          "≥ 5,000 events/s and ≥ 0.5 × the do-nothing subscriber", "bench.ingest_bench:bench_ingest",
          lambda r: r["hub_events_per_s"] >= 5000 and r["ratio_vs_subscriber"] >= 0.5),
    Bench("thin_pipeline", "Thin-mode check-in pipeline vs naive face_locations + face_encodings (640×480)",
          "≤ 0.6 × naive time, identical decisions", "bench.face_bench:bench_thin_pipeline",
          lambda r: r["ratio_total"] <= 0.6 and r["decisions_identical"]),
    Bench("gallery_search", "1:N search over 100k templates (exact: int8 lower bound + float32 re-rank) "
          "vs one float32 matrix-vector product", "≤ 2 ms per probe, same answers as brute force",
          "bench.face_bench:bench_gallery_search",
          lambda r: r["median_ms"] <= 2.0 and r["same_answer_as_plain"] == f"{r['probes']}/{r['probes']}"
          and r["exact_vs_float64_brute_force"].split("/")[0] == r["exact_vs_float64_brute_force"].split("/")[1]),
    Bench("face_engine", "Face engine through the hub: identify/verify, 1 client vs 4 concurrent clients "
          "(worker pool), and the naive face_recognition call in one process",
          "4 clients ≥ 1.6 × the single client's throughput (identify and verify)",
          "bench.face_engine_bench:bench_face_engine",
          lambda r: r["identify_ratio_4_vs_1"] >= 1.6 and r["verify_ratio_4_vs_1"] >= 1.6),
    Bench("print", "Print: submit → box has the job (200 jobs); 100 MB PDF upload, hub RSS growth",
          "p95 ≤ 300 ms; growth < 50 MB", "bench.print_bench:bench_print",
          lambda r: r["p95_ms"] <= 300 and r["rss_growth_mb"] < 50 and r["delivered"] == r["jobs"]),
    Bench("morning_rush", "Morning rush: 5,000 check-ins, 20 edge terminals, 10 simulated min (+ thin sample)",
          "0 lost / 0 duplicated punches; door decision p95 ≤ 300 ms", "bench.checkin_bench:bench_morning_rush",
          lambda r: r["lost"] == 0 and r["duplicated"] == 0 and r["decision_p95_ms"] <= 300
          and r["thin_decision_p95_ms"] <= 300),
    Bench("fleet", "Fleet: 2,000 simulated devices (one sim process) connected and heartbeating to one hub",
          "all 2,000 online, online count exact while heartbeating; GET /api/v1/devices with filters p95 < 200 ms",
          "bench.fleet_bench:bench_fleet", lambda r: r["online_min"] == r["online_max"] == r["devices"] == 2000
          and r["api_p95_ms"] < 200 and r["online_after_graceful_stop"] == 0),
]


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.node()} · {cpu} · {os.cpu_count()} cores · Python {platform.python_version()} · "
            f"load {load:.2f} at start")


def run(bench: Bench) -> dict[str, Any]:
    module, name = bench.func.split(":")
    fn = getattr(importlib.import_module(module), name)
    t0 = time.monotonic()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    result: dict[str, Any] = fn(**(bench.kwargs or {}))
    result["_seconds"] = round(time.monotonic() - t0, 1)
    # When and under what load: figures from a busy shared machine read differently.
    result["_at"], result["_load"] = at, round(load, 2)
    try:
        result["_met"] = bool(bench.met(result))
    except (KeyError, TypeError):
        result["_met"] = False
    return result


def render(results: dict[str, dict[str, Any]]) -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    out = [BEGIN, "", f"Generated by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{commit}`.",
           f"Machine: {machine()}.", ""]
    for bench in BENCHES:
        if bench.key not in results:
            continue
        r = results[bench.key]
        verdict = "**met**" if r.get("_met") else "**NOT met**"
        out += [f"### {bench.title}", "", f"Target: {bench.target} — {verdict}. "
                f"Command: `python -m bench.run_all --only {bench.key}` ({r.get('_seconds')} s, "
                f"run {r.get('_at', '?')}, load average {r.get('_load', '?')} at start).", "",
                "| figure | value |", "|---|---|"]
        for k, v in r.items():
            if k.startswith("_"):
                continue
            text = json.dumps(v) if isinstance(v, list | dict) else str(v)
            out.append(f"| {k} | {text[:300]} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def write_markdown(section: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text += "\n" + section + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", help="run only these benchmark keys")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    chosen = [b for b in BENCHES if not args.only or b.key in args.only]
    results: dict[str, dict[str, Any]] = {}
    for bench in chosen:
        print(f"== {bench.key}: {bench.title}", flush=True)
        try:
            results[bench.key] = run(bench)
        except Exception as exc:  # report and go on with the other benchmarks
            results[bench.key] = {"error": f"{exc.__class__.__name__}: {exc}", "_met": False}
        print(json.dumps(results[bench.key], indent=2, default=str), flush=True)
    if not args.no_write:
        # Partial runs replace only their own figures: merge with the stored results of the others.
        stored: dict[str, dict[str, Any]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        stored.update(results)
        RESULTS.write_text(json.dumps(stored, indent=1, default=str) + "\n")
        write_markdown(render(stored))
        print("BENCHMARKS.md updated")
    return 0 if all(r.get("_met") for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
