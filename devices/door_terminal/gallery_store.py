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
        """Apply one page of hub changes in order (and the door's access rules); returns how many."""
        if self._key is None:
            raise TransitError("no gallery key yet: sync with want_key first")
        applied = 0
        with self._lock:
            for ch in changes:
                tid, emp = str(ch["template_id"]), str(ch["employee_id"])
                if ch["op"] == "add" and ch.get("sealed"):
                    enc = open_sealed(self._key, ch["sealed"], device_id=self.device_id, template_id=tid,
                                      employee_id=emp)
                    self.memory.add(template_id=tid, employee_id=emp, encoding=enc)
                    self._rows[tid] = {"employee_id": emp, "sealed": ch["sealed"]}
                elif ch["op"] == "delete":
                    self.memory.remove_template(tid)
                    self._rows.pop(tid, None)
                applied += 1
            self.memory.set_version(version)
            if access is not None:
                self.access = access
            self._save()
        return applied

    def remove_employee(self, employee_id: str, *, version: int | None = None) -> int:
        with self._lock:
            removed = self.memory.remove_employee(employee_id)
            self._rows = {t: r for t, r in self._rows.items() if r["employee_id"] != employee_id}
            if version is not None and version > self.memory.version:
                self.memory.set_version(version)
            self._save()
        return removed

    def clear(self) -> None:
        with self._lock:
            self.memory = Gallery()
            self._rows = {}
            self.access = None
            self._save()

    # --- disk ----------------------------------------------------------------------------
    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": self.memory.version, "rows": self._rows, "access": self.access}))
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
