"""Resident memory of another process (the hub under test), from /proc."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def status_kb(pid: int, field: str = "VmRSS") -> int:
    """A ``/proc/<pid>/status`` memory field in KiB: ``VmRSS`` now, ``VmHWM`` the peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


@dataclass
class Growth:
    before_mb: float = 0.0
    peak_mb: float = 0.0
    after_mb: float = 0.0
    how: str = ""

    @property
    def peak_growth_mb(self) -> float:
        return self.peak_mb - self.before_mb

    def __str__(self) -> str:
        return (f"RSS {self.before_mb:.0f} MB → peak {self.peak_mb:.0f} MB (+{self.peak_growth_mb:.0f}), "
                f"after {self.after_mb:.0f} MB [{self.how}]")


@contextmanager
def rss_growth(pid: int) -> Iterator[Growth]:
    """The peak RSS of ``pid`` during the block, against its RSS at the start.

    The kernel's high-water mark is reset to the current RSS first (``clear_refs`` 5), so the peak
    is exact, however short the spike. Where that is not allowed, RSS is sampled every 5 ms instead.
    """
    growth = Growth(before_mb=status_kb(pid) / 1024)
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        growth.how = "VmHWM reset"
        sampler = None
    except OSError:
        growth.how = "sampled every 5 ms"
        peak = [growth.before_mb]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.005):
                peak.append(status_kb(pid) / 1024)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    try:
        yield growth
    finally:
        growth.after_mb = status_kb(pid) / 1024
        if sampler is None:
            growth.peak_mb = status_kb(pid, "VmHWM") / 1024
        else:
            stop.set()
            sampler.join()
            growth.peak_mb = max(*peak, growth.after_mb)
