"""Firmware artefacts: upload (hash computed, manifest signed by the hub or a supplied signature
verified), list, the hub's public key, and signed expiring downloads for devices."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from hub.api.deps import AdminUser, FleetDep, OperatorUser, RuntimeDep, SessionDep
from hub.api.schemas.fleet import FirmwareKey, FirmwarePublic
from hub.api.schemas.types import Id, Line, NonNegInt
from hub.auth.tokens import check_signed_path
from hub.db.models.fleet import FirmwareArtifact
from hub.services.fleet.firmware import Upload, download_path

router = APIRouter(prefix="/api/v1/firmware", tags=["firmware"])


@router.post("", response_model=FirmwarePublic, status_code=status.HTTP_201_CREATED)
def upload(user: AdminUser, fleet: FleetDep, file: Annotated[UploadFile, File()],
           kind: Annotated[str, Form(pattern=r"^(door_terminal|print_box)$")],
           version: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")],
           signature: Annotated[str | None, Form(max_length=256)] = None,
           sha256: Annotated[str | None, Form(pattern=r"^[0-9a-fA-F]{64}$")] = None,
           notes: Annotated[str, Form(max_length=2000)] = "",
           min_version: Annotated[str | None, Form(max_length=64, pattern=r"^([A-Za-z0-9][A-Za-z0-9._+-]*)?$")] = None,
           model: Annotated[str | None, Form(max_length=64)] = None) -> FirmwareArtifact:
    """``min_version``: the oldest version the image may be installed over (empty: any); ``model``: only
    devices reporting this model may install it (empty: every device of the kind). Both are signed."""
    meta = Upload(kind=kind, version=version, filename=file.filename or f"{kind}-{version}.bin",
                  signature=signature or None, sha256=sha256, notes=notes,
                  min_version=(min_version or "").strip() or None, model=(model or "").strip() or None)
    return fleet.firmware.add(meta, file.file, actor=user.username)


@router.get("", response_model=list[FirmwarePublic])
def list_firmware(_: OperatorUser, db: SessionDep, kind: Line | None = None) -> list[FirmwareArtifact]:
    q = select(FirmwareArtifact).order_by(FirmwareArtifact.id.desc())
    if kind:
        q = q.where(FirmwareArtifact.kind == kind)
    return list(db.execute(q).scalars())


@router.get("/public-key", response_model=FirmwareKey)
def public_key(fleet: FleetDep) -> dict[str, str]:
    """The Ed25519 key devices verify firmware with (public by nature)."""
    return {"algorithm": "ed25519", "public_key": fleet.firmware.public_key_b64}


@router.get("/{firmware_id}/download")
def download(rt: RuntimeDep, fleet: FleetDep, firmware_id: Id, expires: Annotated[NonNegInt, Query()],
             sig: Annotated[str, Query(max_length=128)]) -> StreamingResponse:
    """Devices download with the signed URL from ``update_firmware`` (no user token)."""
    check_signed_path(download_path(firmware_id), secret=rt.settings.secret(), expires=expires, sig=sig)
    fw = fleet.firmware
    art = fw.get(firmware_id)
    if art is None or not Path(art.path).exists():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no firmware {firmware_id}")
    return StreamingResponse(fw.read_chunks(art.path), media_type="application/octet-stream",
                             headers={"Content-Length": str(art.size), "X-Firmware-Sha256": art.sha256,
                                      "Content-Disposition": f'attachment; filename="{Path(art.path).name}"'})
