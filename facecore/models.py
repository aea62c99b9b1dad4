"""The dlib models behind face_recognition, loaded once per process from face_recognition_models.

We load only what the pipeline uses (HOG detector, 5-point landmarks, ResNet encoder) instead of
importing face_recognition, which also loads the CNN detector and the non-commercial 68-point model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MODEL_ID = "dlib_resnet_v1+5pt"

_lock = threading.Lock()
_models: Models | None = None

# dlib's detector, predictor and encoder are not safe to call from several threads at once (seen:
# heap corruption with a few concurrent callers). Every call in a process goes through this lock; a
# process that needs parallel face work uses several processes (the hub's face worker pool).
DLIB_LOCK = threading.Lock()


@dataclass(frozen=True)
class Models:
    detector: Any
    landmarks_5pt: Any
    encoder: Any


def get_models() -> Models:
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                import dlib
                import face_recognition_models as frm

                _models = Models(
                    detector=dlib.get_frontal_face_detector(),
                    landmarks_5pt=dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
                    encoder=dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
                )
    return _models
