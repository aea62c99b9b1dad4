"""CUPS names both sides of the print contract interpret: the box reads them from CUPS and reports,
the hub reads them back from ``print_job`` events and printer state (``state.live.printers``).

One table each, here, so the box's reports and the hub's rules cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from protocol.bodies_print import BoxJobState

# CUPS job-state name → the ``print_job`` event state a box reports. "pending" and "held" both mean
# "in CUPS, waiting"; "stopped" is a printer fault, and the job still prints once it is cleared.
CUPS_TO_REPORT: Final[Mapping[str, BoxJobState]] = MappingProxyType({
    "pending": "sent", "held": "sent", "processing": "printing", "stopped": "printing",
    "canceled": "canceled", "aborted": "failed", "completed": "completed",
})

# CUPS printer-state-reasons keyword (without its -error/-warning/-report suffix) → the fault code
# (one of ``bodies_print.PRINTER_ALARM_CODES``). Which suffixes make a fault is each side's rule.
PRINTER_REASON_FAULTS: Final[Mapping[str, str]] = MappingProxyType({
    "media-empty": "printer_paper_out", "media-needed": "printer_paper_out",
    "media-jam": "printer_jam", "door-open": "printer_door_open", "cover-open": "printer_door_open",
    "toner-empty": "printer_toner_empty", "marker-supply-empty": "printer_toner_empty",
    "offline": "printer_offline", "connecting-to-device": "printer_offline", "timed-out": "printer_offline",
    "paused": "printer_queue_paused", "shutdown": "printer_offline",
})


def reason_keyword(reason: str) -> str:
    """``media-jam-error`` → ``media-jam``: the keyword ``PRINTER_REASON_FAULTS`` is keyed by."""
    return reason.removesuffix("-error").removesuffix("-warning").removesuffix("-report")
