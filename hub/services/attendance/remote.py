"""Remote check-in: inside an office geofence, and a selfie verified 1:1 against the caller's own
templates -> a punch with source ``remote``; otherwise refused with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from facecore.images import ImageError
from facecore.models import MODEL_ID
from hub.db.models.attendance import OfficeLocation
from hub.db.session import transaction
from hub.domain.geofence import GeofenceError, inside
from hub.services.attendance.punches import PunchIn, record_punch
from hub.services.errors import ServiceError
from hub.services.face.recognition import NoUsableFace
from hub.services.face.service import FaceService


class RemoteRefused(ServiceError, ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}", status=status, code=code)
        self.message = message


def remote_checkin(face: FaceService, *, employee_id: int, lat: float, lon: float, selfie: bytes,
                   direction: str = "AUTO", location_id: int | None = None) -> dict[str, Any]:
    with face.sessions() as s:
        stmt = select(OfficeLocation)
        if location_id is not None:
            stmt = stmt.where(OfficeLocation.id == location_id)
        offices = s.execute(stmt).scalars().all()
    if not offices:
        raise RemoteRefused(422, "no_office", "no office location is configured for remote check-in")
    try:
        checks = [(o, *inside(lat, lon, center_lat=o.lat, center_lon=o.lon, radius_m=o.radius_m)) for o in offices]
    except GeofenceError as exc:
        raise RemoteRefused(422, "bad_position", str(exc)) from exc
    office, ok, dist = min(checks, key=lambda c: c[2])
    if not ok:
        raise RemoteRefused(403, "outside_geofence",
                            f"{dist:.0f} m from {office.name}, allowed radius {office.radius_m:.0f} m")
    try:
        face_obs = face.recognizer.subject(selfie, max_pixels=20_000_000)
    except ImageError as exc:
        raise RemoteRefused(422, exc.reason_code, exc.message) from exc
    except NoUsableFace as exc:
        raise RemoteRefused(422, exc.code, exc.message) from exc
    assert face_obs.encoding is not None
    distance = face.gallery.distance_to(employee_id, face_obs.encoding)
    if distance is None:
        raise RemoteRefused(409, "not_enrolled", "you have no enrolled face to verify the selfie against")
    threshold = face.policy.threshold
    if distance > threshold:
        raise RemoteRefused(403, "no_match", f"selfie does not match your enrolled face "
                                             f"(distance {distance:.3f} > {threshold:.2f})")
    now = datetime.now(UTC)
    with transaction(face.sessions) as s:
        record_punch(s, PunchIn(key=f"remote:{uuid.uuid4().hex}", employee_id=employee_id, ts=now,
                                direction=direction, source="remote", device_id=None, door=office.name,
                                mode=None, distance=distance, threshold=threshold, model_id=MODEL_ID))
    return {"accepted": True, "employee_id": employee_id, "ts": now, "office": office.name,
            "distance_m": round(dist, 1), "face_distance": distance, "threshold": threshold}
