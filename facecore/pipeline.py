"""Face detection + encoding for check-in and enrolment.

Profile (640×480 frames, this 2-core box, dlib-bin without BLAS): HOG detection with one upsample
on the full frame ≈ 110–160 ms, the ResNet encoder ≈ 100 ms per face, landmarks < 1 ms. The
encoder cost is fixed per face, so the saving comes from detection: `FacePipeline` runs HOG on a
copy downscaled to `detect_max_side`, scales the boxes back, and takes landmarks and the encoding
from the full-resolution image, so identity decisions match the naive call for every face the
quality gate would accept (on a 640×480 frame, faces from ≈ 45 landmark px are found).

dlib is not thread-safe: every dlib call in a process is serialised on ``facecore.models.DLIB_LOCK``,
so a FacePipeline may be shared between threads but they run one at a time; for parallel encoding
(and to contain a native crash) use worker processes, as the hub does (``facecore.worker``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from facecore.models import DLIB_LOCK, get_models

Box = tuple[int, int, int, int]  # (top, right, bottom, left), full-resolution pixels
_BLUR_SIDE = 128  # side of the aligned grey chip the Laplacian runs on: blur is resolution-independent


@dataclass(frozen=True)
class FaceObservation:
    """One face in a frame.

    `face_px` is measured from the 5 landmarks (side of dlib's aligned face chip without padding,
    roughly brow-to-chin) rather than from the HOG box: the box jumps in 20 % pyramid steps and
    differs between detectors, the landmark size agrees to ±2 px, so quality gates give the same
    answer whichever detector found the face. It is ≈ 0.8 × the HOG box side.
    `encoding` is None only for faces below the pipeline's `min_face_px` (never identified, so
    not encoded: the encoder costs ~100 ms per face on CPU).
    """

    box: Box
    encoding: np.ndarray | None  # float32[128]
    face_px: int
    blur: float  # variance of the Laplacian on the aligned grey face chip (higher = sharper)
    area: int  # HOG box width × height, px²


class FacePipeline:
    """Detect on a downscaled copy, encode at full resolution. Thread-safe (stateless per call)."""

    def __init__(
        self,
        *,
        detect_max_side: int = 320,
        upsample: int = 1,
        encode_model: str = "small",
        jitters: int = 1,
        min_face_px: int = 0,
    ) -> None:
        if detect_max_side < 80:
            raise ValueError("detect_max_side must be at least 80 (the HOG window)")
        if encode_model != "small":
            # The 68-point predictor is licensed for non-commercial use only; we ship the 5-point one.
            raise ValueError("only the 5-point 'small' landmark model is supported")
        if upsample < 0 or jitters < 1:
            raise ValueError("upsample must be >= 0 and jitters >= 1")
        self.detect_max_side = detect_max_side
        self.upsample = upsample
        self.jitters = jitters
        self.min_face_px = min_face_px

    def detect(self, rgb: np.ndarray) -> list[Box]:
        _check_rgb(rgb)
        height, width = rgb.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        models = get_models()
        with DLIB_LOCK:
            rects = models.detector(small, self.upsample)
        boxes = [
            (
                round(r.top() / scale),
                round(r.right() / scale),
                round(r.bottom() / scale),
                round(r.left() / scale),
            )
            for r in rects
        ]
        return [_trim(box, height, width) for box in boxes]

    def analyze(self, rgb: np.ndarray) -> list[FaceObservation]:
        """All faces in the frame, each with its box, encoding and quality measures."""
        boxes = self.detect(rgb)
        return _observe(rgb, boxes, jitters=self.jitters, min_face_px=self.min_face_px)


def naive_analyze(rgb: np.ndarray) -> list[FaceObservation]:
    """The baseline: face_recognition.face_locations + face_encodings on the full frame.

    face_px/blur come from the same landmark measurement as FacePipeline (< 1 ms per face)."""
    import face_recognition

    _check_rgb(rgb)
    with DLIB_LOCK:
        boxes: list[Box] = [tuple(b) for b in face_recognition.face_locations(rgb)]
        encodings = face_recognition.face_encodings(rgb, boxes, num_jitters=1, model="small")
    observations = _observe(rgb, boxes, jitters=1, min_face_px=10**9)  # measures only, no encoding
    return [
        replace(obs, encoding=np.asarray(enc, dtype=np.float32))
        for obs, enc in zip(observations, encodings, strict=True)
    ]


def _observe(
    rgb: np.ndarray, boxes: Sequence[Box], *, jitters: int, min_face_px: int
) -> list[FaceObservation]:
    with DLIB_LOCK:
        return _observe_locked(rgb, boxes, jitters=jitters, min_face_px=min_face_px)


def _observe_locked(
    rgb: np.ndarray, boxes: Sequence[Box], *, jitters: int, min_face_px: int
) -> list[FaceObservation]:
    import dlib

    models = get_models()
    shapes = [
        models.landmarks_5pt(rgb, dlib.rectangle(left, top, right, bottom))
        for top, right, bottom, left in boxes
    ]
    sizes = [round(dlib.get_face_chip_details(shape, _BLUR_SIDE, 0.0).rect.width()) for shape in shapes]
    to_encode = dlib.full_object_detections()
    for shape, size in zip(shapes, sizes, strict=True):
        if size >= min_face_px:
            to_encode.append(shape)
    descriptors: Any = (
        models.encoder.compute_face_descriptor(rgb, to_encode, jitters) if len(to_encode) else []
    )
    encoded = iter(descriptors)
    out = []
    for box, shape, size in zip(boxes, shapes, sizes, strict=True):
        top, right, bottom, left = box
        encoding = np.asarray(next(encoded), dtype=np.float32) if size >= min_face_px else None
        chip = cv2.cvtColor(dlib.get_face_chip(rgb, shape, _BLUR_SIDE, 0.0), cv2.COLOR_RGB2GRAY)
        out.append(
            FaceObservation(
                box=box,
                encoding=encoding,
                face_px=size,
                blur=float(cv2.Laplacian(chip, cv2.CV_64F).var()),
                area=max(0, right - left) * max(0, bottom - top),
            )
        )
    return out


def _trim(box: Box, height: int, width: int) -> Box:
    top, right, bottom, left = box
    return max(top, 0), min(right, width), min(bottom, height), max(left, 0)


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {rgb.dtype} {rgb.shape}")
