"""Password hashing with stdlib scrypt (no native dependency)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r),
                            p=int(p), dklen=32)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


@cache
def dummy_hash() -> str:
    """A hash of a random password, made once per process (``setup`` warms it at start)."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password_or_dummy(password: str, stored: str | None) -> bool:
    """Verify against ``stored``, or against a throwaway hash when there is no user: the work (one
    scrypt) is the same either way, so the answer's timing does not tell whether a username exists."""
    if stored is None:
        verify_password(password, dummy_hash())
        return False
    return verify_password(password, stored)
