"""Signed, expiring tokens: API access tokens and short-lived download URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from enum import StrEnum

import jwt


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    EMPLOYEE = "employee"


ROLE_RANK = {Role.EMPLOYEE: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class TokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    employee_id: int | None

    def at_least(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says: who, and the user's token version when it was issued."""

    principal: Principal
    version: int


def issue_access_token(principal: Principal, *, secret: str, ttl_s: int, version: int) -> str:
    """``version``: the user's ``token_version``; a token stops working once that moves on."""
    now = int(time.time())
    claims = {"sub": str(principal.user_id), "usr": principal.username, "role": principal.role.value,
              "emp": principal.employee_id, "ver": version, "iat": now, "exp": now + ttl_s, "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_access_token(token: str, *, secret: str) -> AccessClaims:
    """Check signature, expiry and shape only; whether the user still accepts it is the caller's
    check (``hub.api.deps``: active and the same token version)."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("invalid token") from exc
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    try:
        principal = Principal(int(claims["sub"]), str(claims["usr"]), Role(claims["role"]), claims.get("emp"))
        version = claims["ver"]
    except (KeyError, ValueError) as exc:
        raise TokenError("malformed token claims") from exc
    if not isinstance(version, int) or isinstance(version, bool):
        raise TokenError("malformed token claims")
    return AccessClaims(principal, version)


def sign_url_path(path: str, *, secret: str, expires_at: int) -> str:
    """Query string that makes ``path`` downloadable until ``expires_at`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{path}|{expires_at}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    return f"expires={expires_at}&sig={sig}"


class LinkRefused(TokenError):
    """A signed download link that is expired or forged (403: the link itself is the credential)."""


def check_signed_path(path: str, *, secret: str, expires: int, sig: str, now: float | None = None) -> None:
    if (now or time.time()) > expires:
        raise LinkRefused("download link expired")
    expected = sign_url_path(path, secret=secret, expires_at=expires).split("sig=", 1)[1]
    # As bytes: compare_digest refuses str with non-ASCII characters, and ``sig`` is whatever the URL held.
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise LinkRefused("bad download signature")
