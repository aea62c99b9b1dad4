"""``FaceService``: the face feature's state for routes and MQTT handlers (``services.get(FACE)``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from facecore.policy import Cooldown, MatchPolicy
from hub.db.session import SessionFactory
from hub.security.template_crypto import TemplateCipher
from hub.services.face.engine import FaceEngine
from hub.services.face.gallery import FaceGallery
from hub.services.face.recognition import Recognizer
from hub.services.face.snapshots import SnapshotStore
from hub.services.face.workers import FaceWorkerPool
from hub.services.keys import ServiceKey


@dataclass
class FaceService:
    sessions: SessionFactory
    engine: FaceEngine
    gallery: FaceGallery
    recognizer: Recognizer
    snapshots: SnapshotStore
    secret: bytes  # derives per-device transit keys (facecore.transit)
    photo_dir: Path | None  # set when enrolment photos are kept
    cooldown: Cooldown = field(default_factory=Cooldown)
    _cooldown_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def policy(self) -> MatchPolicy:
        return self.engine.policy

    def first_punch_of_approach(self, employee_id: int, device_id: str, *, cooldown_s: float | None = None) -> bool:
        """Cooldown: one approach to a door is one punch, however many frames arrive. ``cooldown_s``:
        the device's own policy (device config face_policy.cooldown_s), else the hub's."""
        with self._cooldown_lock:
            return self.cooldown.should_record(employee_id, now=time.monotonic(), scope=device_id,
                                               cooldown_s=cooldown_s)


FACE: ServiceKey[FaceService] = ServiceKey("face")


def build_face_service(*, sessions: SessionFactory, template_key: bytes, secret: str, data_dir: Path,
                       keep_photos: bool, snapshot_retention_days: float, pool: FaceWorkerPool,
                       policy: MatchPolicy | None = None) -> FaceService:
    engine = FaceEngine(pool=pool, policy=policy)
    gallery = FaceGallery(sessions=sessions, cipher=TemplateCipher(template_key))
    gallery.load()
    return FaceService(
        sessions=sessions, engine=engine, gallery=gallery, recognizer=Recognizer(engine=engine, gallery=gallery),
        snapshots=SnapshotStore(sessions=sessions, folder=data_dir / "snapshots",
                                retention_days=snapshot_retention_days),
        secret=secret.encode(), photo_dir=data_dir / "enrolment-photos" if keep_photos else None,
        cooldown=Cooldown(cooldown_s=engine.policy.cooldown_s))
