"""Door lock adapters. ``GpioRelayLock`` drives a relay from a Raspberry Pi GPIO pin;
the simulator's ``SimulatedLock`` lives in ``firmware_sim.adapters``."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol


class LockError(RuntimeError):
    """The lock hardware is missing or refused an operation."""


class Lock(Protocol):
    def open(self, duration_s: float) -> None:
        """Release the door for ``duration_s`` seconds; returns at once (re-locks by itself)."""
        ...

    @property
    def is_open(self) -> bool: ...

    def close(self) -> None:
        """Lock now (and release any hardware handle)."""
        ...


class GpioRelayLock:
    """Relay on a GPIO line: energised = unlocked. Uses libgpiod v2 when installed, else sysfs."""

    SYSFS = Path("/sys/class/gpio")

    def __init__(self, *, pin: int, active_high: bool = True, chip: str = "/dev/gpiochip0") -> None:
        self.pin = pin
        self.active_high = active_high
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._open_until = 0.0
        self._request: Any = None
        try:
            import gpiod  # only on the device
        except ImportError:
            gpiod = None
        if gpiod is not None and Path(chip).exists() and hasattr(gpiod, "request_lines"):
            from gpiod.line import Direction, Value

            self._values = (Value.ACTIVE, Value.INACTIVE)
            self._request = gpiod.request_lines(chip, consumer="officehub-door", config={
                pin: gpiod.LineSettings(direction=Direction.OUTPUT, active_low=not active_high,
                                        output_value=Value.INACTIVE)})
        elif self.SYSFS.is_dir():
            self._sysfs_setup()
        else:
            raise LockError("no GPIO found (neither libgpiod nor /sys/class/gpio): GpioRelayLock only runs "
                            "on a Raspberry Pi or similar board; use the simulator off-device")

    def _sysfs_setup(self) -> None:
        line = self.SYSFS / f"gpio{self.pin}"
        try:
            if not line.exists():
                (self.SYSFS / "export").write_text(str(self.pin))
                deadline = time.monotonic() + 2
                while not (line / "direction").exists() and time.monotonic() < deadline:
                    time.sleep(0.05)  # udev sets permissions asynchronously after export
            (line / "direction").write_text("out")
            (line / "active_low").write_text("0" if self.active_high else "1")
        except OSError as exc:
            raise LockError(f"cannot set up GPIO {self.pin} through sysfs: {exc}") from exc
        self._line = line
        self._write(False)

    def _write(self, energised: bool) -> None:
        try:
            if self._request is not None:
                self._request.set_value(self.pin, self._values[0] if energised else self._values[1])
            else:
                (self._line / "value").write_text("1" if energised else "0")
        except OSError as exc:
            raise LockError(f"GPIO {self.pin} write failed: {exc}") from exc

    def open(self, duration_s: float) -> None:
        with self._lock:
            self._write(True)
            self._open_until = time.monotonic() + duration_s
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(duration_s, self._relock)
            self._timer.daemon = True
            self._timer.start()

    def _relock(self) -> None:
        with self._lock:
            if time.monotonic() >= self._open_until - 0.01:
                self._write(False)

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._open_until = 0.0
            self._write(False)
            if self._request is not None:
                self._request.release()
                self._request = None
