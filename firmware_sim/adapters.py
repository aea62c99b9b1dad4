"""Simulated hardware for the fleet: lock, printer, camera and firmware faults (no threads, no I/O beyond files)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devices.print_box.ports import PrinterStatus

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True, slots=True)
class LockOpening:
    duration_s: float
    at: float  # time.time()


class SimulatedLock:
    """Records every opening; 'open' is computed from the clock, so no timer thread is needed."""

    def __init__(self) -> None:
        self.openings: list[LockOpening] = []
        self._open_until = 0.0
        self._lock = threading.Lock()
        self.fail_next: str | None = None  # scenario hook: next open() raises with this message

    def open(self, duration_s: float) -> None:
        with self._lock:
            if self.fail_next is not None:
                msg, self.fail_next = self.fail_next, None
                raise RuntimeError(msg)
            self.openings.append(LockOpening(duration_s, time.time()))
            self._open_until = time.monotonic() + duration_s

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def close(self) -> None:
        self._open_until = 0.0


class SimulatedDoorContact:
    """The door-position switch of a simulated door: scenarios (and tests) open and close the door."""

    def __init__(self) -> None:
        self.open = False

    def is_door_open(self) -> bool:
        return self.open


@dataclass
class SimulatedPrinter:
    """One queue whose state scenarios can change (paper out, jam, offline)."""

    name: str
    state: str = "idle"
    message: str = ""
    accepting: bool = True
    printed: list[str] = field(default_factory=list)

    def status(self) -> PrinterStatus:
        return PrinterStatus(name=self.name, state=self.state, message=self.message, accepting=self.accepting)

    def fault(self, message: str, state: str = "stopped") -> None:
        self.state, self.message = state, message

    def clear(self) -> None:
        self.state, self.message = "idle", ""


class SimulatedPrinters:
    """``PrinterSource`` over simulated printers."""

    def __init__(self, printers: list[SimulatedPrinter]) -> None:
        self.items = printers

    def printers(self) -> list[PrinterStatus]:
        return [p.status() for p in self.items]


class SimulatedCamera:
    """``FaceSource`` that yields image files from a folder in name order (looping if asked)."""

    def __init__(self, folder: Path, *, loop: bool = False) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"camera folder {self.folder} does not exist")
        self.loop = loop
        self._closed = False

    def frames(self) -> Iterator[Path | bytes]:
        files = sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {self.folder}")
        while not self._closed:
            for f in files:
                if self._closed:
                    return
                yield f
            if not self.loop:
                return

    def close(self) -> None:
        self._closed = True


class InjectedCamera:
    """``FaceSource`` fed by the test or benchmark: ``show(frame)`` puts a frame in front of it."""

    def __init__(self) -> None:
        import queue

        self._queue: queue.Queue[object] = queue.Queue()
        self._closed = False

    def show(self, frame: Path | bytes | object) -> None:
        self._queue.put(frame)

    def frames(self) -> Iterator[Path | bytes]:
        import queue

        while not self._closed:
            try:
                frame = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            yield frame  # type: ignore[misc]  # show() takes any frame; consumers check its type

    def close(self) -> None:
        self._closed = True


def simulated_install(version: str, image: Path) -> None:
    """A simulated device's firmware is the version its A/B slots name: installing the verified
    image takes no hardware step (``FirmwareFaults`` makes chosen installs fail instead)."""


def simulated_switch(version: str) -> None:
    """Likewise switching back to the previous slot on a rollback."""


class FirmwareFaults:
    """Which simulated devices fail a firmware install: a fixed set of ids and/or a seeded rate.

    The failure happens after download and verification, in the "apply" step (as a failing health
    check would), so the device's A/B logic must keep the old slot active.
    """

    def __init__(self, *, fail_ids: set[str] | None = None, failure_rate: float = 0.0, seed: int = 0) -> None:
        if not 0 <= failure_rate <= 1:
            raise ValueError("failure_rate must be within 0..1")
        self.fail_ids = set(fail_ids or ())
        self.failure_rate = failure_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.failed: list[tuple[str, str]] = []  # (device id, version) installs that failed

    def should_fail(self, device_id: str) -> bool:
        if device_id in self.fail_ids:
            return True
        with self._lock:
            return self.failure_rate > 0 and self._rng.random() < self.failure_rate

    def hook_for(self, device_id: str) -> Callable[[str, Path], None]:
        def install(version: str, image: Path) -> None:
            if self.should_fail(device_id):
                with self._lock:
                    self.failed.append((device_id, version))
                raise RuntimeError(f"simulated health check failed after installing {version}")

        return install
