"""OpenCV capture for the door terminal: folders of stills and video files (real OpenCV)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from devices.door_terminal.camera import CameraError, OpenCvCamera


def test_folder_of_images(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 64, 3), (i * 50, 0, 255), np.uint8))
    (tmp_path / "notes.txt").write_text("not a frame")
    frames = list(OpenCvCamera(str(tmp_path)).frames())
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)
    assert tuple(frames[0][0, 0]) == (255, 0, 0)  # BGR on disk, RGB out


def test_video_file_is_read_at_the_requested_rate(tmp_path: Path) -> None:
    path = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 48))
    for i in range(40):
        writer.write(np.full((48, 64, 3), i * 5, np.uint8))
    writer.release()
    frames = list(OpenCvCamera(str(path), fps=5).frames())
    assert len(frames) == 10 and frames[0].shape == (48, 64, 3)


def test_bad_camera_spec(tmp_path: Path) -> None:
    with pytest.raises(CameraError):
        OpenCvCamera(str(tmp_path / "missing.mp4"))
    with pytest.raises(CameraError):
        list(OpenCvCamera(str(tmp_path)).frames())  # empty folder
