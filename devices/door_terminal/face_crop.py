"""Thin mode sends the hub a face crop, not the whole frame (DESIGN §3, ``req/identify``).

The terminal finds faces with the same HOG detector the hub uses, on a small copy (≈ 19 ms for a
640×480 frame here), and sends the smallest region that holds every face found, padded by 0.75 of
the largest face on each side: the hub re-detects, takes landmarks and encodes inside it. Every face
is kept, so a group photo still reaches the hub as a group and the policy treats it as one. No face
found: the whole frame goes, and the hub, which looks harder, decides. On the dataset the crop gives
the same decision as the frame for every image (tests/integration/test_facecore.py) at about half
the pixels.
"""

from __future__ import annotations

import threading

import numpy as np

from facecore.pipeline import Box, FacePipeline

CROP_PAD = 0.75
DETECT_MAX_SIDE = 240


def crop_around(rgb: np.ndarray, boxes: list[Box], *, pad: float = CROP_PAD) -> np.ndarray:
    """The part of the frame holding every box, with `pad` × the largest face side around it."""
    if not boxes:
        return rgb
    height, width = rgb.shape[:2]
    top = min(b[0] for b in boxes)
    right = max(b[1] for b in boxes)
    bottom = max(b[2] for b in boxes)
    left = min(b[3] for b in boxes)
    margin = round(pad * max(max(b[1] - b[3], b[2] - b[0]) for b in boxes))
    region = rgb[max(0, top - margin):min(height, bottom + margin), max(0, left - margin):min(width, right + margin)]
    return np.ascontiguousarray(region)


class FaceCropper:
    """Lazily built detector (the dlib models load once); dlib serialises calls itself."""

    def __init__(self, *, detect_max_side: int = DETECT_MAX_SIDE) -> None:
        self._detect_max_side = detect_max_side
        self._pipeline: FacePipeline | None = None
        self._lock = threading.Lock()

    def crop(self, rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """(image to send, faces found at the terminal)."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = FacePipeline(detect_max_side=self._detect_max_side)
            boxes = self._pipeline.detect(rgb)
        return crop_around(rgb, boxes), len(boxes)
