"""The int8 mirror's lower bound: never above the true distance, and tight enough to prune."""

from __future__ import annotations

import numpy as np

from facecore import prefilter

RNG = np.random.default_rng(11)


def test_lower_bound_never_exceeds_the_true_distance() -> None:
    rows = RNG.normal(0, 0.1, (5000, 128)).astype(np.float32)
    mirror = prefilter.build(rows, 5000)
    # Queries inside the fitted range, far outside it (clipped) and exactly on a row.
    queries = [RNG.normal(0, 0.1, 128), RNG.normal(0, 2.0, 128), rows[17]]
    for q in (np.asarray(x, np.float32) for x in queries):
        q_codes, q_res = prefilter.quantize(q.reshape(1, -1), mirror.scale)
        coarse = prefilter.integer_distances(mirror, 5000, q_codes[0], threads=1)
        true = np.sqrt(((rows.astype(np.float64) - q) ** 2).sum(1))
        bound = mirror.scale * np.sqrt(coarse.astype(np.float64)) - mirror.residuals[:5000] - q_res[0]
        assert np.all(bound <= true + 1e-6)
        # Rows within the true distance of the 10th nearest all pass the code-space limit.
        tenth = float(np.sort(true)[9])
        limit = prefilter.bound_on_codes(mirror, float(q_res[0]), tenth**2)
        assert set(np.flatnonzero(true <= tenth)) <= set(np.flatnonzero(coarse <= limit))


def test_integer_distances_are_exact() -> None:
    mirror = prefilter.build(RNG.normal(0, 0.1, (300, 128)).astype(np.float32), 300)
    q = mirror.codes[5].copy()
    want = ((mirror.codes[:300].astype(np.int64) - q.astype(np.int64)) ** 2).sum(1)
    got = prefilter.integer_distances(mirror, 300, q, threads=2)
    assert np.array_equal(got.astype(np.int64), want)


def test_the_bound_prunes_on_face_like_data() -> None:
    """Identities ≈ 0.8 apart, templates ≈ 0.3 apart: only a sliver of rows survives the filter."""
    centres = RNG.normal(0, 0.07, (2000, 128)).astype(np.float32)
    rows = np.repeat(centres, 5, axis=0) + RNG.normal(0, 0.02, (10_000, 128)).astype(np.float32)
    mirror = prefilter.build(rows, rows.shape[0])
    q = rows[123] + RNG.normal(0, 0.02, 128).astype(np.float32)
    q_codes, q_res = prefilter.quantize(q.reshape(1, -1), mirror.scale)
    coarse = prefilter.integer_distances(mirror, rows.shape[0], q_codes[0], threads=1)
    true_d2 = ((rows - q) ** 2).sum(1)
    second_identity = float(np.sort(true_d2[np.arange(10_000) // 5 != 123 // 5])[0])
    kept = np.count_nonzero(coarse <= prefilter.bound_on_codes(mirror, float(q_res[0]), second_identity))
    assert 5 < kept < 500


def test_an_empty_or_all_zero_matrix_has_a_usable_scale() -> None:
    mirror = prefilter.build(np.zeros((16, 128), np.float32), 0)
    assert mirror.scale > 0 and mirror.max_residual == 0.0
    zeros = prefilter.build(np.zeros((16, 128), np.float32), 16)
    assert zeros.scale > 0 and np.all(zeros.codes == 0)
