"""Thin terminals keep the identify body under the contract's limit, even for noisy big frames."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from devices.door_terminal.checkin import _jpeg_b64
from protocol.bodies_door import IdentifyRequest


def test_noisy_large_frame_fits_the_identify_body() -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(3000, 4000, 3), dtype=np.uint8)
    text = _jpeg_b64(noise, 1024)
    assert len(text) <= 380_000
    IdentifyRequest(image_b64=text)  # accepted by the contract
    assert max(Image.open(io.BytesIO(base64.b64decode(text))).size) <= 1024


def test_small_frame_is_not_upscaled() -> None:
    frame = np.zeros((240, 320, 3), np.uint8)
    assert Image.open(io.BytesIO(base64.b64decode(_jpeg_b64(frame, 1024)))).size == (320, 240)
