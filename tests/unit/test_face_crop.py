"""Geometry of the thin terminal's face crop."""

from __future__ import annotations

import numpy as np

from devices.door_terminal.face_crop import crop_around

FRAME = np.arange(480 * 640 * 3, dtype=np.uint32).reshape(480, 640, 3).astype(np.uint8)


def test_no_face_sends_the_whole_frame() -> None:
    assert crop_around(FRAME, []) is FRAME


def test_one_face_is_padded_on_every_side() -> None:
    crop = crop_around(FRAME, [(200, 400, 300, 300)], pad=0.5)  # (top, right, bottom, left), 100 px
    assert crop.shape == (200, 200, 3)
    assert np.array_equal(crop, FRAME[150:350, 250:450])


def test_the_crop_holds_every_face_and_stops_at_the_frame_edges() -> None:
    crop = crop_around(FRAME, [(10, 100, 90, 20), (300, 630, 470, 460)], pad=0.75)
    # Padding by 0.75 × the largest face (170 px → 128 px) is clamped at each edge.
    assert crop.shape == (480, 640, 3)
    small = crop_around(FRAME, [(100, 200, 180, 120), (120, 320, 200, 240)], pad=0.25)
    assert small.shape == (100 + 2 * 20, 200 + 2 * 20, 3) and small.flags["C_CONTIGUOUS"]
