"""In-memory 1:N gallery: a float32 template matrix searched by brute force.

Exact search is the right tool below about a million templates (100k × 128 is 49 MiB and one
matrix-vector product, ≈ 1 ms on one core); ANN indexes add build time and lose recall.

Concurrency: one writer, many readers, no reader lock. The published state is an immutable tuple
swapped atomically. Appends write the row past every published `n` (spare capacity, doubled when
full) and then publish n + 1; removals build compacted copies. A reader therefore never sees a
row change under it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

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


# BLAS is pinned to one thread per call: a single 100k-row gemv let OpenBLAS spread over all cores
# and spin, which on a shared 2-core box took 8 ms median with 100 ms tails. Concurrency is ours
# instead: large galleries split the product in two halves on two threads (BLAS releases the GIL),
# ≈ 1.6 ms per 100k-row search on an idle 2-core machine instead of ≈ 2.2 ms on one thread; small
# galleries stay on the caller's thread, where the hand-off would cost more than it saves.
threadpool_limits(1, user_api="blas")
_PARALLEL_MIN_ROWS = 32_768
_HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gallery-search")


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


def _as_encoding(encoding: np.ndarray) -> np.ndarray:
    vec = np.asarray(encoding, dtype=np.float32).reshape(-1)
    if vec.shape != (DIM,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"a face encoding must be {DIM} finite numbers, got shape {np.shape(encoding)}")
    return vec


class Gallery:
    def __init__(self, *, initial_capacity: int = 1024, version: int = 0) -> None:
        cap = max(16, initial_capacity)
        self._write_lock = threading.Lock()
        self._state = _State(
            matrix=np.zeros((cap, DIM), np.float32),
            norms=np.zeros(cap, np.float32),
            codes=np.zeros(cap, np.int64),
            template_ids=[],
            n=0,
            version=version,
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
        d2 = _squared_distances(state, query)
        codes = state.codes[:n]
        m = min(n, 8 * k)
        while True:
            idx = np.argpartition(d2, m - 1)[:m] if m < n else np.arange(n)
            idx = idx[np.argsort(d2[idx], kind="stable")]
            picked: dict[int, int] = {}
            for i in idx.tolist():
                code = int(codes[i])
                if code not in picked:
                    picked[code] = i
                    if len(picked) == k:
                        break
            # One person's many templates can fill the window: widen until k identities or all rows.
            if len(picked) == k or m >= n:
                break
            m = min(n, m * 4)
        return [
            Candidate(
                employee_id=self._employee_of_code[code],
                template_id=state.template_ids[i],
                distance=float(np.sqrt(max(float(d2[i]), 0.0))),
            )
            for code, i in picked.items()
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
        cls, rows: Iterable[GalleryRow | tuple[TemplateId, EmployeeId, np.ndarray]], *, version: int = 0
    ) -> Gallery:
        items = [r if isinstance(r, GalleryRow) else GalleryRow(*r) for r in rows]
        gallery = cls(initial_capacity=max(1024, len(items) + len(items) // 4), version=version)
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
            gallery._state = _State(
                state.matrix, state.norms, state.codes, state.template_ids, len(items), version
            )
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
            self._state = _State(
                state.matrix, state.norms, state.codes, state.template_ids, n + 1, state.version + 1
            )
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
            state = self._state
            self._state = _State(state.matrix, state.norms, state.codes, state.template_ids, state.n, version)

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
        return _State(matrix, norms, codes, template_ids, int(keep.size), version)

    @staticmethod
    def _copy(state: _State, *, capacity: int) -> _State:
        matrix = np.zeros((capacity, DIM), np.float32)
        norms = np.zeros(capacity, np.float32)
        codes = np.zeros(capacity, np.int64)
        matrix[: state.n] = state.matrix[: state.n]
        norms[: state.n] = state.norms[: state.n]
        codes[: state.n] = state.codes[: state.n]
        return _State(matrix, norms, codes, list(state.template_ids[: state.n]), state.n, state.version)
