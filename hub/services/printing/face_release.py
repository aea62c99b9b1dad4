"""Release by face: a held job prints when the hub has verified its owner's face at a door
terminal configured as the printer's release station.

Print trusts only punches the face feature recorded (``punches`` rows, ``source="face"``): a thin
terminal's punch is the hub's own decision and an edge terminal's is recorded only after the hub
re-verified the reported encoding. It never acts on the employee id an edge terminal claims in its
event (that handler may run before the re-verification). Identification is the face feature's
(``services.find(FACE).recognizer``); print holds no biometric data of its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.db.models.attendance import PunchRow
from hub.db.models.printing import ReleaseStation
from hub.services.face.service import FACE
from hub.services.keys import Services
from hub.services.printing.jobs import PrintRefused
from hub.services.printing.release import ReleaseService

log = logging.getLogger(__name__)

# A punch older than this (an edge terminal catching up after being offline) releases nothing:
# its owner is no longer standing at the printer.
FRESH_FOR = timedelta(minutes=2)


class FaceReleaseWatcher:
    """Follows newly recorded face punches (by id) and releases held jobs at release stations."""

    def __init__(self, release: ReleaseService) -> None:
        self.release = release
        self.sessions = release.sessions
        with self.sessions() as s:
            self._cursor: int = int(s.execute(select(func.max(PunchRow.id))).scalar() or 0)

    def scan(self, now: datetime | None = None) -> list[str]:
        """Release for every fresh face punch at a release station since the last scan; the job ids."""
        now = now or datetime.now(UTC)
        with self.sessions() as s:
            rows = s.execute(select(PunchRow.id, PunchRow.device_id, PunchRow.employee_id, PunchRow.ts)
                             .where(PunchRow.id > self._cursor, PunchRow.source == "face")
                             .order_by(PunchRow.id).limit(500)).all()
            stations = set(s.execute(select(ReleaseStation.terminal_id)).scalars()) if rows else set()
        released: list[str] = []
        for row_id, device_id, employee_id, ts in rows:
            if device_id in stations and ts >= now - FRESH_FOR:
                got = self.release.release_for_employee(terminal_id=device_id, employee_id=employee_id)
                if got:
                    log.info("face at %s released %d job(s) of employee %s", device_id, len(got), employee_id)
                released += got
            self._cursor = row_id
        return released


def identify_employee(services: Services, image: bytes) -> int:
    face = services.find(FACE)
    if face is None:
        raise PrintRefused(503, "face recognition is not enabled on this hub; release with a PIN or QR code")
    from facecore.images import ImageError
    from hub.services.face.workers import FaceEngineUnavailable

    try:
        decision = face.recognizer.identify(image).decision
    except ImageError as exc:
        raise PrintRefused(422, f"the photo could not be read: {exc}") from exc
    except FaceEngineUnavailable as exc:
        raise PrintRefused(503, f"{exc}; retry in {exc.retry_after_s} s") from exc
    if decision.outcome != "accepted" or decision.employee_id is None:
        raise PrintRefused(403, f"face not recognised ({decision.outcome}: {decision.reason})")
    return int(decision.employee_id)


def release_by_face(services: Services, release: ReleaseService, *, terminal_id: str, image: bytes
                    ) -> dict[str, Any]:
    employee_id = identify_employee(services, image)
    released = release.release_for_employee(terminal_id=terminal_id, employee_id=employee_id)
    return {"employee_id": employee_id, "job_ids": released,
            "message": f"{len(released)} job(s) released" if released else "no held jobs for you here"}
