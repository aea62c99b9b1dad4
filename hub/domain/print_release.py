"""Secure-release rules: PIN hashing, per-job QR release codes, and the wrong-PIN limit.

Wrong PINs are counted per box and *subject*:
- a PIN alone (no employee number) is looked up among everyone's PINs, so a guess can hit any
  employee; the only meaningful limit is per box (subject ``""``);
- with an employee number the PIN is checked against that one employee, so the limit is per
  box + employee number (a typo by one person does not lock the printer for the next), and a
  box-wide ceiling (``box_factor`` × the limit) stops someone cycling through employee numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta


def valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 12


def pin_hash(*, secret: str, pin: str) -> str:
    """Keyed hash of a PIN: unique per PIN (it finds its owner), useless without the hub secret."""
    return hmac.new(secret.encode(), f"print-pin|{pin}".encode(), hashlib.sha256).hexdigest()


def release_code(*, secret: str, job_id: str) -> str:
    """The QR code content that releases exactly one job: ``<job id>.<signature>``."""
    mac = hmac.new(secret.encode(), f"print-release|{job_id}".encode(), hashlib.sha256).digest()
    return f"{job_id}.{base64.urlsafe_b64encode(mac[:16]).decode().rstrip('=')}"


def job_of_release_code(*, secret: str, code: str) -> str | None:
    job_id, _, _ = code.partition(".")
    if not job_id or not hmac.compare_digest(release_code(secret=secret, job_id=job_id), code):
        return None
    return job_id


def pin_subject(employee_no: str | None) -> str:
    """Whose attempts a failure counts against at a box ("" = anyone: a PIN without employee number)."""
    return f"no:{employee_no}" if employee_no else ""


@dataclass(frozen=True, slots=True)
class PinLimit:
    max_failures: int
    window: timedelta
    box_factor: int = 4  # box-wide ceiling for attempts that name an employee

    def since(self, now: datetime) -> datetime:
        return now - self.window

    def refusal(self, *, subject_failures: int, box_failures: int) -> str | None:
        """The refusal while locked out, or None when another attempt is allowed."""
        if subject_failures >= self.max_failures or box_failures >= self.max_failures * self.box_factor:
            minutes = max(1, round(self.window.total_seconds() / 60))
            return f"too many wrong PINs at this printer; try again in {minutes} minutes or use the QR code"
        return None

    def wrong(self, *, subject_failures: int) -> str:
        """The answer to a wrong PIN, given the failures counted before this one."""
        left = max(0, self.max_failures - subject_failures - 1)
        return f"wrong PIN ({left} attempt{'s' if left != 1 else ''} left)"
