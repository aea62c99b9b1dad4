"""Secure-release rules: PIN hashing, per-job QR release codes, and the wrong-PIN limit.

A PIN is typed with an employee number and checked against that one employee, so PINs need not be
unique (a uniqueness check would tell someone that a colleague has the PIN they tried). It is
stored salted and slow-hashed over a keyed digest: a leaked database alone does not allow testing
PINs offline, and two people with the same PIN have different hashes.

Wrong PINs are counted per employee number (at every box, so nobody guesses one person's PIN by
walking from printer to printer) and per box (a ceiling of ``box_factor`` × the limit that stops
someone cycling through employee numbers at one printer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

PIN_SCHEME = "pin-scrypt"
# Same cost as login passwords: ~50 ms and 16 MB per check; the wrong-PIN limit bounds the total.
_N, _R, _P = 2**14, 8, 1


def valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 12


def _keyed(secret: str, pin: str) -> bytes:
    return hmac.new(secret.encode(), f"print-pin|{pin}".encode(), hashlib.sha256).digest()


def legacy_pin_hash(*, secret: str, pin: str) -> str:
    """The unsalted keyed hash earlier versions stored (64 hex characters); still verified, then replaced."""
    return _keyed(secret, pin).hex()


def hash_pin(*, secret: str, pin: str) -> str:
    """``pin-scrypt$N$r$p$<salt>$<digest>``: scrypt with a per-PIN salt over HMAC(hub secret, PIN)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(_keyed(secret, pin), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"{PIN_SCHEME}${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def pin_hash_is_current(stored: str) -> bool:
    return stored.startswith(PIN_SCHEME + "$")


def verify_pin(*, secret: str, pin: str, stored: str) -> bool:
    """Constant-time check of ``pin`` against a stored hash (current or legacy format)."""
    if not pin_hash_is_current(stored):
        return len(stored) == 64 and hmac.compare_digest(legacy_pin_hash(secret=secret, pin=pin).encode(),
                                                         stored.encode("utf-8", "surrogatepass"))
    try:
        _, n, r, p, salt_b64, digest_b64 = stored.split("$")
        digest = hashlib.scrypt(_keyed(secret, pin), salt=base64.b64decode(salt_b64), n=int(n), r=int(r),
                                p=int(p), dklen=32)
        return hmac.compare_digest(digest, base64.b64decode(digest_b64))
    except ValueError:
        return False


def release_code(*, secret: str, job_id: str) -> str:
    """The QR code content that releases exactly one job: ``<job id>.<signature>``."""
    mac = hmac.new(secret.encode(), f"print-release|{job_id}".encode(), hashlib.sha256).digest()
    return f"{job_id}.{base64.urlsafe_b64encode(mac[:16]).decode().rstrip('=')}"


def job_of_release_code(*, secret: str, code: str) -> str | None:
    job_id, _, _ = code.partition(".")
    # Bytes, not str: compare_digest raises on non-ASCII text, and a scanned code is untrusted input.
    if not job_id or not hmac.compare_digest(release_code(secret=secret, job_id=job_id).encode(),
                                             code.encode("utf-8", "surrogatepass")):
        return None
    return job_id


def pin_subject(employee_no: str) -> str:
    """Whose attempts a failure counts against (at every box)."""
    return f"no:{employee_no}"


@dataclass(frozen=True, slots=True)
class PinLimit:
    max_failures: int
    window: timedelta
    box_factor: int = 4  # box-wide ceiling, across employee numbers

    @property
    def box_ceiling(self) -> int:
        return self.max_failures * self.box_factor

    def since(self, now: datetime) -> datetime:
        return now - self.window

    def _minutes(self) -> int:
        return max(1, round(self.window.total_seconds() / 60))

    def refusal(self, *, employee_failures: int, box_failures: int) -> str | None:
        """The refusal while locked out, or None when another attempt is allowed."""
        if employee_failures >= self.max_failures:
            return (f"too many wrong PINs for this employee number; try again in {self._minutes()} minutes "
                    "or use the QR code")
        if box_failures >= self.box_ceiling:
            return f"too many wrong PINs at this printer; try again in {self._minutes()} minutes or use the QR code"
        return None

    def wrong(self, *, employee_failures: int) -> str:
        """The answer to a wrong employee number or PIN, given the failures counted before this one."""
        left = max(0, self.max_failures - employee_failures - 1)
        return f"wrong employee number or PIN ({left} attempt{'s' if left != 1 else ''} left)"

    def employee_locked_by(self, *, employee_failures: int) -> bool:
        """Whether this failure (after ``employee_failures`` earlier ones) starts a lockout."""
        return employee_failures + 1 == self.max_failures

    def box_locked_by(self, *, box_failures: int) -> bool:
        return box_failures + 1 == self.box_ceiling
