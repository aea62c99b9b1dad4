"""Provisioning: one-time claim tokens → a registered device with its own broker account; revocation.

Claim redemption is one transaction: the conditional "mark used" write, the registry rows and the
broker account. If the broker refuses, the transaction rolls back and the token stays unused, so a
device can retry; if two devices race on one token, the conditional write lets exactly one win.

Claims are unauthenticated (the token is the credential), so failed ones are throttled per client
address and globally (``FailureLimiter``), and reported through ``on_refused`` (the hub aggregates
them into one audit entry per address and window) instead of writing a row each.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.broker.mosquitto_security import AccountConflict, BrokerSecurityError
from hub.db.models.core import Device, DeviceCommand
from hub.db.models.fleet import DeviceClaim, DeviceTag, FleetDevice
from hub.db.session import SessionFactory, transaction
from hub.domain.claims import (
    ClaimRefused,
    StoredClaim,
    check_device_id,
    hash_token,
    issue_claim,
    redeem,
    replaces_existing,
)
from hub.domain.failure_limit import FailureLimiter
from hub.services.audit import audit
from hub.services.errors import ServiceError
from hub.services.fleet.accounts import BrokerAccounts
from protocol import topics
from protocol.payloads import DeviceKind

log = logging.getLogger(__name__)

KIND_PREFIX = {"door_terminal": "door", "print_box": "printbox"}
# HTTP status per refusal reason; anything not listed is a 403.
REFUSAL_STATUS = {"kind_mismatch": 409, "device_exists": 409, "account_conflict": 409, "invalid_id": 422,
                  "reserved_id": 422}

# (source address, reason, device id asked for) of a refused claim.
RefusalSink = Callable[[str | None, str, str | None], None]


class ProvisioningError(ServiceError):
    """Refused with a reason meant for the caller; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int = 400, reason: str = "refused",
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status, code=reason, retry_after_s=retry_after_s)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IssuedClaim:
    token: str
    claim_id: int
    device_kind: str
    group: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Provisioned:
    device_id: str
    kind: str
    group: str | None
    username: str | None
    password: str | None
    broker_auth: str


def _stored(row: DeviceClaim) -> StoredClaim:
    return StoredClaim(token_hash=row.token_hash, device_kind=row.device_kind, created_at=row.created_at,
                       expires_at=row.expires_at, device_id=row.device_id, used_at=row.used_at,
                       used_by=row.used_by)


def set_tags(session: Session, device_id: str, tags: list[str]) -> None:
    fleet = session.get(FleetDevice, device_id)
    if fleet is not None:
        fleet.tags = sorted(set(tags))
    session.execute(delete(DeviceTag).where(DeviceTag.device_id == device_id))
    for tag in sorted(set(tags)):
        session.add(DeviceTag(device_id=device_id, tag=tag))


def ensure_fleet_row(session: Session, device_id: str) -> FleetDevice:
    row = session.get(FleetDevice, device_id)
    if row is None:
        row = FleetDevice(device_id=device_id, tags=[], config_overrides={}, desired_config={},
                          config_version=0, offline_alerted=False)
        session.add(row)
        session.flush()
    return row


