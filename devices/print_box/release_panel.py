"""The box's release panel: what an employee types or scans at the printer to get held jobs.

USB keypads and QR/barcode scanners present themselves as keyboards, so the panel reads lines from a
text stream (standard input, or a tty / input device path) and answers on the box's display stream.
The panel asks for the employee number, then the PIN (PINs are not unique: the hub checks the PIN
against that one employee):

- ``<employee number>`` — the panel answers "type your PIN" and takes the next line as the PIN
  (within ``pin_wait_s``; then it forgets the number);
- ``<employee number> <PIN>`` — both on one line;
- ``<job id>.<signature>`` — a scanned release code (QR) for one job, at any point.

The hub decides (``req/release``); the panel only parses and shows the answer. A line never appears
in the box's log or on its display: it may hold a PIN.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from pydantic import ValidationError

from devices.runtime.ports import Requester
from devices.runtime.requests import RequestTimeout
from protocol.payloads import ResponseStatus

_PIN = re.compile(r"^[0-9]{4,12}$")
_EMPLOYEE = re.compile(r"^[^\x00-\x20\x7f]{1,64}$")  # what the contract accepts, without spaces
_QR = re.compile(r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{8,}$")  # hub.domain.print_release.release_code


@dataclass(frozen=True, slots=True)
class Parsed:
    request: dict[str, str] | None = None  # ready to send to the hub
    employee: str | None = None  # an employee number alone: ask for the PIN next


def parse_line(line: str, *, employee: str | None = None) -> Parsed | None:
    """What a panel line asks for, given the employee number typed just before (if any); None: not understood."""
    parts = line.strip().split()
    if len(parts) == 1 and _QR.match(parts[0]):
        return Parsed(request={"qr": parts[0]})
    if len(parts) == 2 and _EMPLOYEE.match(parts[0]) and _PIN.match(parts[1]):
        return Parsed(request={"employee": parts[0], "pin": parts[1]})
    if len(parts) == 1 and employee is not None and _PIN.match(parts[0]):
        return Parsed(request={"employee": employee, "pin": parts[0]})
    if len(parts) == 1 and _EMPLOYEE.match(parts[0]):
        return Parsed(employee=parts[0])
    return None


class ReleasePanel:
    def __init__(self, *, agent: Requester, out: TextIO, queue: str | None = None, timeout_s: float = 10,
                 pin_wait_s: float = 30, clock: Callable[[], float] = time.monotonic) -> None:
        """``queue``: the printer this panel stands at (None: the hub releases to each job's printer)."""
        self.agent, self.out, self.queue, self.timeout_s = agent, out, queue, timeout_s
        self.pin_wait_s, self.clock = pin_wait_s, clock
        self._employee: tuple[str, float] | None = None  # number typed, waiting for its PIN (until)

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
        pending = self._employee[0] if self._employee and self.clock() < self._employee[1] else None
        self._employee = None
        parsed = parse_line(line, employee=pending)
        if parsed is None:
            return "not understood: type your employee number, then your PIN, or scan the job's code"
        if parsed.employee is not None:
            self._employee = (parsed.employee, self.clock() + self.pin_wait_s)
            return f"employee {parsed.employee}: now type your PIN"
        assert parsed.request is not None
        request: dict[str, Any] = dict(parsed.request)
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
