"""Face templates in transit to edge terminals: AES-256-GCM under a per-device key.

The hub derives each terminal's key from its own secret with HKDF-SHA256 (info = the device id),
so a key read off one stolen terminal opens no other terminal's gallery, and the hub stores no
per-device keys. Blob layout: nonce (12 bytes) | ciphertext of 128 little-endian float32 + tag.
The associated data names the row (device, template, employee), so a blob cannot be replayed
onto another person or another terminal. Terminals keep the blobs encrypted on disk as well.
"""

from __future__ import annotations

import base64
import os

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_DIM = 128


class TransitError(ValueError):
    """A gallery blob that does not decrypt (wrong key, wrong row, tampered)."""


def derive_device_key(secret: bytes, device_id: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"officehub-gallery-transit-v1",
                info=device_id.encode())
    return hkdf.derive(secret)


def _aad(device_id: str, template_id: str, employee_id: str) -> bytes:
    return f"gallery:{device_id}:{template_id}:{employee_id}".encode()


def seal(key: bytes, encoding: np.ndarray, *, device_id: str, template_id: str, employee_id: str) -> str:
    """base64 text of the encrypted template (fits JSON)."""
    vec = np.asarray(encoding, dtype="<f4").reshape(-1)
    if vec.shape != (_DIM,):
        raise ValueError(f"a face template must have {_DIM} values")
    nonce = os.urandom(_NONCE)
    blob = nonce + AESGCM(key).encrypt(nonce, vec.tobytes(), _aad(device_id, template_id, employee_id))
    return base64.b64encode(blob).decode("ascii")


def open_sealed(key: bytes, sealed: str, *, device_id: str, template_id: str, employee_id: str) -> np.ndarray:
    try:
        blob = base64.b64decode(sealed, validate=True)
        plain = AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], _aad(device_id, template_id, employee_id))
    except (InvalidTag, ValueError) as exc:
        raise TransitError(f"template {template_id} does not decrypt for {device_id}") from exc
    if len(plain) != _DIM * 4:
        raise TransitError(f"template {template_id} has {len(plain)} bytes")
    return np.frombuffer(plain, dtype="<f4").astype(np.float32)
