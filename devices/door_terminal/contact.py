"""Door-position sensors (a reed switch on the frame). ``GpioDoorContact`` reads one from a GPIO input;
the simulator's ``SimulatedDoorContact`` lives in ``firmware_sim.adapters``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from devices.door_terminal.lock import LockError


class DoorContact(Protocol):
    def is_door_open(self) -> bool: ...


class GpioDoorContact:
    """A switch on a GPIO input; ``open_level`` is the level the line reads while the door is open
    (1 for the usual normally-closed reed switch to ground with a pull-up). libgpiod v2 or sysfs."""

    SYSFS = Path("/sys/class/gpio")

    def __init__(self, *, pin: int, open_level: int = 1, chip: str = "/dev/gpiochip0") -> None:
        self.pin, self.open_level = pin, open_level
        self._request: Any = None
        try:
            import gpiod  # only on the device
        except ImportError:
            gpiod = None
        if gpiod is not None and Path(chip).exists() and hasattr(gpiod, "request_lines"):
            from gpiod.line import Direction

            self._request = gpiod.request_lines(chip, consumer="officehub-door-contact", config={
                pin: gpiod.LineSettings(direction=Direction.INPUT)})
        elif self.SYSFS.is_dir():
            line = self.SYSFS / f"gpio{pin}"
            try:
                if not line.exists():
                    (self.SYSFS / "export").write_text(str(pin))
                    deadline = time.monotonic() + 2
                    while not (line / "direction").exists() and time.monotonic() < deadline:
                        time.sleep(0.05)
                (line / "direction").write_text("in")
            except OSError as exc:
                raise LockError(f"cannot set up door contact GPIO {pin} through sysfs: {exc}") from exc
            self._line = line
        else:
            raise LockError("no GPIO found for the door contact (neither libgpiod nor /sys/class/gpio)")

    def is_door_open(self) -> bool:
        try:
            if self._request is not None:
                level = 1 if int(self._request.get_value(self.pin)) else 0  # Value.ACTIVE == 1
            else:
                level = int((self._line / "value").read_text().strip() or "0")
        except OSError as exc:
            raise LockError(f"door contact GPIO {self.pin} read failed: {exc}") from exc
        return level == self.open_level
