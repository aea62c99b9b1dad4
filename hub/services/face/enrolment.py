"""Enrolment: 1-10 photos -> templates, all or nothing.

Every photo must decode, hold exactly one sharp face of at least ENROL_MIN_FACE_PX, and not match
anyone else already enrolled (1:N duplicate check, threshold 0.6). One bad photo refuses the whole
upload with the photo's index and reason, so nothing is half-stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore.images import DEFAULT_MAX_PIXELS, ImageError
from facecore.policy import enrolment_conflict
from facecore.quality import EnrolmentRejected, check_enrolment
from hub.db.models.people import Employee, FaceTemplate
from hub.db.session import SessionFactory, transaction
from hub.services.audit import audit
from hub.services.errors import ServiceError
from hub.services.face.engine import FaceEngine
from hub.services.face.gallery import FaceGallery, NewTemplate

MAX_PHOTOS = 10
MAX_PIXELS = DEFAULT_MAX_PIXELS


class EnrolmentError(ServiceError, ValueError):
    """status: HTTP status to answer; code: stable reason; index: the photo at fault (0-based)."""

    def __init__(self, status: int, code: str, message: str, index: int | None = None) -> None:
        where = f"photo {index + 1}: " if index is not None else ""
        super().__init__(f"{where}{code}: {message}", status=status, code=code)
        self.message, self.index = message, index  # the bare message; str(self) says where and why


@dataclass(frozen=True)
class EnrolResult:
    template_ids: list[str]
    face_px: list[int]


def enrol(*, sessions: SessionFactory, engine: FaceEngine, gallery: FaceGallery, employee_id: int,
          photos: list[bytes], actor: str, photo_dir: Path | None) -> EnrolResult:
    """``photo_dir``: keep the photos there (setting keep_enrolment_photos), else discard them."""
    if not 1 <= len(photos) <= MAX_PHOTOS:
        raise EnrolmentError(422, "photo_count", f"send 1 to {MAX_PHOTOS} photos, got {len(photos)}")
    with sessions() as s:
        emp = s.get(Employee, employee_id)
        if emp is None or emp.erased_at is not None:
            raise EnrolmentError(404, "no_employee", f"no employee {employee_id}")
    faces: list[NewTemplate] = []
    jpegs: list[bytes | None] = []
    for i, data in enumerate(photos):
        try:
            # Decoded and analysed in a face worker; a kept photo comes back re-encoded there.
            analysis = engine.analyze_enrolment(data, max_pixels=MAX_PIXELS, keep_jpeg=photo_dir is not None)
            face = check_enrolment(analysis.faces)
        except ImageError as exc:
            raise EnrolmentError(422 if exc.reason_code != "too_many_pixels" else 413, exc.reason_code,
                                 exc.message, i) from exc
        except EnrolmentRejected as exc:
            raise EnrolmentError(422, exc.code, exc.message, i) from exc
        assert face.encoding is not None
        conflict = enrolment_conflict(gallery.search(face.encoding, k=3), employee_id=employee_id)
        if conflict is not None:
            raise EnrolmentError(409, "already_enrolled",
                                 f"this face is already enrolled as employee {conflict.employee_id} "
                                 f"(distance {conflict.distance:.3f})", i)
        faces.append(NewTemplate(encoding=face.encoding, face_px=face.face_px, blur=face.blur))
        jpegs.append(analysis.jpeg)
    _same_person(faces)
    written: list[Path] = []
    try:
        with transaction(sessions) as s:
            rows = gallery.add(s, employee_id=employee_id, templates=faces, actor=actor)
            if photo_dir is not None:
                for row, jpeg in zip(rows, jpegs, strict=True):
                    assert jpeg is not None
                    path = photo_dir / str(employee_id) / f"{row.id}.jpg"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(jpeg)  # re-encoded by the worker: no EXIF (GPS, serials) kept
                    written.append(path)
                    row.photo_path = str(path)
            s.flush()
            audit(s, actor=actor, action="face.enrol", target_type="employee", target_id=str(employee_id),
                  detail={"templates": [r.id for r in rows], "photos_kept": photo_dir is not None})
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    gallery.apply_added(rows, [f.encoding for f in faces])
    return EnrolResult(template_ids=[r.id for r in rows], face_px=[f.face_px for f in faces])


def _same_person(faces: list[NewTemplate]) -> None:
    """Photos of one upload must show one person (two people's photos under one name is a mistake)."""
    for i in range(1, len(faces)):
        d = float(np.linalg.norm(faces[0].encoding - faces[i].encoding))
        if d > 0.6:
            raise EnrolmentError(422, "different_people",
                                 f"does not show the same person as photo 1 (distance {d:.3f})", i)


def template_count(sessions: SessionFactory, employee_id: int) -> int:
    from sqlalchemy import func, select

    with sessions() as s:
        return int(s.execute(select(func.count()).select_from(FaceTemplate)
                             .where(FaceTemplate.employee_id == employee_id)).scalar_one())
