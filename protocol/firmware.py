"""How a firmware artefact is signed and verified (part of the device contract).

The hub signs and devices verify, so both live here: devices import ``protocol`` but never ``hub``.

Scheme: Ed25519 over a domain-separated message holding the artefact's SHA-256, so a large
artefact is hashed in a streaming pass and the signature never needs the whole file in memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Versioned prefix: a signature made for anything else can never verify as a firmware signature.
SIGNED_PREFIX = b"officehub-firmware-v1:"
CHUNK_BYTES = 1024 * 1024

RejectReason = Literal["hash_mismatch", "size_mismatch", "bad_signature", "unreadable"]


class FirmwareRejected(Exception):
    """The artefact must not be installed; ``reason`` is machine-readable for the firmware event."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"firmware rejected ({reason}): {detail}")
        self.reason: RejectReason = reason
        self.detail = detail


def sha256_file(path: str | Path) -> tuple[str, int]:
    """Streaming SHA-256 of a file; returns (hex digest, size in bytes)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _message(sha256_hex: str) -> bytes:
    try:
        digest = bytes.fromhex(sha256_hex)
    except ValueError as exc:
        raise ValueError(f"sha256 must be 64 hex characters, got {sha256_hex!r}") from exc
    if len(digest) != 32:
        raise ValueError(f"sha256 must be 64 hex characters, got {len(sha256_hex)}")
    return SIGNED_PREFIX + digest


def sign_digest(sha256_hex: str, private_key: Ed25519PrivateKey) -> str:
    """Signature (base64) over an already computed SHA-256."""
    return base64.b64encode(private_key.sign(_message(sha256_hex.lower()))).decode()


def sign_artifact(path: str | Path, private_key: Ed25519PrivateKey) -> str:
    """Hash ``path`` in a streaming pass and return the base64 Ed25519 signature."""
    digest, _ = sha256_file(path)
    return sign_digest(digest, private_key)


def public_key_from_b64(data: str) -> Ed25519PublicKey:
    """A public key from its raw 32 bytes in base64 (how devices are configured with it)."""
    try:
        raw = base64.b64decode(data, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 Ed25519 public key: {exc}") from exc


def public_key_to_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def verify_artifact(path: str | Path, *, sha256_hex: str, signature_b64: str,
                    public_key: Ed25519PublicKey, size: int | None = None) -> None:
    """Raise FirmwareRejected unless the file has this hash (and size) and the signature is good.

    The signature is checked against the *announced* hash first, so a forged command is refused
    before the device spends time hashing a large file.
    """
    try:
        message = _message(sha256_hex.lower())
    except ValueError as exc:
        raise FirmwareRejected("bad_signature", str(exc)) from exc
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message)
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise FirmwareRejected("bad_signature", "signature does not match the announced sha256 "
                               "under the configured firmware key") from exc
    try:
        actual, actual_size = sha256_file(path)
    except OSError as exc:
        raise FirmwareRejected("unreadable", f"cannot read {path}: {exc}") from exc
    if size is not None and actual_size != size:
        raise FirmwareRejected("size_mismatch", f"expected {size} bytes, file has {actual_size}")
    if not hmac.compare_digest(actual, sha256_hex.lower()):
        raise FirmwareRejected("hash_mismatch", f"expected sha256 {sha256_hex.lower()}, file has {actual}")