class ProvisioningService:
    def __init__(self, *, sessions: SessionFactory, accounts: BrokerAccounts, device_broker_url: str,
                 publish: Callable[..., bool] | None = None, reserved_ids: Collection[str | None] = (),
                 limiter: FailureLimiter | None = None, on_refused: RefusalSink | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = sessions
        self.accounts = accounts
        self.device_broker_url = device_broker_url
        self.publish = publish
        # Names a device may never take: the hub's client id and broker accounts (see check_device_id).
        self.reserved_ids = frozenset(r for r in reserved_ids if r)
        self.limiter = limiter or FailureLimiter(per_key=10, global_limit=200, window_s=60)
        self.on_refused = on_refused
        self._clock = clock
        self._limit_lock = threading.Lock()

    def create_claim(self, *, device_kind: str, group: str | None, location: str | None = None,
                     tags: list[str] | None = None, ttl_s: float = 24 * 3600, device_id: str | None = None,
                     created_by: str) -> IssuedClaim:
        if device_kind not in {k.value for k in DeviceKind}:
            raise ProvisioningError(f"unknown device kind {device_kind!r}", status=422)
        if device_id is not None:
            try:
                check_device_id(device_id, reserved=self.reserved_ids)
            except ClaimRefused as exc:
                raise ProvisioningError(str(exc), status=422, reason=exc.reason) from exc
        now = datetime.now(UTC)
        try:
            token, stored = issue_claim(device_kind=device_kind, now=now, ttl=timedelta(seconds=ttl_s),
                                        device_id=device_id)
        except ValueError as exc:
            raise ProvisioningError(str(exc), status=422) from exc
        with transaction(self.sessions) as s:
            row = DeviceClaim(token_hash=stored.token_hash, device_kind=device_kind, group=group,
                              location=location, tags=list(tags or []), device_id=device_id,
                              created_at=now, expires_at=stored.expires_at, created_by=created_by)
            s.add(row)
            s.flush()
            audit(s, actor=created_by, action="provisioning.claim_created", target_type="claim",
                  target_id=str(row.id), detail={"kind": device_kind, "group": group,
                                                 "expires_at": stored.expires_at.isoformat()})
            claim_id = row.id
        return IssuedClaim(token, claim_id, device_kind, group, stored.expires_at)

    def claim(self, *, token: str, device_kind: str | None, device_id: str | None,
              source: str | None) -> Provisioned:
        """Redeem a token for a device identity and broker credentials (or refuse with the reason).

        Refusals count against the client's address; past the limit, claims are refused with 429
        and ``retry_after_s`` before the token is even looked up.
        """
        key = source or "unknown"
        with self._limit_lock:
            wait = self.limiter.retry_after(key, self._clock())
        if wait is not None:
            self._report(source, "throttled", device_id)
            raise ProvisioningError(f"too many failed claims; retry in {wait:.0f} s", status=429,
                                    reason="throttled", retry_after_s=wait)
        try:
            return self._claim(token=token, device_kind=device_kind, device_id=device_id, source=source)
        except ProvisioningError as exc:
            if exc.status < 500:  # a refusal; the broker being down is not the claimant's failure
                with self._limit_lock:
                    self.limiter.fail(key, self._clock())
                self._report(source, exc.reason, device_id)
            raise

    def _report(self, source: str | None, reason: str, device_id: str | None) -> None:
        log.info("claim refused (%s) from %s for device id %r", reason, source, device_id)
        if self.on_refused is not None:
            self.on_refused(source, reason, device_id)

    def _claim(self, *, token: str, device_kind: str | None, device_id: str | None,
               source: str | None) -> Provisioned:
        now = datetime.now(UTC)
        with self.sessions() as s:
            row = s.execute(select(DeviceClaim).where(DeviceClaim.token_hash == hash_token(token))
                            ).scalar_one_or_none()
            try:
                redeem(token, _stored(row) if row else None, now=now, device_kind=device_kind,
                       used_by=device_id)
                assert row is not None
                new_id = row.device_id or device_id or f"{KIND_PREFIX[row.device_kind]}-{secrets.token_hex(4)}"
                check_device_id(new_id, reserved=self.reserved_ids)
                replace = replaces_existing(device_id=new_id, assigned=row.device_id,
                                            known=s.get(Device, new_id) is not None)
            except ClaimRefused as exc:
                raise ProvisioningError(str(exc), status=REFUSAL_STATUS.get(exc.reason, 403),
                                        reason=exc.reason) from exc
            res: CursorResult[Any] = s.execute(  # type: ignore[assignment]  # DML gives CursorResult
                update(DeviceClaim).where(DeviceClaim.id == row.id, DeviceClaim.used_at.is_(None))
                .values(used_at=now, used_by=new_id))
            if not res.rowcount:
                s.rollback()
                raise ProvisioningError("claim refused (used): token was already redeemed", status=403,
                                        reason="used")
            try:
                self._register(s, row, new_id, now)
            except IntegrityError as exc:  # a concurrent claim registered the same new id first
                s.rollback()
                raise ProvisioningError(f"claim refused (device_exists): device {new_id} was registered "
                                        "concurrently", status=409, reason="device_exists") from exc
            password = secrets.token_urlsafe(24)
            try:
                username = self.accounts.create_device(new_id, password, replace=replace)
            except AccountConflict as exc:
                s.rollback()
                raise ProvisioningError(f"claim refused (account_conflict): {exc.error}", status=409,
                                        reason="account_conflict") from exc
            except (BrokerSecurityError, ValueError) as exc:
                s.rollback()
                raise ProvisioningError(f"the broker refused the device account: {exc}", status=503,
                                        reason="broker") from exc
            audit(s, actor=f"device:{new_id}", action="provisioning.claimed", target_type="device",
                  target_id=new_id, detail={"claim_id": row.id, "kind": row.device_kind, "group": row.group,
                                            "broker_auth": self.accounts.mode, "source": source,
                                            "reprovisioned": replace})
            try:
                s.commit()
            except Exception:
                if not replace:  # a new account the registry does not know: do not leave it behind
                    self._drop_account(new_id)
                raise
            return Provisioned(new_id, row.device_kind, row.group, username,
                               None if username is None else password, self.accounts.mode)

    def _drop_account(self, device_id: str) -> None:
        try:
            self.accounts.revoke_device(device_id)
        except BrokerSecurityError:
            log.exception("could not remove the broker account of unregistered device %s", device_id)

    def _register(self, s: Session, claim: DeviceClaim, device_id: str, now: datetime) -> None:
        dev = s.get(Device, device_id)
        if dev is None:
            dev = Device(id=device_id, kind=claim.device_kind, capabilities=[], reported_state={},
                         online=False, revoked=False)
            s.add(dev)
        dev.kind, dev.revoked, dev.online = claim.device_kind, False, False
        s.flush()
        fleet = ensure_fleet_row(s, device_id)
        fleet.group, fleet.location = claim.group, claim.location
        fleet.provisioned_at, fleet.revoked_at = now, None
        set_tags(s, device_id, list(claim.tags or []))

    def revoke(self, device_id: str, *, actor: str) -> dict[str, Any]:
        """Cut the device off at the broker first, then mark it revoked (retrying is safe)."""
        with self.sessions() as s:
            dev = s.get(Device, device_id)
            if dev is None:
                raise ProvisioningError(f"no device {device_id!r}", status=404, reason="unknown")
        try:
            self.accounts.revoke_device(device_id)
        except BrokerSecurityError as exc:
            raise ProvisioningError(f"the broker could not revoke {device_id}: {exc}", status=503,
                                    reason="broker") from exc
        now = datetime.now(UTC)
        with transaction(self.sessions) as s:
            dev = s.get(Device, device_id)
            assert dev is not None
            dev.revoked, dev.online = True, False
            fleet = ensure_fleet_row(s, device_id)
            fleet.revoked_at = now
            res: CursorResult[Any] = s.execute(update(DeviceCommand).where(  # type: ignore[assignment]  # DML: CursorResult
                DeviceCommand.device_id == device_id, DeviceCommand.state.in_(("pending", "sent")))
                .values(state="expired", finished_at=now, error="device revoked"))
            cancelled = res.rowcount
            audit(s, actor=actor, action="device.revoked", target_type="device", target_id=device_id,
                  detail={"broker_auth": self.accounts.mode, "cancelled_commands": cancelled})
        if self.publish is not None:
            # Decommissioned: clear its retained birth messages so subscribers stop seeing a ghost.
            for topic in (topics.availability(device_id), topics.info(device_id), topics.state(device_id)):
                self.publish(topic, b"", qos=1, retain=True)
        return {"device_id": device_id, "revoked": True, "broker_auth": self.accounts.mode,
                "cancelled_commands": cancelled}
