"""Hub side of firmware signing: the signing key on disk, manifests of image files, and the
shared sign/verify scheme re-exported from ``protocol.firmware`` (devices verify with it too)."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from protocol.firmware import (
    FirmwareManifest,
    FirmwareRejected,
    RollbackAuthorisation,
    SignedRollback,
    public_key_from_b64,
    public_key_to_b64,
    sha256_file,
    sign_manifest,
    sign_rollback,
    verify_manifest,
)
from protocol.payloads import DeviceKind

__all__ = [
    "FirmwareManifest", "FirmwareRejected", "RollbackAuthorisation", "SignedRollback", "generate_private_key",
    "legacy_digest_signature_ok", "load_or_create_private_key", "load_private_key", "manifest_for_file",
    "public_key_from_b64", "public_key_to_b64", "save_private_key", "sha256_file", "sign_manifest",
    "sign_rollback", "verify_manifest",
]

# The first scheme signed only the image's SHA-256 under this prefix. Devices no longer accept it;
# the hub recognises it only to re-sign, as a manifest, artefacts it accepted before the change.
LEGACY_DIGEST_PREFIX = b"officehub-firmware-v1:"


class SigningKeyError(Exception):
    """The firmware signing key cannot be read or written."""


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def save_private_key(key: Ed25519PrivateKey, path: str | Path, *, passphrase: bytes | None = None) -> None:
    """Write PKCS#8 PEM readable by the owner only; refuses to overwrite an existing key."""
    enc = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, enc)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: losing the old key would orphan every device that trusts it.
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise SigningKeyError(f"refusing to overwrite existing signing key {p}") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def load_private_key(path: str | Path, *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {path}: {exc}") from exc
    try:
        key = load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a readable PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, expected an Ed25519 key")
    return key


def load_or_create_private_key(path: str | Path, *, passphrase: bytes | None = None) -> Ed25519PrivateKey:
    """First start creates the key; later starts load it."""
    if Path(path).exists():
        return load_private_key(path, passphrase=passphrase)
    key = generate_private_key()
    save_private_key(key, path, passphrase=passphrase)
    return key


def manifest_for_file(path: str | Path, *, kind: DeviceKind, version: str, model: str | None = None,
                      min_version: str | None = None) -> FirmwareManifest:
    """The manifest of an image file (one streaming pass for hash and size); sign it with ``sign_manifest``."""
    digest, size = sha256_file(path)
    return FirmwareManifest(kind=kind, model=model, version=version, sha256=digest, size=size,
                            min_version=min_version)


def legacy_digest_signature_ok(sha256_hex: str, signature_b64: str, public_key: Ed25519PublicKey) -> bool:
    """Whether ``signature_b64`` is this key's signature of the old digest-only scheme."""
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True),
                          LEGACY_DIGEST_PREFIX + bytes.fromhex(sha256_hex))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
