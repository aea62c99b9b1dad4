"""1:N identify and 1:1 verify on uploaded pictures (analysed in the face workers), with the shared
matching policy. Raises ImageError for a bad picture and FaceEngineUnavailable when the engine is
busy or its worker died (503)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecore.images import DEFAULT_MAX_PIXELS
from facecore.pipeline import FaceObservation
from facecore.policy import REJECTED_QUALITY, Decision, MatchPolicy, choose_subject, decide_frame
from hub.services.errors import ServiceError
from hub.services.face.engine import FaceEngine
from hub.services.face.gallery import FaceGallery


class NoUsableFace(ServiceError, ValueError):
    """code: no_face | face_too_small | multiple_faces."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}", status=422, code=code)
        self.message = message


@dataclass(frozen=True)
class Identification:
    decision: Decision
    faces: int
    subject: FaceObservation | None


class Recognizer:
    def __init__(self, *, engine: FaceEngine, gallery: FaceGallery) -> None:
        self.engine = engine
        self.gallery = gallery

    @property
    def policy(self) -> MatchPolicy:
        return self.engine.policy

    def identify(self, image: bytes, *, policy: MatchPolicy | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> Identification:
        policy = policy or self.policy
        faces = self.engine.analyze_checkin(image, max_pixels=max_pixels)
        decision = decide_frame(faces, search=self.gallery.search, policy=policy,
                                gallery_identities=self.gallery.identities())
        subject = None
        if decision.outcome != REJECTED_QUALITY or faces:
            choice = choose_subject(faces, min_face_px=policy.min_face_px, area_ratio=policy.subject_area_ratio)
            subject = faces[choice.index] if choice.index is not None else None
        return Identification(decision, len(faces), subject)

    def subject(self, image: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> FaceObservation:
        """The one face of a selfie/verify photo, or NoUsableFace."""
        faces = self.engine.analyze_checkin(image, max_pixels=max_pixels)
        choice = choose_subject(faces, min_face_px=self.policy.min_face_px,
                                area_ratio=self.policy.subject_area_ratio)
        if choice.index is None or faces[choice.index].encoding is None:
            raise NoUsableFace(choice.code or "face_too_small", choice.reason)
        face = faces[choice.index]
        if face.blur < self.policy.min_blur:
            raise NoUsableFace("too_blurry", f"sharpness {face.blur:.1f} < {self.policy.min_blur:.1f}")
        return face

    def compare(self, a: np.ndarray, b: np.ndarray) -> tuple[bool, float, float]:
        """1:1 on two subjects' encodings: (same person, distance, threshold)."""
        distance = float(np.linalg.norm(a - b))
        return distance <= self.policy.threshold, distance, self.policy.threshold
