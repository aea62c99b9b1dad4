"""Firmware artefacts: streamed upload (sha256 + size computed), hub signature or a supplied one
verified against the hub key, storage on disk, and signed expiring download URLs for devices."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from hub.auth.tokens import sign_url_path
from hub.db.models.fleet import FirmwareArtifact
from hub.db.session import SessionFactory, transaction
from hub.fleet.firmware_signing import public_key_to_b64, sign_digest, verify_artifact
from hub.services.audit import audit
from protocol.firmware import FirmwareRejected
from protocol.payloads import DeviceKind

CHUNK = 1024 * 1024


class FirmwareRefused(ValueError):
    def __init__(self, message: str, *, reason: str, status: int = 422) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True, slots=True)
class Upload:
    kind: str
    version: str
    filename: str
    signature: str | None = None  # base64 Ed25519 made elsewhere with the hub's key
    sha256: str | None = None  # what the uploader claims; checked against the bytes
    notes: str = ""


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
            signature = upload.signature or sign_digest(digest, self.key)
            try:
                verify_artifact(tmp, sha256_hex=digest, signature_b64=signature,
                                public_key=self.key.public_key(), size=size)
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
                                       notes=upload.notes, created_by=actor)
                s.add(art)
                s.flush()
                audit(s, actor=actor, action="firmware.upload", target_type="firmware", target_id=str(art.id),
                      detail={"kind": upload.kind, "version": upload.version, "sha256": digest, "size": size,
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
