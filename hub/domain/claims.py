"""One-time device claim tokens (pure rules).

An admin issues a token (shown once as text or QR); a device redeems it once, before it expires,
for its own broker credentials. Only a SHA-256 of the token is stored: tokens carry 256 bits of
randomness, so a fast hash is enough and a leaked table reveals no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from protocol.topics import valid_device_id

TOKEN_PREFIX = "ohc_"  # makes leaked tokens easy to spot by secret scanners
DEFAULT_TTL = timedelta(hours=24)
MAX_TTL = timedelta(days=30)
# Devices connect with client id = device id, and a second connection with a client id takes the
# first one's session over. The hub's own client ids (ingest, replicas, the dynsec admin client) start
# with this, so no device may be named like that.
RESERVED_ID_PREFIX = "officehub"

RefusalReason = Literal["expired", "used", "unknown", "kind_mismatch", "invalid_id", "reserved_id",
                        "device_exists"]


class ClaimRefused(Exception):
    def __init__(self, reason: RefusalReason, detail: str = "") -> None:
        super().__init__(f"claim refused ({reason})" + (f": {detail}" if detail else ""))
        self.reason: RefusalReason = reason


@dataclass(frozen=True, slots=True)
class StoredClaim:
    """What the database keeps; never the token itself."""

    token_hash: str
    device_kind: str
    created_at: datetime
    expires_at: datetime
    # Optional: the token pre-assigns this device id (else the hub assigns one on redemption).
    device_id: str | None = None
    used_at: datetime | None = None
    used_by: str | None = None


def hash_token(token: str) -> str:
    """Lookup key for a presented token (store and index this column)."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_claim(*, device_kind: str, now: datetime, ttl: timedelta = DEFAULT_TTL,
                device_id: str | None = None) -> tuple[str, StoredClaim]:
    """Return (token to show once, record to store)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not timedelta(0) < ttl <= MAX_TTL:
        raise ValueError(f"claim ttl must be in (0, {MAX_TTL}], got {ttl}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, StoredClaim(token_hash=hash_token(token), device_kind=device_kind,
                              created_at=now, expires_at=now + ttl, device_id=device_id)


def redeem(token: str, stored: StoredClaim | None, *, now: datetime,
           device_kind: str | None = None, used_by: str | None = None) -> StoredClaim:
    """Check a presented token against the record found by ``hash_token(token)``.

    Returns the record marked used; raises ClaimRefused otherwise. The caller must persist the
    result with a conditional write (``UPDATE … SET used_at=… WHERE token_hash=… AND used_at IS
    NULL``) and treat zero updated rows as ``used``: two devices racing on one token must not both win.
    """
    if stored is None or not hmac.compare_digest(hash_token(token), stored.token_hash):
        raise ClaimRefused("unknown", "no such claim token")
    if stored.used_at is not None:
        raise ClaimRefused("used", f"token was already redeemed at {stored.used_at.isoformat()}")
    if now >= stored.expires_at:
        raise ClaimRefused("expired", f"token expired at {stored.expires_at.isoformat()}")
    if device_kind is not None and device_kind != stored.device_kind:
        raise ClaimRefused("kind_mismatch",
                           f"token is for a {stored.device_kind}, presented by a {device_kind}")
    return replace(stored, used_at=now, used_by=used_by)


def check_device_id(device_id: str, *, reserved: Collection[str] = ()) -> None:
    """A device id a claim may take: the topic alphabet, not a hub client id or broker account name."""
    if not valid_device_id(device_id):
        raise ClaimRefused("invalid_id", f"invalid device id {device_id!r} (letters, digits, '_', '.', '-'; "
                           "at most 64, starting with a letter or digit)")
    low = device_id.lower()
    if low.startswith(RESERVED_ID_PREFIX) or low in {r.lower() for r in reserved}:
        raise ClaimRefused("reserved_id", f"device id {device_id!r} is reserved for the hub's own broker "
                           "accounts and client ids")


def replaces_existing(*, device_id: str, assigned: str | None, known: bool) -> bool:
    """Re-claim policy: may this claim replace what ``device_id`` already has (registry row, account)?

    A token an admin issued for this very device id re-provisions it: its own broker account gets a
    new password and the old credentials stop working (a wiped or replaced unit). A token issued
    without a device id only ever makes a new device: an id the hub already knows, revoked or not,
    is refused, so nobody holding such a token can take over another device's identity.
    """
    if assigned is not None and assigned == device_id:
        return True
    if known:
        raise ClaimRefused("device_exists", f"device {device_id} is already known to this hub; to re-provision "
                           "it, an admin issues a claim token for this device id")
    return False
