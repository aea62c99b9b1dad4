"""Firmware artefacts: streamed upload (sha256 + size computed), a signed manifest (kind, model,
version, sha256, size, min_version; hub-signed or a supplied signature verified against the hub key),
storage on disk, signed expiring download URLs, and rollback authorisations for rollout rollbacks."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.auth.tokens import sign_url_path
from hub.db.models.fleet import FirmwareArtifact
from hub.db.session import SessionFactory, transaction
from hub.security.firmware_signing import (
    FirmwareManifest,
    FirmwareRejected,
    RollbackAuthorisation,
    SignedRollback,
    legacy_digest_signature_ok,
    public_key_to_b64,
    sign_manifest,
    sign_rollback,
    verify_manifest,
)
from hub.services.audit import audit
from hub.services.errors import ServiceError
from protocol.payloads import DeviceKind
from protocol.versions import InvalidVersion, parse_version

CHUNK = 1024 * 1024


class FirmwareRefused(ServiceError, ValueError):
    def __init__(self, message: str, *, reason: str, status: int = 422) -> None:
        super().__init__(message, status=status, code=reason)
        self.reason = reason

    @property
    def detail(self) -> Any:
        return f"firmware refused ({self.reason}): {self}"


@dataclass(frozen=True, slots=True)
class Upload:
    kind: str
    version: str
    filename: str
    signature: str | None = None  # base64 Ed25519 over the manifest, made elsewhere with the hub's key
    sha256: str | None = None  # what the uploader claims; checked against the bytes
    notes: str = ""
    min_version: str | None = None  # oldest version the image may be installed over
    model: str | None = None  # only devices of this model (None: the whole kind)


def _check_versions(upload: Upload) -> None:
    """Versions must be orderable (devices refuse what they cannot compare), min_version ≤ version."""
    try:
        version = parse_version(upload.version)
        if upload.min_version is not None and parse_version(upload.min_version) > version:
            raise FirmwareRefused(f"min_version {upload.min_version} is newer than the image's version "
                                  f"{upload.version}", reason="bad_version")
    except InvalidVersion as exc:
        raise FirmwareRefused(str(exc), reason="bad_version") from exc


def manifest_of(art: FirmwareArtifact) -> FirmwareManifest:
    return FirmwareManifest(kind=DeviceKind(art.kind), model=art.model, version=art.version, sha256=art.sha256,
                            size=art.size, min_version=art.min_version)


def download_path(firmware_id: int) -> str:
    return f"/api/v1/firmware/{firmware_id}/download"


class FirmwareService:
    def __init__(self, *, sessions: SessionFactory, key: Ed25519PrivateKey, store: Path, base_url: str,
                 secret: str, url_ttl_s: int) -> None:
        self.sessions = sessions
        self.key = key
        self.store = store
        self.store.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.url_ttl_s = url_ttl_s

    @property
    def public_key_b64(self) -> str:
        return public_key_to_b64(self.key.public_key())

    def add(self, upload: Upload, stream: IO[bytes], *, actor: str) -> FirmwareArtifact:
        if upload.kind not in {k.value for k in DeviceKind}:
            raise FirmwareRefused(f"unknown device kind {upload.kind!r}", reason="bad_kind")
        tmp = self.store / f".upload-{uuid.uuid4().hex}"
        h = hashlib.sha256()
        size = 0
        try:
            _check_versions(upload)
            with open(tmp, "wb") as f:
                while chunk := stream.read(CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            digest = h.hexdigest()
            if size == 0:
                raise FirmwareRefused("empty firmware file", reason="empty")
            if upload.sha256 is not None and upload.sha256.lower() != digest:
                raise FirmwareRefused(f"sha256 mismatch: declared {upload.sha256.lower()}, file has {digest}",
                                      reason="hash_mismatch")
            manifest = FirmwareManifest(kind=DeviceKind(upload.kind), model=upload.model, version=upload.version,
                                        sha256=digest, size=size, min_version=upload.min_version)
            signature = upload.signature or sign_manifest(manifest, self.key)
            try:
                verify_manifest(manifest, signature, self.key.public_key())
            except FirmwareRejected as exc:
                raise FirmwareRefused(f"{exc.reason}: {exc.detail}", reason=exc.reason) from exc
            final = self.store / f"{upload.kind}-{upload.version}-{digest[:12]}.bin"
            with transaction(self.sessions) as s:
                dup = s.execute(select(FirmwareArtifact).where(FirmwareArtifact.kind == upload.kind,
                                                               FirmwareArtifact.version == upload.version)
                                ).scalar_one_or_none()
                if dup is not None:
                    raise FirmwareRefused(f"{upload.kind} firmware {upload.version} exists already (id {dup.id})",
                                          reason="duplicate", status=409)
                os.replace(tmp, final)
                art = FirmwareArtifact(kind=upload.kind, version=upload.version, filename=upload.filename[:255],
                                       path=str(final), size=size, sha256=digest, signature=signature,
                                       model=upload.model, min_version=upload.min_version, notes=upload.notes,
                                       created_by=actor)
                s.add(art)
                s.flush()
                audit(s, actor=actor, action="firmware.upload", target_type="firmware", target_id=str(art.id),
                      detail={"kind": upload.kind, "version": upload.version, "sha256": digest, "size": size,
                              "model": upload.model, "min_version": upload.min_version,
                              "signed_by": "supplied" if upload.signature else "hub"})
                s.expunge(art)
            return art
        except FirmwareRefused as exc:
            with transaction(self.sessions) as s:
                audit(s, actor=actor, action="firmware.refused", target_type="firmware",
                      target_id=f"{upload.kind}/{upload.version}", detail={"reason": exc.reason, "message": str(exc)})
            raise
        finally:
            tmp.unlink(missing_ok=True)

    def signed_manifest(self, s: Session, art: FirmwareArtifact) -> tuple[FirmwareManifest, str]:
        """The manifest devices get and its signature. An artefact stored under the old digest-only
        scheme (which the hub itself signed or verified) is re-signed as a manifest, once."""
        manifest = manifest_of(art)
        try:
            verify_manifest(manifest, art.signature, self.key.public_key())
        except FirmwareRejected:
            if not legacy_digest_signature_ok(art.sha256, art.signature, self.key.public_key()):
                raise
            art.signature = sign_manifest(manifest, self.key)
            audit(s, actor="hub", action="firmware.resigned", target_type="firmware", target_id=str(art.id),
                  detail={"version": art.version, "reason": "digest-only signature replaced by a manifest signature"})
        return manifest, art.signature

    def rollback_authorisation(self, *, kind: str, version: str, device_ids: list[str], valid_s: float,
                               rollout_id: str | None, issued_by: str) -> SignedRollback:
        """Signed permission for these devices to go back to ``version``; only rollout rollbacks ask."""
        auth = RollbackAuthorisation(kind=DeviceKind(kind), version=version, device_ids=device_ids,
                                     expires_at=int(time.time() + valid_s), rollout_id=rollout_id,
                                     issued_by=issued_by[:128] or "hub")
        return sign_rollback(auth, self.key)

    def get(self, firmware_id: int) -> FirmwareArtifact | None:
        with self.sessions() as s:
            return s.get(FirmwareArtifact, firmware_id)

    def signed_url(self, firmware_id: int) -> str:
        path = download_path(firmware_id)
        query = sign_url_path(path, secret=self.secret, expires_at=int(time.time()) + self.url_ttl_s)
        return f"{self.base_url}{path}?{query}"

    @staticmethod
    def read_chunks(path: str) -> Iterator[bytes]:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
