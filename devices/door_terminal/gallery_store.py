"""The edge terminal's copy of the face gallery: a 1:N ``facecore.gallery.Gallery`` in memory,
persisted as the sealed (per-device encrypted) blobs the hub sent, so a restarted terminal matches
again without the network. The device key sits next to it with owner-only permissions."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any

from facecore.gallery import Candidate, Gallery
from facecore.transit import TransitError, open_sealed


class LocalGallery:
    def __init__(self, *, folder: Path, device_id: str) -> None:
        self.path = folder / "gallery.json"
        self.key_path = folder / "gallery.key"
        self.device_id = device_id
        self.memory = Gallery()
        self._rows: dict[str, dict[str, str]] = {}  # template_id -> {employee_id, sealed}
        self._key: bytes | None = None
        self.access: dict[str, Any] | None = None  # the door's access rules from the last sync
        self._lock = threading.Lock()
        self._load()

    # --- reads ---------------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self.memory.version

    @property
    def has_key(self) -> bool:
        return self._key is not None

    def search(self, encoding: Any, *, k: int = 2) -> list[Candidate]:
        return self.memory.search(encoding, k=k)

    def identities(self) -> int:
        return len(self.memory.employee_ids())

    def employee_ids(self) -> set[str]:
        return {str(e) for e in self.memory.employee_ids()}

    def __len__(self) -> int:
        return len(self.memory)

    # --- writes --------------------------------------------------------------------------
    def set_key(self, key_b64: str) -> None:
        key = base64.b64decode(key_b64)
        with self._lock:
            self._key = key
            tmp = self.key_path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            os.replace(tmp, self.key_path)

    def apply(self, changes: list[dict[str, Any]], *, version: int, access: dict[str, Any] | None = None) -> int:
        """Apply one page of hub changes in order (and the door's access rules); returns how many.

        The disk is written before memory changes: when the write fails (disk full) this raises and
        the terminal holds exactly what it held before, so it never reports a version it did not keep."""
        if self._key is None:
            raise TransitError("no gallery key yet: sync with want_key first")
        steps: list[tuple[str, str, Any]] = []  # (template id, employee id, encoding or None = delete)
        with self._lock:
            rows = dict(self._rows)
            for ch in changes:
                tid, emp = str(ch["template_id"]), str(ch["employee_id"])
                if ch["op"] == "add" and ch.get("sealed"):
                    enc = open_sealed(self._key, ch["sealed"], device_id=self.device_id, template_id=tid,
                                      employee_id=emp)
                    steps.append((tid, emp, enc))
                    rows[tid] = {"employee_id": emp, "sealed": ch["sealed"]}
                elif ch["op"] == "delete":
                    steps.append((tid, emp, None))
                    rows.pop(tid, None)
            new_access = self.access if access is None else access
            self._write(version=version, rows=rows, access=new_access)
            for tid, emp, enc in steps:
                if enc is None:
                    self.memory.remove_template(tid)
                else:
                    self.memory.add(template_id=tid, employee_id=emp, encoding=enc)
            self.memory.set_version(version)
            self._rows, self.access = rows, new_access
        return len(changes)

    def remove_employee(self, employee_id: str, *, version: int | None = None) -> int:
        """Drop every template of the employee, on disk first: a failed write raises and keeps them
        (so a ``delete_templates`` ack is never ``ok`` while the file still holds them)."""
        with self._lock:
            rows = {t: r for t, r in self._rows.items() if r["employee_id"] != employee_id}
            # The in-memory gallery bumps its version on a removal; the file gets the same number.
            new_version = self.memory.version + (1 if len(rows) < len(self._rows) else 0)
            new_version = max(new_version, version or 0)
            self._write(version=new_version, rows=rows, access=self.access)
            removed = self.memory.remove_employee(employee_id)
            self.memory.set_version(new_version)
            self._rows = rows
        return removed

    def clear(self) -> None:
        with self._lock:
            self._write(version=0, rows={}, access=None)
            self.memory = Gallery()
            self._rows = {}
            self.access = None

    # --- disk ----------------------------------------------------------------------------
    def _write(self, *, version: int, rows: dict[str, dict[str, str]], access: dict[str, Any] | None) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": version, "rows": rows, "access": access}))
        os.replace(tmp, self.path)

    def _load(self) -> None:
        try:
            self._key = self.key_path.read_bytes()
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        rows = []
        for tid, r in data.get("rows", {}).items():
            try:
                rows.append((tid, r["employee_id"], open_sealed(self._key, r["sealed"], device_id=self.device_id,
                                                                 template_id=tid, employee_id=r["employee_id"])))
            except (TransitError, KeyError):
                continue  # a row for another key: the next full sync replaces it
        self.memory = Gallery.from_rows(rows, version=int(data.get("version", 0)))
        self.access = data.get("access")
        self._rows = {tid: data["rows"][tid] for tid, _, _ in rows}


def drop_employee_rows(folder: Path, employee_id: str) -> tuple[int, int]:
    """Remove an employee's rows from a gallery file nobody has loaded (a thin terminal that used to
    be an edge one keeps its old ``gallery.json``); returns (rows removed, rows left). No key needed:
    the employee id of each row is stored in clear next to the sealed template."""
    path = folder / "gallery.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return 0, 0
    rows = data.get("rows", {})
    keep = {t: r for t, r in rows.items() if str(r.get("employee_id")) != employee_id}
    if len(keep) < len(rows):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**data, "rows": keep}))
        os.replace(tmp, path)
    return len(rows) - len(keep), len(keep)
