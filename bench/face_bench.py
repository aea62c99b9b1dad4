"""Face benchmarks: thin-mode pipeline vs the naive face_recognition calls, and 1:N search.

Each function returns a flat dict for bench/run_all.py; `python -m bench.face_bench` prints them.
Both sides of a comparison run interleaved in one process, because absolute times drift on a
shared machine.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from facecore.gallery import Gallery
from facecore.images import letterbox, load_image_file
from facecore.pipeline import FaceObservation, FacePipeline, naive_analyze
from facecore.quality import check_enrolment
from hub.domain.matching import MatchPolicy, decide_frame

FACES = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "faces"
if not FACES.is_dir():
    FACES = Path("/work/shared/datasets/faces")


def _images(folder: str) -> list[Path]:
    return sorted(p for p in (FACES / folder).rglob("*") if p.suffix in {".jpg", ".png"})


def _enrolled_gallery(pipeline: FacePipeline) -> Gallery:
    gallery = Gallery()
    for path in _images("enroll"):
        face = check_enrolment(pipeline.analyze(load_image_file(path)))
        assert face.encoding is not None
        gallery.add(template_id=path.stem, employee_id=path.parent.name, encoding=face.encoding)
    return gallery


def _timed(
    fn: Callable[[np.ndarray], list[FaceObservation]], frame: np.ndarray
) -> tuple[float, list[FaceObservation]]:
    start = time.perf_counter()
    result = fn(frame)
    return time.perf_counter() - start, result


def bench_thin_pipeline(*, repeats: int = 3, width: int = 640, height: int = 480) -> dict[str, object]:
    """Every dataset image as a 640×480 frame: naive vs FacePipeline.analyze, interleaved."""
    pipeline = FacePipeline()
    policy = MatchPolicy()
    gallery = _enrolled_gallery(pipeline)
    frames = [
        (str(p.relative_to(FACES)), letterbox(load_image_file(p), width=width, height=height))
        for p in _images(".")
    ]
    naive_analyze(frames[0][1])  # warm up: imports face_recognition and loads its models
    pipeline.analyze(frames[0][1])
    naive_ms: list[float] = []
    fast_ms: list[float] = []
    mismatches: list[str] = []
    accepted = 0
    for name, frame in frames:
        naive_t: list[float] = []
        fast_t: list[float] = []
        for _ in range(repeats):
            t, naive_obs = _timed(naive_analyze, frame)
            naive_t.append(t)
            t, fast_obs = _timed(pipeline.analyze, frame)
            fast_t.append(t)
        naive_d = decide_frame(naive_obs, search=gallery.search, policy=policy)
        fast_d = decide_frame(fast_obs, search=gallery.search, policy=policy)
        if (naive_d.outcome, naive_d.employee_id) != (fast_d.outcome, fast_d.employee_id):
            mismatches.append(
                f"{name}: naive {naive_d.outcome}/{naive_d.employee_id}, "
                f"fast {fast_d.outcome}/{fast_d.employee_id}"
            )
        accepted += fast_d.outcome == "accepted"
        naive_ms.append(statistics.median(naive_t) * 1000)
        fast_ms.append(statistics.median(fast_t) * 1000)
    return {
        "frames": len(frames),
        "frame_size": f"{width}x{height}",
        "repeats": repeats,
        "naive_median_ms": round(statistics.median(naive_ms), 1),
        "fast_median_ms": round(statistics.median(fast_ms), 1),
        "naive_total_ms": round(sum(naive_ms), 1),
        "fast_total_ms": round(sum(fast_ms), 1),
        "ratio_total": round(sum(fast_ms) / sum(naive_ms), 3),
        "ratio_median_per_frame": round(
            statistics.median(f / n for f, n in zip(fast_ms, naive_ms, strict=True)), 3
        ),
        "target_ratio": 0.6,
        "accepted_frames": accepted,
        "decisions_identical": not mismatches,
        "mismatches": mismatches,
    }


def _seed_encodings() -> np.ndarray:
    pipeline = FacePipeline()
    seeds = []
    for path in _images("enroll") + _images("probe") + _images("unknown"):
        for obs in pipeline.analyze(load_image_file(path)):
            if obs.encoding is not None:
                seeds.append(obs.encoding)
    return np.stack(seeds)


def bench_gallery_search(
    n: int = 100_000,
    *,
    templates_per_person: int = 5,
    probes: int = 500,
    seed_encodings: Sequence[np.ndarray] | None = None,
) -> dict[str, object]:
    """Synthetic gallery around the real encodings (generated in memory, never stored).

    Identities: a real encoding plus per-dimension noise of 0.05, which puts synthetic people
    ≈ 0.8 apart like real different people; templates: the identity plus 0.02 noise (≈ 0.3 apart,
    like photos of one person). Probes: an enrolled template plus 0.02 noise.
    """
    rng = np.random.default_rng(2026)
    seeds = np.asarray(seed_encodings if seed_encodings is not None else _seed_encodings(), np.float32)
    people = n // templates_per_person
    centres = seeds[rng.integers(0, len(seeds), people)] + rng.normal(0, 0.05, (people, 128)).astype(
        np.float32
    )
    owners = np.repeat(np.arange(people), templates_per_person)
    matrix = centres[owners] + rng.normal(0, 0.02, (owners.size, 128)).astype(np.float32)
    started = time.perf_counter()
    gallery = Gallery.from_rows((i, int(owners[i]), matrix[i]) for i in range(owners.size))
    build_s = time.perf_counter() - started
    # Baseline in the same run: the same exact search without the int8 prefilter (one float32
    # matrix-vector product over all rows, split over two threads) — the previous implementation.
    plain = Gallery.from_rows(((i, int(owners[i]), matrix[i]) for i in range(owners.size)),
                              prefilter_min_rows=owners.size + 1)
    picks = rng.integers(0, owners.size, probes)
    queries = matrix[picks] + rng.normal(0, 0.02, (probes, 128)).astype(np.float32)
    gallery.search(queries[0])  # warm-up
    plain.search(queries[0])
    times: list[float] = []
    plain_times: list[float] = []
    cpu: list[float] = []
    correct = 0
    same_as_plain = 0
    # Interleaved, so both see the same machine load.
    for q, pick in zip(queries, picks, strict=True):
        t0, c0 = time.perf_counter(), time.thread_time()
        result = gallery.search(q, k=2)
        cpu.append(time.thread_time() - c0)
        times.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        baseline = plain.search(q, k=2)
        plain_times.append(time.perf_counter() - t1)
        correct += result[0].employee_id == int(owners[pick])
        same_as_plain += [c.template_id for c in result] == [c.template_id for c in baseline]
    # Exactness against a float64 brute force: the two nearest identities and their best templates.
    exact = 0
    checked = 50
    wide = matrix.astype(np.float64)
    for q in queries[:checked]:
        d = np.linalg.norm(wide - q.astype(np.float64), axis=1)
        want: list[int] = []
        for i in np.argsort(d, kind="stable").tolist():
            if all(owners[i] != owners[j] for j in want):
                want.append(i)
                if len(want) == 2:
                    break
        exact += [c.template_id for c in gallery.search(q, k=2)] == want
    times_ms = np.array(times) * 1000
    plain_ms = np.array(plain_times) * 1000
    return {
        "templates": len(gallery),
        "identities": people,
        "probes": probes,
        "median_ms": round(float(np.median(times_ms)), 3),
        "p95_ms": round(float(np.percentile(times_ms, 95)), 3),
        # CPU time of the searching thread: less distorted by other jobs on a shared machine.
        "cpu_median_ms": round(float(np.median(cpu)) * 1000, 3),
        "plain_product_median_ms": round(float(np.median(plain_ms)), 3),
        "plain_product_p95_ms": round(float(np.percentile(plain_ms, 95)), 3),
        "ratio_vs_plain_product": round(float(np.median(times_ms) / np.median(plain_ms)), 3),
        "target_ms": 2.0,
        "top1_same_identity": round(correct / probes, 4),
        "same_answer_as_plain": f"{same_as_plain}/{probes}",
        "exact_vs_float64_brute_force": f"{exact}/{checked}",
        "bulk_load_s": round(build_s, 2),
        "memory_mib": round(len(gallery) * 128 * 5 / 2**20, 1),  # float32 rows + int8 mirror
    }


def main() -> None:
    print(
        json.dumps(
            {"thin_pipeline": bench_thin_pipeline(), "gallery_search": bench_gallery_search()}, indent=2
        )
    )


if __name__ == "__main__":
    main()
