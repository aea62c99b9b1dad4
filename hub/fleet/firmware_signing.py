"""Hub side of firmware signing: the signing key on disk, plus the shared sign/verify scheme.

The scheme itself lives in ``protocol.firmware`` because devices verify with it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from protocol.firmware import (
    FirmwareRejected,
    public_key_from_b64,
    public_key_to_b64,
    sha256_file,
    sign_artifact,
    sign_digest,
    verify_artifact,
)

__all__ = [
    "FirmwareRejected", "SignedArtifact", "generate_private_key", "load_or_create_private_key",
    "load_private_key", "public_key_from_b64", "public_key_to_b64", "save_private_key",
    "sha256_file", "sign_artifact", "sign_digest", "sign_file", "verify_artifact",
]


class SigningKeyError(Exception):
    """The firmware signing key cannot be read or written."""


@dataclass(frozen=True, slots=True)
class SignedArtifact:
    """What the hub stores per firmware upload and puts into ``update_firmware``."""

    sha256: str
    size: int
    signature: str


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


def public_key_of(key: Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key()


def sign_file(path: str | Path, private_key: Ed25519PrivateKey) -> SignedArtifact:
    """One streaming pass: hash, size and signature of an uploaded artefact."""
    digest, size = sha256_file(path)
    return SignedArtifact(sha256=digest, size=size, signature=sign_digest(digest, private_key))
