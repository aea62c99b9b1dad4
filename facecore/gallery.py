"""In-memory 1:N gallery: a float32 template matrix, searched exactly.

Exact search is the right tool below about a million templates; ANN indexes add build time and
lose recall. Small galleries are one matrix-vector product. From `prefilter_min_rows` rows an int8
mirror (facecore.prefilter) bounds every distance from below at a quarter of the memory traffic,
and only the rows that can still make the top k are re-ranked in float32: same answer, ≈ 3× less
time at 100k templates.

Concurrency: one writer, many readers, no reader lock. The published state is an immutable tuple
swapped atomically. Appends write the row past every published `n` (spare capacity, doubled when
full) and then publish n + 1; removals build compacted copies. A reader therefore never sees a
row change under it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from threadpoolctl import threadpool_limits

from facecore import prefilter
from facecore.prefilter import Int8Mirror

DIM = 128
EmployeeId = str | int
TemplateId = str | int


@dataclass(frozen=True)
class Candidate:
    employee_id: EmployeeId
    template_id: TemplateId
    distance: float  # euclidean


@dataclass(frozen=True)
class GalleryRow:
    template_id: TemplateId
    employee_id: EmployeeId
    encoding: np.ndarray


@dataclass(frozen=True)
class _State:
    matrix: np.ndarray  # (capacity, DIM) float32; rows [0, n) live
    norms: np.ndarray  # (capacity,) float32 squared norms
    codes: np.ndarray  # (capacity,) int64 employee code per row
    template_ids: list[TemplateId]  # append-only list shared between states of the same buffers
    n: int
    version: int
    mirror: Int8Mirror  # int8 codes of the same rows, for the lower-bound prefilter


# BLAS is pinned to one thread per call: a single 100k-row gemv let OpenBLAS spread over all cores
# and spin, which on a shared 2-core box took 8 ms median with 100 ms tails. Concurrency is ours
# instead: large galleries split the product in two halves on two threads (BLAS releases the GIL),
# ≈ 1.6 ms per 100k-row search on an idle 2-core machine instead of ≈ 2.2 ms on one thread; small
# galleries stay on the caller's thread, where the hand-off would cost more than it saves.
threadpool_limits(1, user_api="blas")
_PARALLEL_MIN_ROWS = 32_768
_HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-search")
# Below this the plain product is already ≈ 0.3 ms and the prefilter's fixed costs do not pay.
PREFILTER_MIN_ROWS = 16_384
# SimSIMD's own threads for the int8 pass of large galleries (it releases the GIL).
_PREFILTER_THREADS = 2
# Exact seeds per wanted identity before the bound is computed, picked from a 1-in-16 sample.
_SEEDS_PER_IDENTITY = 16
_SEED_SAMPLE_STEP = 16


def _squared_distances(state: _State, query: np.ndarray) -> np.ndarray:
    """||x||² + ||q||² − 2x·q with precomputed ||x||²: no (n, 128) difference array."""
    n = state.n
    dots = np.empty(n, np.float32)
    matrix = state.matrix
    if n >= _PARALLEL_MIN_ROWS:
        mid = n // 2
        other = _HELPER.submit(np.dot, matrix[mid:n], query, out=dots[mid:n])
        np.dot(matrix[:mid], query, out=dots[:mid])
        other.result()
    else:
        np.dot(matrix[:n], query, out=dots)
    dots *= -2.0
    dots += state.norms[:n]
    dots += float(query @ query)
    return dots


def _exact_squared(matrix: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Σ(x − q)² for the given rows: no cancellation, used for re-ranking and reported distances."""
    diff = matrix[rows] - query
    squared: np.ndarray = np.einsum("ij,ij->i", diff, diff)
    return squared


def _nearest_identities(d2: np.ndarray, codes: np.ndarray, k: int) -> list[int]:
    """Positions of the best entry of each of the k nearest distinct codes, nearest first."""
    size = d2.size
    m = min(size, 8 * k)
    while True:
        idx = np.argpartition(d2, m - 1)[:m] if m < size else np.arange(size)
        idx = idx[np.argsort(d2[idx], kind="stable")]
        picked: dict[int, int] = {}
        for i in idx.tolist():
            code = int(codes[i])
            if code not in picked:
                picked[code] = i
                if len(picked) == k:
                    return list(picked.values())
        # One person's many templates can fill the window: widen until k identities or all rows.
        if m >= size:
            return list(picked.values())
        m = min(size, m * 4)


