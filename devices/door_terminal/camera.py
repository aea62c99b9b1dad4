"""Camera capture with OpenCV for the door terminal: a camera index ("0"), a video file or an
RTSP/HTTP stream URL, or a folder of images. Frames come out as RGB uint8 arrays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from facecore.images import ImageError, load_image_file

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class CameraError(RuntimeError):
    pass


class OpenCvCamera:
    """``FaceSource`` over ``cv2.VideoCapture`` (index, file or URL) or a folder of stills."""

    def __init__(self, spec: str, *, fps: float = 5.0, loop: bool = False) -> None:
        self.spec = spec
        self.fps = fps
        self.loop = loop
        self._closed = False
        self._folder = Path(spec) if Path(spec).is_dir() else None
        if self._folder is None and not spec.isdigit() and "://" not in spec and not Path(spec).is_file():
            raise CameraError(f"camera {spec!r} is neither an index, a URL, a video file nor a folder")

    def frames(self) -> Iterator[np.ndarray]:
        if self._folder is not None:
            yield from self._stills(self._folder)
            return
        cap = cv2.VideoCapture(int(self.spec) if self.spec.isdigit() else self.spec)
        if not cap.isOpened():
            raise CameraError(f"cannot open camera {self.spec!r}")
        src_fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        # Decoding every frame of a 30 fps file costs CPU the encoder needs: keep ~self.fps.
        skip = max(1, round(src_fps / self.fps)) if src_fps > 0 and not self.spec.isdigit() else 1
        n = 0
        try:
            while not self._closed:
                ok, bgr = cap.read()
                if not ok:
                    if self.loop and not self.spec.isdigit():
                        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                        continue
                    return
                n += 1
                if n % skip == 0:
                    yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()

    def _stills(self, folder: Path) -> Iterator[np.ndarray]:
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CameraError(f"no images in {folder}")
        while not self._closed:
            for f in files:
                if self._closed:
                    return
                try:
                    yield load_image_file(f)
                except ImageError:
                    continue
            if not self.loop:
                return

    def close(self) -> None:
        self._closed = True
