"""Face templates encrypted at rest with AES-256-GCM.

Blob layout: version byte (1) | 12-byte random nonce | ciphertext of 128 little-endian float32 + tag.
Callers pass associated data that names the row (e.g. b"template:<id>:employee:<id>"), so a blob
copied onto another employee's row fails to decrypt instead of silently granting them access.
"""

from __future__ import annotations

import base64
import binascii
import os

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = 1
_NONCE = 12
_DIM = 128
_PLAIN_LEN = _DIM * 4


class TemplateCryptoError(ValueError):
    """A template blob that cannot be decrypted: wrong key, wrong row (aad), tampered or malformed."""


def generate_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_from_b64(value: str) -> bytes:
    """Decode a base64 key from config; refuses anything that is not exactly 32 bytes."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TemplateCryptoError("template key is not valid base64") from exc
    if len(key) != 32:
        raise TemplateCryptoError(f"template key must be 32 bytes (AES-256), got {len(key)}")
    return key


def key_to_b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


class TemplateCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise TemplateCryptoError(f"template key must be 32 bytes (AES-256), got {len(key)}")
        self._aead = AESGCM(key)

    def encrypt(self, encoding: np.ndarray, *, aad: bytes) -> bytes:
        vec = np.asarray(encoding, dtype="<f4").reshape(-1)
        if vec.shape != (_DIM,) or not np.all(np.isfinite(vec)):
            raise ValueError(f"a face template must be {_DIM} finite numbers, got shape {np.shape(encoding)}")
        nonce = os.urandom(_NONCE)
        return bytes([_VERSION]) + nonce + self._aead.encrypt(nonce, vec.tobytes(), aad)

    def decrypt(self, blob: bytes, *, aad: bytes) -> np.ndarray:
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _VERSION:
            raise TemplateCryptoError("not an encrypted template blob (bad length or version)")
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            plain = self._aead.decrypt(nonce, body, aad)
        except InvalidTag as exc:
            raise TemplateCryptoError(
                "template failed authentication: wrong key, wrong row, or tampered data"
            ) from exc
        if len(plain) != _PLAIN_LEN:
            raise TemplateCryptoError(f"decrypted template has {len(plain)} bytes, expected {_PLAIN_LEN}")
        return np.frombuffer(plain, dtype="<f4").astype(np.float32)
