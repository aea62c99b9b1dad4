"""What a line typed or scanned at the print box's release panel asks for: employee number, then PIN."""

from __future__ import annotations

import io
from typing import Any

import pytest

from devices.print_box.release_panel import Parsed, ReleasePanel, parse_line
from protocol.payloads import Response, ResponseStatus

CODE = "3f2a1b9c0d.Zm9vYmFyYmF6cXV4LXNpZw"


@pytest.mark.parametrize(("line", "employee", "parsed"), [
    ("E-1042\n", None, Parsed(employee="E-1042")),
    ("482913\n", None, Parsed(employee="482913")),  # alone, digits are an employee number, never a PIN
    ("482913\n", "E-1042", Parsed(request={"employee": "E-1042", "pin": "482913"})),
    ("  E-1042 482913 ", None, Parsed(request={"employee": "E-1042", "pin": "482913"})),
    (CODE, None, Parsed(request={"qr": CODE})),
    (CODE, "E-1042", Parsed(request={"qr": CODE})),  # a scan at any point is a scan
    ("E-1042 48a913", None, None),  # not a PIN
    ("two words here", None, None),
    ("", None, None),
])
def test_parse_line(line: str, employee: str | None, parsed: Parsed | None) -> None:
    assert parse_line(line, employee=employee) == parsed


class FakeAgent:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def request(self, action: str, data: dict[str, Any], *, timeout: float) -> Response:
        self.sent.append(data)
        return Response(transaction="t", status=ResponseStatus.OK, data={"job_ids": ["j1"]})


def test_the_panel_asks_for_the_pin_after_the_employee_number() -> None:
    agent, now = FakeAgent(), [0.0]
    panel = ReleasePanel(agent=agent, out=io.StringIO(), queue="laser", pin_wait_s=30,
                         clock=lambda: now[0])
    assert panel.handle("E-7") == "employee E-7: now type your PIN" and agent.sent == []
    assert panel.handle("4711") == "released 1 job: j1"
    assert agent.sent == [{"employee": "E-7", "pin": "4711", "queue": "laser"}]
    # The number is used once, and forgotten when nobody types a PIN in time.
    panel.handle("E-8")
    now[0] = 31.0
    assert panel.handle("4711") == "employee 4711: now type your PIN" and len(agent.sent) == 1
