"""Two face terminals for the demo (one edge, one thin) whose simulated cameras slowly walk through
the dataset's probe photos, so the console shows live check-ins.

They run in the simulator's process, never the hub's: a door terminal runs dlib on its own camera
frames, and a fault there must not take the hub down (the hub's own face work is in its workers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from firmware_sim.fleet import SimFleet


class PacedFolder:
    """Probe photos one every ``every_s`` seconds, in a loop (a person walking up now and then)."""

    def __init__(self, folder: Path, every_s: float) -> None:
        self.files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".png"})
        self.every_s = every_s
        self._closed = threading.Event()

    def frames(self) -> Iterator[Path]:
        while self.files and not self._closed.wait(self.every_s):
            for f in self.files:
                if self._closed.wait(self.every_s):
                    return
                yield f

    def close(self) -> None:
        self._closed.set()


def start_face_terminals(*, broker_url: str, dataset: Path, workdir: Path, every_s: float = 15.0
                         ) -> Callable[[], None]:
    """Start the two terminals in the background; returns the function that stops them."""
    fleets = [SimFleet(broker_url=broker_url, doors=1, printboxes=0, seed=11 + i, heartbeat_s=10,
                       workdir=workdir / "sim-face", id_prefix=f"face-{mode}-", face_mode=mode)
              for i, mode in enumerate(("edge", "thin"))]
    cameras: list[PacedFolder] = []

    def run() -> None:
        time.sleep(2.0)  # let the hub subscribe first
        for fleet in fleets:
            fleet.start()
            for door in fleet.doors:
                if door.face is not None:
                    camera = PacedFolder(dataset / "probe", every_s=every_s)
                    cameras.append(camera)
                    threading.Thread(target=door.face.run, args=(camera,), daemon=True, name="demo-camera").start()

    def stop() -> None:
        for camera in cameras:
            camera.close()
        for fleet in fleets:
            fleet.stop()

    threading.Thread(target=run, daemon=True, name="demo-face-terminals").start()
    return stop
