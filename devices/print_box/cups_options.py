"""Print options → CUPS/IPP option keywords (the lp(1) vocabulary pycups expects, all strings).

Pure code: no pycups import, so the mapping is unit-testable anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGES = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
_MEDIA = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_COPIES = 999  # CUPS allows 9999 (MaxCopies); an office box never needs more than this.


class InvalidPrintOptions(ValueError):
    """Options a printer cannot be asked for (bad range syntax, copies out of bounds, …)."""


@dataclass(frozen=True, slots=True)
class PrintOptions:
    copies: int = 1
    duplex: bool = False
    color: bool = False
    page_ranges: str | None = None  # "1-3,5" in document pages
    media: str | None = None  # IPP media keyword, e.g. "iso_a4_210x297mm"; None = printer default

    def validate(self) -> None:
        if not 1 <= self.copies <= MAX_COPIES:
            raise InvalidPrintOptions(f"copies must be 1..{MAX_COPIES}, got {self.copies}")
        if self.page_ranges is not None and not _RANGES.match(self.page_ranges.replace(" ", "")):
            raise InvalidPrintOptions(f"page ranges {self.page_ranges!r} are not like '1-3,5'")
        if self.media is not None and not _MEDIA.match(self.media):
            raise InvalidPrintOptions(f"media {self.media!r} is not an IPP media keyword")


def to_cups_options(opts: PrintOptions, *, hold: bool = False) -> dict[str, str]:
    """The options dict for ``cups.Connection.printFile``.

    Colour is always stated explicitly: a queue's default may be colour, and a monochrome request
    must not be charged or printed as colour.
    """
    opts.validate()
    out = {
        "copies": str(opts.copies),
        "sides": "two-sided-long-edge" if opts.duplex else "one-sided",
        "print-color-mode": "color" if opts.color else "monochrome",
    }
    if opts.page_ranges:
        out["page-ranges"] = opts.page_ranges.replace(" ", "")
    if opts.media:
        out["media"] = opts.media
    if hold:
        # Secure release at the box: CUPS keeps the job until release_job (setJobHoldUntil no-hold).
        out["job-hold-until"] = "indefinite"
    return out
