"""The edge terminal's gallery: applies hub pages in order, persists sealed rows, survives restarts."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from devices.door_terminal.gallery_store import LocalGallery, drop_employee_rows
from facecore.transit import TransitError, derive_device_key, seal

KEY = derive_device_key(b"s" * 48, "door-1")


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def _add(version: int, tid: str, emp: str, seed: int) -> dict[str, object]:
    return {"version": version, "op": "add", "template_id": tid, "employee_id": emp,
            "sealed": seal(KEY, _vec(seed), device_id="door-1", template_id=tid, employee_id=emp)}


def test_apply_persist_reload_and_erase(tmp_path: Path) -> None:
    g = LocalGallery(folder=tmp_path, device_id="door-1")
    with pytest.raises(TransitError):
        g.apply([_add(1, "t1", "1", 1)], version=1)  # no key yet
    g.set_key(base64.b64encode(KEY).decode())
    assert (tmp_path / "gallery.key").stat().st_mode & 0o777 == 0o600
    g.apply([_add(1, "t1", "1", 1), _add(2, "t2", "2", 2), _add(3, "t3", "2", 3)], version=3)
    g.apply([{"version": 4, "op": "delete", "template_id": "t3", "employee_id": "2", "sealed": None},
             {"version": 5, "op": "delete", "template_id": "never-had", "employee_id": "9", "sealed": None}],
            version=5)
    assert (len(g), g.version, g.employee_ids()) == (2, 5, {"1", "2"})
    assert g.search(_vec(2))[0].employee_id == "2"

    again = LocalGallery(folder=tmp_path, device_id="door-1")  # a restart, offline
    assert (len(again), again.version, again.employee_ids()) == (2, 5, {"1", "2"})
    assert again.search(_vec(1))[0].distance < 1e-5
    assert again.remove_employee("1") == 1
    assert LocalGallery(folder=tmp_path, device_id="door-1").employee_ids() == {"2"}
    assert set(json.loads((tmp_path / "gallery.json").read_text())["rows"]) == {"t2"}


def test_rows_sealed_for_another_device_are_refused(tmp_path: Path) -> None:
    g = LocalGallery(folder=tmp_path, device_id="door-2")
    g.set_key(base64.b64encode(KEY).decode())
    with pytest.raises(TransitError):
        g.apply([_add(1, "t1", "1", 1)], version=1)
    assert len(g) == 0


def test_a_failed_write_changes_nothing(tmp_path: Path) -> None:
    """Disk full (here: the temp file cannot be written): a sync page or an erasure fails as a whole,
    so the terminal never reports a gallery version, or an erasure, that its disk does not hold."""
    g = LocalGallery(folder=tmp_path, device_id="door-1")
    g.set_key(base64.b64encode(KEY).decode())
    g.apply([_add(1, "t1", "1", 1), _add(2, "t2", "2", 2)], version=2)
    blocker = tmp_path / "gallery.tmp"
    blocker.mkdir()  # every write of the gallery file now fails with an OSError

    with pytest.raises(OSError):
        g.apply([_add(3, "t3", "3", 3),
                 {"version": 4, "op": "delete", "template_id": "t1", "employee_id": "1", "sealed": None}], version=4)
    assert (g.version, len(g), g.employee_ids()) == (2, 2, {"1", "2"})
    with pytest.raises(OSError):
        g.remove_employee("2")
    assert g.employee_ids() == {"1", "2"} and g.search(_vec(2))[0].employee_id == "2"
    reloaded = LocalGallery(folder=tmp_path, device_id="door-1")
    assert (reloaded.version, reloaded.employee_ids()) == (2, {"1", "2"})

    blocker.rmdir()
    assert g.remove_employee("2") == 1
    assert g.apply([_add(3, "t3", "3", 3)], version=4) == 1
    again = LocalGallery(folder=tmp_path, device_id="door-1")
    assert (again.version, again.employee_ids()) == (g.version, {"1", "3"}) == (4, {"1", "3"})


def test_a_leftover_gallery_file_loses_the_erased_employee(tmp_path: Path) -> None:
    """A thin terminal that ran in edge mode before still has ``gallery.json``: an erasure removes the
    employee's rows from it, key or no key, and says how many rows are left."""
    assert drop_employee_rows(tmp_path, "2") == (0, 0)
    g = LocalGallery(folder=tmp_path, device_id="door-1")
    g.set_key(base64.b64encode(KEY).decode())
    g.apply([_add(1, "t1", "1", 1), _add(2, "t2", "2", 2), _add(3, "t3", "2", 3)], version=3)
    (tmp_path / "gallery.key").unlink()
    assert drop_employee_rows(tmp_path, "2") == (2, 1)
    assert set(json.loads((tmp_path / "gallery.json").read_text())["rows"]) == {"t1"}
    assert drop_employee_rows(tmp_path, "1") == (1, 0)
