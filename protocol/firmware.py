"""How firmware is signed (part of the device contract): the signed documents and their bytes.

The hub signs and devices verify, so both live here: devices import ``protocol`` but never ``hub``.
What a device checks before installing is ``protocol.firmware_policy``.

Two documents, each signed with the hub's Ed25519 firmware key over canonical bytes: a
domain-separation prefix, then sorted-keys compact ASCII JSON of the validated model (every field,
``null`` included), so the hub and every device compute identical bytes from the same values.

- ``FirmwareManifest`` says what an image is: device kind (and optionally model), version, sha256,
  size and ``min_version``. Signing the manifest rather than the hash alone means an image signed for
  a print box is not a door-terminal image, and a version cannot be relabelled.
- ``RollbackAuthorisation`` lets named devices go back to one older version until it expires. The hub
  issues it only for rollout rollbacks (admin's rollback or abort), never for a raw command.

The prefixes differ, so one document's signature never verifies as the other's; the large image is
hashed in a streaming pass and only its digest is signed (inside the manifest).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field

from protocol.events import Body
from protocol.payloads import DeviceKind

MANIFEST_PREFIX = b"officehub-firmware-manifest-v1\n"
ROLLBACK_PREFIX = b"officehub-firmware-rollback-v1\n"
CHUNK_BYTES = 1024 * 1024
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]*$"
MAX_IMAGE_BYTES = 4 * 1024**3

RejectReason = Literal[
    "hash_mismatch", "size_mismatch", "bad_signature", "unreadable", "wrong_kind", "wrong_model",
    "bad_version", "below_min_version", "downgrade", "rollback_not_authorised",
]


class FirmwareRejected(Exception):
    """The artefact must not be installed; ``reason`` is machine-readable for the firmware event."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"firmware rejected ({reason}): {detail}")
        self.reason: RejectReason = reason
        self.detail = detail


class FirmwareManifest(Body):
    """What a firmware image is; the hub signs exactly this (see ``manifest_bytes``)."""

    kind: DeviceKind = Field(description="The only device kind that may install the image")
    model: str | None = Field(default=None, max_length=64,
                              description="When set, only devices reporting this model may install it")
    version: str = Field(min_length=1, max_length=64, pattern=VERSION_PATTERN)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(gt=0, le=MAX_IMAGE_BYTES, description="bytes")
    min_version: str | None = Field(default=None, min_length=1, max_length=64, pattern=VERSION_PATTERN,
                                    description="Oldest version this image may be installed over")


class RollbackAuthorisation(Body):
    """The hub's permission for these devices to install or switch back to an older ``version``."""

    kind: DeviceKind
    version: str = Field(min_length=1, max_length=64, pattern=VERSION_PATTERN, description="Target version")
    device_ids: list[str] = Field(min_length=1, max_length=1000)
    expires_at: int = Field(gt=0, description="Unix seconds; the device refuses it afterwards")
    rollout_id: str | None = Field(default=None, max_length=64)
    issued_by: str = Field(min_length=1, max_length=128, description="Who started the rollback")


class SignedRollback(Body):
    authorisation: RollbackAuthorisation
    signature: str = Field(min_length=1, max_length=256, description="base64 Ed25519 over the authorisation")


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only: one byte string per value, on every platform."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def manifest_bytes(manifest: FirmwareManifest) -> bytes:
    return MANIFEST_PREFIX + canonical_json(manifest.model_dump(mode="json"))


def rollback_bytes(authorisation: RollbackAuthorisation) -> bytes:
    return ROLLBACK_PREFIX + canonical_json(authorisation.model_dump(mode="json"))


def _sign(message: bytes, key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(message)).decode()


def _verify(message: bytes, signature_b64: str, key: Ed25519PublicKey, what: str) -> None:
    try:
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise FirmwareRejected("bad_signature", f"the {what} signature does not verify under the "
                               "configured firmware key (altered, or signed with another key)") from exc


def sign_manifest(manifest: FirmwareManifest, key: Ed25519PrivateKey) -> str:
    return _sign(manifest_bytes(manifest), key)


def verify_manifest(manifest: FirmwareManifest, signature_b64: str, public_key: Ed25519PublicKey) -> None:
    _verify(manifest_bytes(manifest), signature_b64, public_key, "manifest")


def sign_rollback(authorisation: RollbackAuthorisation, key: Ed25519PrivateKey) -> SignedRollback:
    return SignedRollback(authorisation=authorisation, signature=_sign(rollback_bytes(authorisation), key))


def verify_rollback(signed: SignedRollback, public_key: Ed25519PublicKey) -> None:
    _verify(rollback_bytes(signed.authorisation), signed.signature, public_key, "rollback authorisation")


def sha256_file(path: str | Path) -> tuple[str, int]:
    """Streaming SHA-256 of a file; returns (hex digest, size in bytes)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def check_image(path: str | Path, manifest: FirmwareManifest) -> None:
    """Raise FirmwareRejected unless the downloaded file is the one the (verified) manifest names."""
    try:
        actual, actual_size = sha256_file(path)
    except OSError as exc:
        raise FirmwareRejected("unreadable", f"cannot read {path}: {exc}") from exc
    if actual_size != manifest.size:
        raise FirmwareRejected("size_mismatch", f"expected {manifest.size} bytes, file has {actual_size}")
    if not hmac.compare_digest(actual, manifest.sha256):
        raise FirmwareRejected("hash_mismatch", f"expected sha256 {manifest.sha256}, file has {actual}")


def public_key_from_b64(data: str) -> Ed25519PublicKey:
    """A public key from its raw 32 bytes in base64 (how devices are configured with it)."""
    try:
        raw = base64.b64decode(data, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 Ed25519 public key: {exc}") from exc


def public_key_to_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
