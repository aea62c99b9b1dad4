"""The box's release panel: what an employee types or scans at the printer to get held jobs.

USB keypads and QR/barcode scanners present themselves as keyboards, so the panel reads lines from a
text stream (standard input, or a tty / input device path) and answers on the box's display stream:

- ``<PIN>`` (4–12 digits) — release this person's held jobs by PIN;
- ``<employee number> <PIN>`` — the same, with the PIN checked against that employee only (typos
  are then rate-limited per person, not for the whole box);
- anything else without spaces, 8+ characters — a scanned release code (QR) for one job.

The hub decides (``req/release``); the panel only parses and shows the answer. A line never appears
in the box's log: it holds a PIN.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import ValidationError

from devices.runtime import DeviceAgent
from devices.runtime.requests import RequestTimeout
from protocol.payloads import ResponseStatus

_PIN = re.compile(r"^[0-9]{4,12}$")


def parse_line(line: str) -> dict[str, str] | None:
    """The release request a panel line asks for, or None when it is not one."""
    parts = line.strip().split()
    if len(parts) == 1 and _PIN.match(parts[0]):
        return {"pin": parts[0]}
    if len(parts) == 2 and _PIN.match(parts[1]):
        return {"employee": parts[0], "pin": parts[1]}
    if len(parts) == 1 and len(parts[0]) >= 8:
        return {"qr": parts[0]}
    return None


class ReleasePanel:
    def __init__(self, *, agent: DeviceAgent, out: TextIO, queue: str | None = None, timeout_s: float = 10) -> None:
        """``queue``: the printer this panel stands at (None: the hub releases to each job's printer)."""
        self.agent, self.out, self.queue, self.timeout_s = agent, out, queue, timeout_s

    def handle(self, line: str) -> str:
        """Send one panel line to the hub and return (and show) the answer."""
        message = self._answer(line)
        self.out.write(message + "\n")
        self.out.flush()
        return message

    def run(self, lines: Iterable[str], *, stop: threading.Event | None = None) -> None:
        for line in lines:
            if stop is not None and stop.is_set():
                return
            if line.strip():
                self.handle(line)

    def _answer(self, line: str) -> str:
        request: dict[str, Any] | None = parse_line(line)
        if request is None:
            return "not understood: type your PIN (or employee number and PIN), or scan the job's code"
        if self.queue and "qr" not in request:
            request["queue"] = self.queue
        try:
            res = self.agent.request("release", request, timeout=self.timeout_s)
        except ValidationError:
            return "not understood: that employee number cannot be right"
        except (RequestTimeout, RuntimeError) as exc:
            return f"the hub does not answer, try again in a moment ({exc})"
        if res.status is not ResponseStatus.OK:
            return f"refused: {res.error or 'unknown reason'}"
        jobs = list(res.data.get("job_ids") or [])
        if not jobs:
            return "no held jobs to release"
        return f"released {len(jobs)} job{'s' if len(jobs) != 1 else ''}: {', '.join(jobs)}"
