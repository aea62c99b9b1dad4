"""Seam between the door terminal and its camera: a ``FaceSource`` yields frames.

Implementations: ``devices.door_terminal.camera.OpenCvCamera`` (camera index, video file, stream
URL or folder) and the simulator's cameras in ``firmware_sim.adapters``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

Frame = Path | bytes | np.ndarray


class FaceSource(Protocol):
    def frames(self) -> Iterator[Frame]:
        """Yield frames (an image file path, JPEG bytes or an RGB array) until closed."""
        ...

    def close(self) -> None: ...
