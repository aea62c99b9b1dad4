"""The hub's face gallery: encrypted templates in the database, a float32 copy in memory.

The in-memory ``facecore.gallery.Gallery`` is loaded once at start (decrypting every row) and then
updated incrementally after each committed enrolment or deletion, so a search never touches the
database. Every change is appended to ``gallery_changes``; its id is the gallery version that
terminals sync to.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from facecore.gallery import Candidate, Gallery
from facecore.models import MODEL_ID
from hub.db.models.people import FaceTemplate, GalleryChange
from hub.db.session import SessionFactory
from hub.security.template_crypto import TemplateCipher


def template_aad(template_id: str, employee_id: int) -> bytes:
    return f"template:{template_id}:employee:{employee_id}".encode()


@dataclass(frozen=True)
class NewTemplate:
    encoding: np.ndarray
    face_px: int
    blur: float
    photo_path: str | None = None


class FaceGallery:
    def __init__(self, *, sessions: SessionFactory, cipher: TemplateCipher) -> None:
        self.sessions = sessions
        self.cipher = cipher
        self.memory = Gallery()
        self._write = threading.Lock()
        self._identities: tuple[int, int] = (-1, 0)  # (gallery version, distinct people)

    # --- reads --------------------------------------------------------------------------
    def search(self, encoding: np.ndarray, *, k: int = 2) -> list[Candidate]:
        return self.memory.search(encoding, k=k)

    def distance_to(self, employee_id: int, encoding: np.ndarray) -> float | None:
        return self.memory.distance_to(employee_id, encoding)

    def identities(self) -> int:
        # Asked on every decision (the threshold tightens for large galleries); counting distinct
        # people walks the whole matrix, so count once per gallery version.
        version, count = self._identities
        if version != self.memory.version:
            version = self.memory.version
            count = len(self.memory.employee_ids())
            self._identities = (version, count)
        return count

    @property
    def version(self) -> int:
        return self.memory.version

    def decrypt(self, row: FaceTemplate) -> np.ndarray:
        return self.cipher.decrypt(row.blob, aad=template_aad(row.id, row.employee_id))

    # --- load / write ---------------------------------------------------------------------
    def load(self) -> None:
        with self.sessions() as s:
            rows = s.execute(select(FaceTemplate)).scalars().all()
            version = s.execute(select(func.max(GalleryChange.version))).scalar() or 0
            items = [(r.id, r.employee_id, self.decrypt(r)) for r in rows]
        self.memory = Gallery.from_rows(items, version=int(version))

    def add(self, session: Session, *, employee_id: int, templates: Sequence[NewTemplate],
            actor: str) -> list[FaceTemplate]:
        """Stage template rows and change-log entries in the caller's transaction; call
        ``apply_added`` after it commits."""
        rows = []
        for t in templates:
            tid = uuid.uuid4().hex
            row = FaceTemplate(id=tid, employee_id=employee_id, model_id=MODEL_ID, face_px=t.face_px,
                               blur=t.blur, photo_path=t.photo_path, created_by=actor,
                               blob=self.cipher.encrypt(t.encoding, aad=template_aad(tid, employee_id)))
            session.add(row)
            session.add(GalleryChange(op="add", template_id=tid, employee_id=employee_id))
            rows.append(row)
        return rows

    def apply_added(self, rows: Sequence[FaceTemplate], encodings: Sequence[np.ndarray]) -> None:
        with self._write:
            for row, enc in zip(rows, encodings, strict=True):
                self.memory.add(template_id=row.id, employee_id=row.employee_id, encoding=enc)
            self._sync_version()

    def remove_employee(self, session: Session, employee_id: int) -> list[FaceTemplate]:
        """Stage deletion of every template of the employee (rows + change log)."""
        rows = list(session.execute(select(FaceTemplate).where(FaceTemplate.employee_id == employee_id))
                    .scalars())
        for row in rows:
            session.add(GalleryChange(op="delete", template_id=row.id, employee_id=employee_id))
        session.execute(delete(FaceTemplate).where(FaceTemplate.employee_id == employee_id))
        return rows

    def apply_removed(self, employee_id: int) -> None:
        with self._write:
            self.memory.remove_employee(employee_id)
            self._sync_version()

    def _sync_version(self) -> None:
        with self.sessions() as s:
            version = s.execute(select(func.max(GalleryChange.version))).scalar() or 0
        self.memory.set_version(int(version))
