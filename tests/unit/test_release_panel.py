"""What a line typed or scanned at the print box's release panel asks for."""

from __future__ import annotations

import pytest

from devices.print_box.release_panel import parse_line


@pytest.mark.parametrize(("line", "request_"), [
    ("482913\n", {"pin": "482913"}),
    ("  E-1042 482913 ", {"employee": "E-1042", "pin": "482913"}),
    ("pj_3f2a1b.Zm9vYmFy-sig", {"qr": "pj_3f2a1b.Zm9vYmFy-sig"}),
    ("123", None),  # too short for a PIN or a code
    ("two words here", None),
    ("", None),
])
def test_parse_line(line: str, request_: dict[str, str] | None) -> None:
    assert parse_line(line) == request_
