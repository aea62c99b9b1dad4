"""Gallery: search equals brute force, add/replace/remove, versions, snapshots, concurrent reads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from facecore.gallery import PREFILTER_MIN_ROWS, Gallery, GalleryRow

RNG = np.random.default_rng(7)


def _brute(rows: list[GalleryRow], query: np.ndarray, k: int) -> list[tuple[object, object, float]]:
    best: dict[object, tuple[float, object]] = {}
    for row in rows:
        d = float(np.linalg.norm(row.encoding.astype(np.float64) - query.astype(np.float64)))
        if row.employee_id not in best or d < best[row.employee_id][0]:
            best[row.employee_id] = (d, row.template_id)
    ranked = sorted(best.items(), key=lambda kv: kv[1][0])[:k]
    return [(emp, tid, d) for emp, (d, tid) in ranked]


def _rows(n_people: int, per_person: int) -> list[GalleryRow]:
    centres = RNG.normal(0, 0.1, (n_people, 128)).astype(np.float32)
    return [
        GalleryRow(f"t{p}-{j}", f"e{p}", (centres[p] + RNG.normal(0, 0.02, 128)).astype(np.float32))
        for p in range(n_people)
        for j in range(per_person)
    ]


@pytest.mark.parametrize("prefilter_min_rows", [0, PREFILTER_MIN_ROWS], ids=["int8-prefilter", "plain"])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_search_matches_brute_force(k: int, prefilter_min_rows: int) -> None:
    rows = _rows(300, 5)
    gallery = Gallery.from_rows(rows, prefilter_min_rows=prefilter_min_rows)
    for q in range(25):
        query = rows[q * 37].encoding + RNG.normal(0, 0.03, 128).astype(np.float32)
        got = gallery.search(query, k=k)
        want = _brute(rows, query, k)
        assert [(c.employee_id, c.template_id) for c in got] == [(e, t) for e, t, _ in want]
        assert [c.distance for c in got] == pytest.approx([d for _, _, d in want], abs=1e-4)


@pytest.mark.parametrize("prefilter_min_rows", [0, PREFILTER_MIN_ROWS], ids=["int8-prefilter", "plain"])
def test_many_templates_of_one_person_do_not_hide_the_second_identity(prefilter_min_rows: int) -> None:
    base = RNG.normal(0, 0.1, 128).astype(np.float32)
    rows = [
        GalleryRow(f"a{i}", "alice", base + RNG.normal(0, 0.001, 128).astype(np.float32)) for i in range(2000)
    ]
    rows.append(GalleryRow("b0", "bob", base + 0.05))
    gallery = Gallery.from_rows(rows, prefilter_min_rows=prefilter_min_rows)
    got = gallery.search(base, k=2)
    assert [c.employee_id for c in got] == ["alice", "bob"]
    assert len(gallery.search(base, k=5)) == 2  # only two identities exist


def test_add_remove_versions_and_snapshot() -> None:
    gallery = Gallery(initial_capacity=16)
    assert len(gallery) == 0 and gallery.version == 0 and gallery.search(np.zeros(128)) == []
    rows = _rows(10, 3)
    for row in rows:  # exceeds the initial capacity: growth keeps earlier rows
        gallery.add(template_id=row.template_id, employee_id=row.employee_id, encoding=row.encoding)
    assert len(gallery) == 30 and gallery.version == 30
    assert gallery.search(rows[29].encoding)[0].template_id == rows[29].template_id

    assert gallery.remove_employee("e3") == 3 and gallery.version == 31
    assert gallery.remove_employee("e3") == 0 and gallery.version == 31
    assert "e3" not in gallery.employee_ids() and len(gallery) == 27
    assert all(c.employee_id != "e3" for c in gallery.search(rows[9].encoding, k=10))
    assert gallery.remove_template("t0-0") and not gallery.remove_template("t0-0")
    assert gallery.version == 32 and "t0-0" not in gallery

    # Replacing a template id keeps one row and moves it to the new employee.
    gallery.add(template_id="t1-0", employee_id="e9", encoding=rows[3].encoding)
    assert len(gallery) == 26 and gallery.version == 33
    assert gallery.search(rows[3].encoding)[0].employee_id == "e9"

    version, snap = gallery.snapshot()
    copy = Gallery.from_rows(snap, version=version)
    assert copy.version == 33 and len(copy) == 26
    for row in snap:
        assert copy.search(row.encoding, k=1)[0].template_id in {r.template_id for r in snap}
        assert gallery.search(row.encoding, k=3) == copy.search(row.encoding, k=3)


def test_distance_to_employee() -> None:
    rows = _rows(5, 2)
    gallery = Gallery.from_rows(rows)
    d = gallery.distance_to("e1", rows[2].encoding)
    assert d is not None and d < 1e-3
    assert gallery.distance_to("nobody", rows[2].encoding) is None
    gallery.remove_employee("e1")
    assert gallery.distance_to("e1", rows[2].encoding) is None


def test_bad_input_refused() -> None:
    gallery = Gallery()
    with pytest.raises(ValueError, match="128"):
        gallery.add(template_id="x", employee_id="e", encoding=np.zeros(127))
    with pytest.raises(ValueError, match="finite"):
        gallery.add(template_id="x", employee_id="e", encoding=np.full(128, np.inf))
    with pytest.raises(ValueError, match="duplicate"):
        Gallery.from_rows([("x", "e", np.zeros(128)), ("x", "f", np.ones(128))])
    assert len(gallery) == 0 and gallery.version == 0


def test_readers_see_consistent_results_during_writes() -> None:
    rows = _rows(50, 2)
    gallery = Gallery.from_rows(rows, version=1)
    probe = rows[0]
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            best = gallery.search(probe.encoding, k=2)[0]
            if best.employee_id != "e0" or best.distance > 1e-3:
                errors.append(f"{best}")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    extra = _rows(40, 5)
    for i, row in enumerate(extra):
        gallery.add(template_id=f"x{i}", employee_id=f"x{row.employee_id}", encoding=row.encoding)
        if i % 7 == 0:
            gallery.remove_employee(f"x{extra[max(0, i - 7)].employee_id}")
    stop.set()
    for t in threads:
        t.join()
    assert errors == []


def test_set_version_adopts_the_hub_version() -> None:
    gallery = Gallery.from_rows(_rows(2, 1), version=41)
    gallery.add(template_id="new", employee_id="e9", encoding=np.ones(128))
    assert gallery.version == 42
    gallery.set_version(57)
    assert gallery.version == 57 and len(gallery) == 3


def _assert_brute(gallery: Gallery, rows: list[GalleryRow], query: np.ndarray, k: int) -> None:
    got = gallery.search(query, k=k)
    want = _brute(rows, query, k)
    assert [(c.employee_id, c.template_id) for c in got] == [(e, t) for e, t, _ in want]
    assert [c.distance for c in got] == pytest.approx([d for _, _, d in want], abs=1e-4)


def test_prefilter_stays_exact_for_rows_added_beyond_its_scale() -> None:
    """The int8 scale is fitted once; later templates far outside it are clipped, and the residual
    that clipping leaves must keep the lower bound true (a looser filter, the same answer)."""
    rows = _rows(200, 3)
    gallery = Gallery.from_rows(rows, prefilter_min_rows=0)
    loud = [GalleryRow(f"loud{i}", f"loud-e{i}", (rows[i].encoding * 6).astype(np.float32)) for i in range(20)]
    for row in loud:
        gallery.add(template_id=row.template_id, employee_id=row.employee_id, encoding=row.encoding)
    everything = rows + loud
    for i in range(0, 220, 11):
        query = everything[i].encoding + RNG.normal(0, 0.02, 128).astype(np.float32)
        _assert_brute(gallery, everything, query, k=2)


def test_prefilter_with_fewer_identities_than_asked_and_after_removals() -> None:
    rows = _rows(3, 40)
    gallery = Gallery.from_rows(rows, prefilter_min_rows=0)
    assert [c.employee_id for c in gallery.search(rows[0].encoding, k=5)] == [
        e for e, _, _ in _brute(rows, rows[0].encoding, 5)
    ]
    gallery.remove_employee("e0")
    left = [r for r in rows if r.employee_id != "e0"]
    _assert_brute(gallery, left, rows[0].encoding, k=2)
    _assert_brute(gallery, left, rows[45].encoding, k=1)


def test_prefilter_on_a_gallery_grown_one_template_at_a_time() -> None:
    """Enrolment adds rows one by one: the scale is refitted as capacity grows, never lost."""
    rows = _rows(400, 4)
    gallery = Gallery(initial_capacity=16, prefilter_min_rows=0)
    for row in rows:
        gallery.add(template_id=row.template_id, employee_id=row.employee_id, encoding=row.encoding)
    for i in range(0, 1600, 97):
        query = rows[i].encoding + RNG.normal(0, 0.03, 128).astype(np.float32)
        for k in (1, 2, 3):
            _assert_brute(gallery, rows, query, k)