def _seed_rows(coarse: np.ndarray, k: int) -> np.ndarray:
    """Rows nearest by the int8 distance, a few dozen per wanted identity: a cut from a 1-in-16 sample costs ≈ 0.05 ms
    where an argpartition of 100k values costs ≈ 0.25 ms. The seeds only set the pruning limit,
    so a poor cut costs time, never exactness."""
    sample = coarse[::_SEED_SAMPLE_STEP]
    j = min(sample.size - 1, _SEEDS_PER_IDENTITY * k // _SEED_SAMPLE_STEP + k)
    return np.flatnonzero(coarse <= np.partition(sample, j)[j])


def _prefiltered_rows(state: _State, query: np.ndarray, k: int) -> np.ndarray | None:
    """Every row that can be among the k nearest identities, or None when the bound does not prune.

    Exact seeds (rows nearest by the int8 distance) give an upper limit on the k-th identity's
    distance; a row whose lower bound exceeds that limit cannot be in the answer."""
    n, mirror = state.n, state.mirror
    query_codes, query_residual = prefilter.quantize(query.reshape(1, -1), mirror.scale)
    threads = _PREFILTER_THREADS if n >= _PARALLEL_MIN_ROWS else 1
    coarse = prefilter.integer_distances(mirror, n, query_codes[0], threads=threads)
    codes = state.codes[:n]
    seeds = _seed_rows(coarse, k)
    seed_d2 = _exact_squared(state.matrix, seeds, query)
    picked = _nearest_identities(seed_d2, codes[seeds], k)
    if len(picked) < k:
        return None  # one person's many templates filled the seeds (or k > identities): search plainly
    limit = prefilter.bound_on_codes(mirror, float(query_residual[0]), float(seed_d2[picked[-1]]))
    rows = np.flatnonzero(coarse <= limit)
    return rows if rows.size <= n // 4 else None


def _as_encoding(encoding: np.ndarray) -> np.ndarray:
    vec = np.asarray(encoding, dtype=np.float32).reshape(-1)
    if vec.shape != (DIM,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"a face encoding must be {DIM} finite numbers, got shape {np.shape(encoding)}")
    return vec


class Gallery:
    def __init__(
        self, *, initial_capacity: int = 1024, version: int = 0, prefilter_min_rows: int = PREFILTER_MIN_ROWS
    ) -> None:
        cap = max(16, initial_capacity)
        self._write_lock = threading.Lock()
        self._prefilter_min_rows = prefilter_min_rows
        matrix = np.zeros((cap, DIM), np.float32)
        self._state = _State(
            matrix=matrix,
            norms=np.zeros(cap, np.float32),
            codes=np.zeros(cap, np.int64),
            template_ids=[],
            n=0,
            version=version,
            mirror=prefilter.build(matrix, 0),
        )
        self._code_of: dict[EmployeeId, int] = {}
        self._employee_of_code: dict[int, EmployeeId] = {}
        self._row_of: dict[TemplateId, int] = {}

    # --- reads (lock-free) ---
    def __len__(self) -> int:
        return self._state.n

    @property
    def version(self) -> int:
        return self._state.version

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._row_of

    def search(self, encoding: np.ndarray, *, k: int = 2) -> list[Candidate]:
        """The best template of each of the k nearest distinct identities, nearest first."""
        if k < 1:
            raise ValueError("k must be >= 1")
        state = self._state
        n = state.n
        if n == 0:
            return []
        query = _as_encoding(encoding)
        rows = _prefiltered_rows(state, query, k) if n >= self._prefilter_min_rows else None
        if rows is not None:
            d2 = _exact_squared(state.matrix, rows, query)
            picked = rows[_nearest_identities(d2, state.codes[rows], k)]
        else:
            picked = np.asarray(_nearest_identities(_squared_distances(state, query), state.codes[:n], k))
        distances = np.sqrt(_exact_squared(state.matrix, picked, query))
        return [
            Candidate(
                employee_id=self._employee_of_code[int(state.codes[i])],
                template_id=state.template_ids[i],
                distance=float(d),
            )
            for i, d in zip(picked.tolist(), distances.tolist(), strict=True)
        ]

    def distance_to(self, employee_id: EmployeeId, encoding: np.ndarray) -> float | None:
        """1:1 check (remote selfie): best distance to this employee's templates, None if none."""
        state = self._state
        code = self._code_of.get(employee_id)
        if code is None:
            return None
        rows = np.flatnonzero(state.codes[: state.n] == code)
        if rows.size == 0:
            return None
        diff = state.matrix[rows] - _as_encoding(encoding)
        return float(np.sqrt(np.min(np.einsum("ij,ij->i", diff, diff))))

    def snapshot(self) -> tuple[int, list[GalleryRow]]:
        """(version, rows) — a consistent copy for bulk export or tests."""
        state = self._state
        rows = [
            GalleryRow(
                template_id=state.template_ids[i],
                employee_id=self._employee_of_code[int(state.codes[i])],
                encoding=state.matrix[i].copy(),
            )
            for i in range(state.n)
        ]
        return state.version, rows

    def employee_ids(self) -> set[EmployeeId]:
        state = self._state
        return {self._employee_of_code[int(c)] for c in np.unique(state.codes[: state.n]).tolist()}

    # --- writes (serialised) ---
    @classmethod
    def from_rows(
        cls,
        rows: Iterable[GalleryRow | tuple[TemplateId, EmployeeId, np.ndarray]],
        *,
        version: int = 0,
        prefilter_min_rows: int = PREFILTER_MIN_ROWS,
    ) -> Gallery:
        items = [r if isinstance(r, GalleryRow) else GalleryRow(*r) for r in rows]
        gallery = cls(initial_capacity=max(1024, len(items) + len(items) // 4), version=version,
                      prefilter_min_rows=prefilter_min_rows)
        with gallery._write_lock:
            state = gallery._state
            for i, row in enumerate(items):
                if row.template_id in gallery._row_of:
                    raise ValueError(f"duplicate template id {row.template_id!r}")
                vec = _as_encoding(row.encoding)
                state.matrix[i] = vec
                state.norms[i] = float(vec @ vec)
                state.codes[i] = gallery._code(row.employee_id)
                state.template_ids.append(row.template_id)
                gallery._row_of[row.template_id] = i
            gallery._state = _State(state.matrix, state.norms, state.codes, state.template_ids, len(items),
                                    version, prefilter.build(state.matrix, len(items)))
        return gallery

    def add(self, *, template_id: TemplateId, employee_id: EmployeeId, encoding: np.ndarray) -> int:
        """Add one template; returns the new version. A known template id is replaced in one
        step: readers see the old row or the new one, never neither."""
        vec = _as_encoding(encoding)
        with self._write_lock:
            state = self._state
            if template_id in self._row_of:
                state = self._without({self._row_of[template_id]})
            n = state.n
            if n == state.matrix.shape[0] or len(state.template_ids) != n:
                state = self._copy(state, capacity=max(2 * state.matrix.shape[0], 16))
            state.matrix[n] = vec
            state.norms[n] = float(vec @ vec)
            state.codes[n] = self._code(employee_id)
            state.template_ids.append(template_id)
            self._row_of[template_id] = n
            # The scale stays; a value beyond it is clipped and its residual says by how much.
            mirror = state.mirror
            row_codes, residual = prefilter.quantize(vec.reshape(1, -1), mirror.scale)
            mirror.codes[n], mirror.residuals[n] = row_codes[0], residual[0]
            mirror = replace(mirror, max_residual=max(mirror.max_residual, float(residual[0])))
            self._state = _State(state.matrix, state.norms, state.codes, state.template_ids, n + 1,
                                 state.version + 1, mirror)
            return self._state.version

    def remove_template(self, template_id: TemplateId) -> bool:
        with self._write_lock:
            row = self._row_of.get(template_id)
            if row is None:
                return False
            self._state = self._without({row}, bump=True)
            return True

    def remove_employee(self, employee_id: EmployeeId) -> int:
        """Remove every template of the employee; returns how many were removed."""
        with self._write_lock:
            code = self._code_of.get(employee_id)
            state = self._state
            if code is None:
                return 0
            rows = set(np.flatnonzero(state.codes[: state.n] == code).tolist())
            if rows:
                self._state = self._without(rows, bump=True)
            return len(rows)

    def _code(self, employee_id: EmployeeId) -> int:
        code = self._code_of.get(employee_id)
        if code is None:
            code = len(self._code_of)
            self._code_of[employee_id] = code
            self._employee_of_code[code] = employee_id
        return code

    def set_version(self, version: int) -> None:
        """Adopt the hub's gallery version after applying a sync delta (edge terminals)."""
        with self._write_lock:
            self._state = replace(self._state, version=version)

    def _without(self, rows: set[int], *, bump: bool = False) -> _State:
        """Compacted copy without `rows` (not published; the caller swaps it in)."""
        state = self._state
        keep = np.array([i for i in range(state.n) if i not in rows], dtype=np.int64)
        cap = max(16, state.matrix.shape[0])
        matrix = np.zeros((cap, DIM), np.float32)
        norms = np.zeros(cap, np.float32)
        codes = np.zeros(cap, np.int64)
        matrix[: keep.size] = state.matrix[keep]
        norms[: keep.size] = state.norms[keep]
        codes[: keep.size] = state.codes[keep]
        template_ids = [state.template_ids[i] for i in keep.tolist()]
        self._row_of = {tid: i for i, tid in enumerate(template_ids)}
        version = state.version + 1 if bump else state.version
        return _State(matrix, norms, codes, template_ids, int(keep.size), version,
                      prefilter.select(state.mirror, keep))

    @staticmethod
    def _copy(state: _State, *, capacity: int) -> _State:
        matrix = np.zeros((capacity, DIM), np.float32)
        norms = np.zeros(capacity, np.float32)
        codes = np.zeros(capacity, np.int64)
        matrix[: state.n] = state.matrix[: state.n]
        norms[: state.n] = state.norms[: state.n]
        codes[: state.n] = state.codes[: state.n]
        # Growth refits the int8 scale to the rows seen so far (the first rows may have been few).
        return _State(matrix, norms, codes, list(state.template_ids[: state.n]), state.n, state.version,
                      prefilter.build(matrix, state.n))
