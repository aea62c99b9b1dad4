"""The hub's face engine: pictures in, face observations out, always computed in the worker pool.

Callers hand over the uploaded bytes, not decoded pixels: decoding untrusted images is native code
too, and keeping it in the workers keeps both crashes and big decoded frames out of the hub process.
"""

from __future__ import annotations

from dataclasses import dataclass

from facecore.images import DEFAULT_MAX_PIXELS, ImageError
from facecore.pipeline import FaceObservation
from facecore.policy import MatchPolicy
from facecore.worker import CHECKIN, ENROLMENT, FaceJob, FaceReply
from hub.services.face.workers import FaceWorkerPool


@dataclass(frozen=True)
class Analysis:
    faces: list[FaceObservation]
    jpeg: bytes | None  # the picture re-encoded without metadata, when asked for


class FaceEngine:
    def __init__(self, *, pool: FaceWorkerPool, policy: MatchPolicy | None = None) -> None:
        self.policy = policy or MatchPolicy()
        self.pool = pool

    def analyze_checkin(self, image: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> list[FaceObservation]:
        """Raises ImageError (a bad picture) or FaceEngineUnavailable (answer 503)."""
        return _faces(self.pool.submit(FaceJob(kind=CHECKIN, image=image, max_pixels=max_pixels))).faces

    def analyze_enrolment(self, image: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                          keep_jpeg: bool = False) -> Analysis:
        return _faces(self.pool.submit(FaceJob(kind=ENROLMENT, image=image, max_pixels=max_pixels,
                                               want_jpeg=keep_jpeg)))


def _faces(reply: FaceReply) -> Analysis:
    if reply.error is not None:
        raise ImageError(*reply.error)
    return Analysis(faces=reply.faces, jpeg=reply.jpeg)
