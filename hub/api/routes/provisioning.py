"""Provisioning: claim tokens (admin), claim redemption (the token is the credential), revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import select

from hub.api.deps import AdminUser, FleetDep, RuntimeDep, SessionDep
from hub.api.schemas.fleet import (
    ClaimCreate,
    ClaimIssued,
    ClaimPublic,
    ClaimRequest,
    ClaimResult,
    MqttCredentials,
    RevokeResult,
)
from hub.api.schemas.types import Line
from hub.db.models.fleet import DeviceClaim

router = APIRouter(tags=["provisioning"])

DEMO_NOTE = ("demo mode: the broker does not authenticate devices (no dynsec admin configured), so this "
             "device has no broker account or ACL; use Mosquitto with dynsec in production")


@router.post("/api/v1/provisioning/claims", response_model=ClaimIssued, status_code=status.HTTP_201_CREATED)
def create_claim(user: AdminUser, fleet: FleetDep, body: ClaimCreate) -> ClaimIssued:
    issued = fleet.provisioning.create_claim(
        device_kind=body.device_kind, group=body.group, location=body.location, tags=body.tags,
        ttl_s=body.ttl_s, device_id=body.device_id, created_by=user.username)
    return ClaimIssued(claim_id=issued.claim_id, token=issued.token, device_kind=issued.device_kind,
                       group=issued.group, expires_at=issued.expires_at)


@router.get("/api/v1/provisioning/claims", response_model=list[ClaimPublic])
def list_claims(_: AdminUser, db: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                ) -> list[dict[str, object]]:
    rows = db.execute(select(DeviceClaim).order_by(DeviceClaim.id.desc()).limit(limit)).scalars()
    return [{"claim_id": c.id, "device_kind": c.device_kind, "group": c.group, "device_id": c.device_id,
             "created_at": c.created_at, "expires_at": c.expires_at, "used_at": c.used_at, "used_by": c.used_by,
             "created_by": c.created_by} for c in rows]


_CLAIM_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Unknown, used or expired token"},
    409: {"description": "Kind mismatch, or the device id is taken (re-provisioning needs a token issued for it)"},
    422: {"description": "Invalid or reserved device id"},
    429: {"description": "Too many failed claims from this address (or overall); see Retry-After"},
    503: {"description": "The broker refused or could not be reached; retry"},
}


@router.post("/api/v1/provisioning/claim", response_model=ClaimResult, responses=_CLAIM_ERRORS)
def claim(rt: RuntimeDep, fleet: FleetDep, body: ClaimRequest, request: Request) -> ClaimResult:
    """A new device presents its one-time token (no user token: the claim token is the credential)."""
    source = request.client.host if request.client else None
    done = fleet.provisioning.claim(token=body.token, device_kind=body.device_kind, device_id=body.device_id,
                                    source=source)
    fleet.config.recompute([done.device_id], actor=f"device:{done.device_id}")
    note = DEMO_NOTE if done.broker_auth == "none" else "credentials are shown once; store them on the device"
    return ClaimResult(device_id=done.device_id, kind=done.kind, group=done.group, broker_auth=done.broker_auth,
                       mqtt=MqttCredentials(url=fleet.device_broker_url, client_id=done.device_id,
                                            username=done.username, password=done.password),
                       firmware_public_key=fleet.firmware.public_key_b64, hub_url=rt.settings.base_url,
                       ca_pem=fleet.device_ca_pem, note=note)


def _revoke(user: AdminUser, fleet: FleetDep, device_id: Line) -> RevokeResult:
    return RevokeResult(**fleet.provisioning.revoke(device_id, actor=user.username))


@router.post("/api/v1/devices/{device_id}/revoke", response_model=RevokeResult)
def revoke(user: AdminUser, fleet: FleetDep, device_id: Line) -> RevokeResult:
    return _revoke(user, fleet, device_id)


@router.delete("/api/v1/devices/{device_id}", response_model=RevokeResult)
def delete_device(user: AdminUser, fleet: FleetDep, device_id: Line) -> RevokeResult:
    """Decommission: cut off at the broker and mark revoked (history is kept)."""
    return _revoke(user, fleet, device_id)
