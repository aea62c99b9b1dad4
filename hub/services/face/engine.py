"""One face pipeline per hub process, calls serialised: dlib holds the GIL, so parallel calls only
add contention; the lock also keeps memory bounded to one frame in flight."""

from __future__ import annotations

import threading

import numpy as np

from facecore.pipeline import FaceObservation, FacePipeline
from facecore.policy import MatchPolicy


class FaceEngine:
    def __init__(self, *, policy: MatchPolicy | None = None) -> None:
        self.policy = policy or MatchPolicy()
        # Enrolment photos are large: detect on 640 px so faces from ~80 px are found reliably.
        self._enrol = FacePipeline(detect_max_side=640)
        # Check-in: fast detection, and faces below the policy's minimum are never encoded.
        self._checkin = FacePipeline(min_face_px=self.policy.min_face_px)
        self._lock = threading.Lock()

    def analyze_enrolment(self, rgb: np.ndarray) -> list[FaceObservation]:
        with self._lock:
            return self._enrol.analyze(rgb)

    def analyze_checkin(self, rgb: np.ndarray) -> list[FaceObservation]:
        with self._lock:
            return self._checkin.analyze(rgb)
